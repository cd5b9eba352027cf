/**
 * `UnleashClient`: the composition root. It wires the engine, the cache, the poller, the
 * metrics reporter and the events together, and owns nothing else.
 *
 * `isEnabled` and `getVariant` are the hot path: one Map lookup in the client's flag table
 * finds the compiled flag and its metrics counter together; counting is an increment,
 * and nothing is allocated unless the flag wants impression events or the context needs
 * client defaults filled in. `evaluate` is the same walk of the flag, recording why.
 */
import { randomUUID } from 'node:crypto';
import { BaseCache, CacheKeys } from '../cache/base-cache';
import { FileCache } from '../cache/file-cache';
import { MemoryCache } from '../cache/memory-cache';
import { Engine, type Snapshot } from './engine/engine';
import type { EvaluationResult, Reason } from './engine/evaluation';
import type { FleetCoordinator, FleetHost, FleetStatus } from './fleet-link';
import { EventHub, type FetchedEvent, type FlagOrigin, type UnleashEventOf, type UnleashEventType } from './events';
import { allFlagsOf, type AllFlags, type AllFlagsOptions } from './all-flags';
import { ImpactMetrics } from './impact-metrics';
import { HookRunner, isHook, type EvaluationMethod, type Hook } from './hooks';
import { applicationHostname } from './host';
import { MetricsReporter, MetricsStore } from './metrics';
import { preloadHttp } from './http';
import { Network } from './network';
import { resolveConfig, type FallbackFunction, type ResolvedConfig, type UnleashConfig } from './options';
import { markValidated, readClientPayload } from './payload';
import { fullBodyOf } from '../bootstrap/dict';
import type { PollOutcome } from './poller';
import { Updater } from './updater';
import { yieldingControl } from './payload-slices';
import { SnapshotLoader, type CommitWork } from './snapshot-loader';
import { FlagEntry, NO_FLAGS, TableBuild } from './flag-table';
import { delay, systemScheduler, type Scheduler } from './scheduler';
import type { ClientPayload, Context, FeatureDefinition, FeaturesPayload, Variant } from './types';
import type { FlagSource } from './test-data';
import { UnleashApi } from './unleash-api';
import { warnOnce, type WarnOnce } from './warn-once';
import { DISABLED_VARIANT, DISABLED_VARIANT_FEATURE_ON } from './engine/variants';

/**
 * The per-call fallback of `isEnabled`: a value, or a function deciding per flag.
 *
 * @group Client
 */
export type IsEnabledFallback = boolean | FallbackFunction;

/**
 * How the client learns of flag changes now. `polling` fetches `/client/features` on a
 * timer; `delta` fetches `/client/delta` on a timer; `streaming` holds a Server-Sent Events
 * connection to `/client/streaming` (a streaming client that failed over is `polling` until
 * it returns); `offline` never asks a server (the `offline` option, or no `url`).
 *
 * @group Client
 */
export type UpdateMode = 'polling' | 'delta' | 'streaming' | 'offline';

/**
 * The outcome of the client's last request for flags.
 *
 * @group Client
 */
export interface FetchStatus {
  /** When the answer (or the failure) arrived, in milliseconds since the epoch. */
  at: number;
  /** `updated`: new flags; `unchanged`: 304 or the same body; `failed`: see `error`. */
  outcome: 'updated' | 'unchanged' | 'failed';
  /** The failure's message, for `failed`. */
  error?: string;
}

/**
 * A read of the client's state (`client.status()`), for health checks and dashboards. A
 * plain object, fresh on every call.
 *
 * @group Client
 */
export interface ClientStatus {
  /** Whether the client has had flags at least once (the `ready` event has fired). */
  ready: boolean;
  /** Where the flags served now came from; undefined before there are any. */
  source: FlagOrigin | undefined;
  /** How many flags are served now. */
  flagCount: number;
  /** When the flags served now were taken in, in milliseconds since the epoch. */
  updatedAt: number | undefined;
  /** Milliseconds since `updatedAt`. */
  ageMs: number | undefined;
  /** The ETag the client revalidates with, if any. */
  etag: string | undefined;
  /** How the client learns of changes now. */
  mode: UpdateMode;
  /** The last request for flags, if one has been answered or has failed. */
  lastFetch: FetchStatus | undefined;
  /** Whether `destroy()` has been called. */
  destroyed: boolean;
  /** With the `fleet` option: this instance's role in its fleet, and the fleet's flags it serves. */
  fleet?: FleetStatus;
}

/**
 * An Unleash client: fetches flags in the background, keeps them in a cache, evaluates
 * them locally and reports usage metrics.
 *
 * ```ts
 * const client = new UnleashClient({ url, appName, customHeaders: { Authorization: token } });
 * await client.start();
 * if (client.isEnabled('new-checkout', { userId })) { ... }
 * await client.destroy();
 * ```
 *
 * @group Client
 */
export class UnleashClient {
  /** A UUID v4 fixed for this client's lifetime, sent as `unleash-connection-id`. */
  readonly connectionId: string = randomUUID();
  /**
   * Counters, gauges and histograms of your own, sent to Unleash with the usage metrics
   * (see `ImpactMetrics`). Kept but never sent when metrics are disabled or offline.
   */
  readonly impactMetrics: ImpactMetrics;
  private readonly config: ResolvedConfig;
  private readonly events: EventHub;
  private readonly scheduler: Scheduler;
  private readonly engine: Engine;
  private readonly loader: SnapshotLoader;
  private readonly cache: BaseCache;
  private readonly ownsCache: boolean;
  private readonly store: MetricsStore;
  private readonly poller: Updater | undefined;
  private readonly reporter: MetricsReporter | undefined;
  private readonly network: Network | undefined;
  /** `{ appName, environment }`: the context of calls that pass none. */
  private readonly defaultContext: Context;

  /** The flags served now, by name; replaced whole (never mutated) when new flags arrive. */
  private flags: ReadonlyMap<string, FlagEntry> = NO_FLAGS;
  private ready = false;
  private etag: string | undefined;
  private source: FlagOrigin | undefined;
  private updatedAt: number | undefined;
  private lastFetch: FetchStatus | undefined;
  private fillDefaults = true;
  private countMetrics: boolean;
  private startPromise: Promise<void> | undefined;
  private destroyPromise: Promise<void> | undefined;
  private destroyed = false;
  private cancelDeadline: (() => void) | undefined;
  private cacheWrites: Promise<void> = Promise.resolve();
  /** The newest state waiting for the cache write in flight to finish. */
  private nextWrite: { payload: FeaturesPayload; etag: string | undefined } | undefined;
  /** The cache entry of the last swap, written once its flags are checked (`settle`). */
  private postponedWrite: { snapshot: Snapshot; etag: string | undefined } | undefined;
  /** The flags as read from a `MemoryCache` at start (`loadCache`), until `settle` replaces them. */
  private readFromCache: { value: unknown; snapshot?: Snapshot } | undefined;
  private unsubscribeSource: (() => void) | undefined;
  private unsubscribeCache: (() => void) | undefined;
  private readonly flagSource: FlagSource | undefined;
  private readonly fleet: FleetCoordinator | undefined;
  /** Evaluation problems of the caller's making, each reported once (by key). */
  private readonly evaluationWarning: WarnOnce = warnOnce((message) => this.events.warn('evaluation', message));
  /** Evaluation hooks; `hooks.active` is the one check the hot path makes for them. */
  private readonly hooks: HookRunner = new HookRunner((message) => this.events.warn('callback', message));

  /**
   * Checks the options and builds the client; nothing is fetched until `start()`.
   * Throws `ConfigError` when `appName` (or `url`, unless `offline`) is missing or unusable.
   */
  constructor(options: UnleashConfig) {
    const { config, warnings } = resolveConfig(options);
    this.config = config;
    if (options.flagSource !== undefined && typeof options.flagSource?.subscribe !== 'function') {
      warnings.push('flagSource must have a subscribe(listener) method (such as TestData); it is ignored');
    } else {
      this.flagSource = options.flagSource;
    }
    this.events = new EventHub(typeof options.eventCallback === 'function' ? options.eventCallback : undefined);
    if (Array.isArray(options.hooks)) {
      options.hooks.forEach((hook: unknown, i) => (isHook(hook) ? this.hooks.add(hook) : warnings.push(`hooks[${i}] is not a hook (an object with a beforeEvaluation or afterEvaluation method); it was ignored`)));
    } else if (options.hooks !== undefined && options.hooks !== null) warnings.push('hooks must be an array of hooks; it was ignored');
    this.scheduler = options.scheduler ?? systemScheduler;
    // Offline clients count too (nothing sends the counts): the cost of an evaluation must
    // not depend on where the flags came from.
    this.countMetrics = !config.disableMetrics;
    this.defaultContext = Object.freeze({ appName: config.appName, environment: config.environment });
    this.engine = new Engine({
      strategies: config.customStrategies,
      hostname: applicationHostname(),
      contextDefaults: { appName: config.appName, environment: config.environment },
      ...(options.scheduler === undefined ? {} : { now: () => this.scheduler.now() }),
      onWarning: (message) => this.events.warn('engine', message),
    });
    const impactWarning = warnOnce((message) => this.events.warn('metrics', message));
    this.impactMetrics = new ImpactMetrics(config.appName, config.environment, impactWarning);
    this.loader = new SnapshotLoader(this.engine, () => yieldingControl(), () => this.destroyed);
    this.store = new MetricsStore(this.scheduler.now(), (message) => this.events.warn('metrics', message));
    this.store.readFlagTable(() => this.flags);
    this.fleet = options.fleet ?? undefined;
    const cache = options.cache ?? this.fleet?.cache;
    if (cache instanceof BaseCache || isCacheLike(cache)) {
      this.cache = cache as BaseCache;
      this.ownsCache = false;
    } else {
      if (options.cache !== undefined && options.cache !== null) {
        warnings.push('cache must be a BaseCache (get, set, destroy); using the default FileCache');
      }
      // Flags pushed by a flag source (test data) must not outlive the process in a file.
      this.cache = this.flagSource !== undefined ? new MemoryCache() : new FileCache({ appName: config.appName });
      this.ownsCache = true;
    }
    this.unsubscribeCache = this.relayCacheWarnings();
    if (config.url !== undefined) {
      // The proxy is decided here, from the environment as it is now, for the URL's host.
      this.network = new Network(new URL(config.url), config.httpOptions, process.env, warnings);
      const api = new UnleashApi(
        { ...config, url: config.url },
        this.connectionId,
        this.scheduler,
        (message) => this.events.warn('config', message),
        this.network,
      );
      this.poller = new Updater({
        mode: config.mode,
        api,
        scheduler: this.scheduler,
        interval: config.refreshInterval,
        readTimeout: config.streamReadTimeout,
        maxBodySize: config.maxBodySize,
        etag: () => this.etag,
        serving: () => this.ready,
        onOutcome: (outcome) => this.onPoll(outcome),
        onMode: (mode, previous, reason) => this.events.emit({ type: 'mode', mode, ...(previous === undefined ? {} : { previous }), reason }),
        onWarning: (message) => this.events.warn('fetch', message),
        url: config.url,
      });
      this.reporter = new MetricsReporter({
        store: this.store,
        api,
        scheduler: this.scheduler,
        events: this.events,
        appName: config.appName,
        instanceId: config.instanceId,
        environment: config.environment,
        interval: config.metricsInterval,
        timeout: config.timeout,
        onDisabled: () => {
          this.countMetrics = false;
        },
        flavor: { sdkFlavor: config.sdkFlavor, sdkFlavorVersion: config.sdkFlavorVersion },
        impact: this.impactMetrics,
      });
    }
    // Delivered after the constructor returns, so listeners added with `on()` right
    // after construction hear them too.
    if (warnings.length > 0) queueMicrotask(() => warnings.forEach((w) => this.events.warn('config', w)));
  }

  /**
   * Serves flags from the cache (or its bootstrap) at once, starts polling, registers the
   * client and schedules metrics. Resolves once the client has flags, or once the first
   * fetch failed while it had none, and never later than `timeout` after the call. Never
   * rejects: failures are `error` events. Calling it again returns the same promise.
   */
  start(): Promise<void> {
    if (this.destroyed) {
      this.events.warn('config', 'start() was called on a destroyed client, which stays stopped; create a new UnleashClient');
      return this.startPromise ?? Promise.resolve();
    }
    this.startPromise ??= this.run().catch((err: unknown) => this.events.error('fetch', err));
    return this.startPromise;
  }

  private async run(): Promise<void> {
    const started = this.scheduler.now();
    const deadline = delay(this.scheduler, this.config.timeout, 'deadline');
    // destroy() ends the wait at once, even when a user's cache never answers.
    let endWait: () => void = () => undefined;
    const destroyed = new Promise<void>((resolve) => (endWait = resolve));
    this.cancelDeadline = () => {
      deadline.cancel();
      endWait();
    };
    // The first fetch needs got: load it while the cache is read (lib/http.ts).
    if (!this.config.offline && this.poller !== undefined) preloadHttp();
    try {
      await Promise.race([this.loadCache(), deadline.promise, destroyed]);
      if (this.destroyed) return;
      this.subscribeSource();
      if (this.config.offline || this.poller === undefined || this.reporter === undefined) {
        if (!this.ready) {
          this.events.warn('cache', 'offline and the cache holds no flags: every flag answers with its fallback');
        }
        return;
      }
      if (!this.config.disableRegistration) void this.reporter.register(this.engine.registeredStrategyNames(), started);
      if (!this.config.disableMetrics) this.reporter.start();
      const first = this.fleet !== undefined ? this.fleet.join(this.fleetHost()) : this.poller.start();
      if (this.ready) return;
      await Promise.race([first, deadline.promise, destroyed]);
    } finally {
      deadline.cancel();
      this.cancelDeadline = undefined;
    }
  }

  /**
   * Subscribes to the problems the cache recovers from (`BaseCache.onWarning`), so the
   * user hears of them as `warning` events whether the cache is the default one or theirs.
   */
  private relayCacheWarnings(): (() => void) | undefined {
    // A cache written against the interface rather than extending BaseCache may lack it.
    if (typeof this.cache.onWarning !== 'function') return undefined;
    try {
      const off = this.cache.onWarning((warning) => this.events.warn('cache', warning.message));
      return typeof off === 'function' ? off : undefined;
    } catch (err) {
      // Reported after the constructor returns, like the config warnings.
      queueMicrotask(() => this.events.error('cache', err));
      return undefined;
    }
  }

  /** Reads the last good flags from the cache (start() bounds the wait); never throws. */
  private async loadCache(): Promise<void> {
    let features: unknown;
    let etag: unknown;
    try {
      // The ETag first: with a cache shared between instances, another one may write between
      // the two reads, and old flags under a new ETag would be kept by a 304 indefinitely;
      // this order costs at worst one extra 200.
      etag = await this.cache.get(CacheKeys.ETAG);
      features = await this.cache.get(CacheKeys.FEATURES);
    } catch (err) {
      this.events.error('cache', err);
      return;
    }
    if (features === undefined || features === null || this.ready || this.destroyed) return;
    let payload: ClientPayload;
    try {
      // The client has no flags yet: a cached delta body follows the bootstrap rule.
      const parsed = fullBodyOf(readClientPayload(features));
      payload = { kind: 'full', ...parsed.payload };
      for (const w of parsed.warnings) this.events.warn('cache', w);
    } catch (err) {
      this.events.warn('cache', `the cached flags are unusable (${(err as Error).message}); starting without them`);
      return;
    }
    const origin: FlagOrigin = this.cache.bootstrapped ? 'bootstrap' : 'cache';
    // An in-process cache keeps the very objects it handed over (a bootstrap's deferred
    // JSON): once checked, `settle` stores the compact definitions in their place.
    if (this.cache instanceof MemoryCache) this.readFromCache = { value: features };
    try {
      // A bootstrap body has no ETag of its own: asking the server with one would be wrong.
      await this.apply(payload, origin, origin === 'cache' && typeof etag === 'string' && etag !== '' ? etag : undefined);
    } catch (err) {
      this.events.error('cache', new Error(`applying the cached flags failed: ${describe(err)}`));
    }
  }

  /** Applies every payload the `flagSource` option pushes, as if fetched. */
  private subscribeSource(): void {
    const flagSource = this.flagSource;
    if (flagSource === undefined) return;
    try {
      this.unsubscribeSource = flagSource.subscribe((body) => {
        if (this.destroyed) return;
        try {
          const parsed = readClientPayload(body);
          for (const w of parsed.warnings) this.events.warn('fetch', w);
          void this.apply(parsed.payload, 'pushed', undefined);
        } catch (err) {
          this.events.error('fetch', err);
        }
      });
    } catch (err) {
      this.events.error('fetch', err);
    }
  }

  /** Takes in one outcome of any mode; answers (or resolves to) false when new flags could not be applied. */
  private onPoll(outcome: PollOutcome): boolean | Promise<boolean> {
    if (this.destroyed) return false;
    this.lastFetch = {
      at: this.scheduler.now(),
      outcome: outcome.kind,
      ...(outcome.kind === 'failed' ? { error: outcome.error.message } : {}),
    };
    // Anything that throws while taking in a fetch is an error event; the poller has
    // scheduled the next fetch regardless.
    try {
      if (outcome.kind === 'updated') {
        for (const w of outcome.warnings) this.events.warn('fetch', w);
        return this.apply(outcome.payload, 'server', outcome.etag);
      } else if (outcome.kind === 'failed') {
        this.events.error('fetch', outcome.error);
      } else if (outcome.etag !== undefined) {
        // Same flags under a new ETag: revalidate with the new one from now on.
        this.etag = outcome.etag;
      }
    } catch (err) {
      this.events.error('fetch', new Error(`applying the fetched flags failed: ${describe(err)}`));
      return false;
    }
    return true;
  }

  /**
   * Makes a payload current: compiles it, re-indexes flags and counters, reports it. The
   * one entry point for every payload. A large one (or one arriving while another
   * compiles) compiles in slices and the returned promise settles once it is served; a
   * small one is served before this returns (see lib/snapshot-loader.ts). Answers (or
   * resolves to) false when the payload could not be compiled; a payload superseded by a
   * newer full one counts as applied. Never rejects.
   */
  private apply(payload: ClientPayload, origin: FlagOrigin, etag: string | undefined): boolean | Promise<boolean> {
    let applied = true;
    const pending = this.loader.load(
      payload,
      (snapshot) => this.serve(snapshot, origin, etag),
      (err) => {
        applied = false;
        this.events.error('engine', err);
      },
    );
    return pending === undefined ? applied : pending.then(() => applied);
  }

  /**
   * Serves a compiled snapshot: its flag table is built (in slices for a large one, see
   * lib/flag-table.ts), then swapped in with the engine's commit; then the events and the
   * cache write.
   */
  private serve(snapshot: Snapshot, origin: FlagOrigin, etag: string | undefined): CommitWork {
    const build = new TableBuild(snapshot, this.flags, this.store);
    return { step: (shouldYield) => build.step(shouldYield), commit: () => this.swap(snapshot, build.finish(), origin, etag) };
  }

  private swap(snapshot: Snapshot, flags: ReadonlyMap<string, FlagEntry>, origin: FlagOrigin, etag: string | undefined): void {
    // The engine reads appName/environment defaults itself; only a user's strategy, which
    // gets the context as it is, needs them filled into a copy.
    this.fillDefaults = snapshot.callsCustomStrategies();
    // One assignment: an evaluation sees the old flags or the new ones, never a mix.
    this.flags = flags;
    this.etag = etag;
    this.source = origin;
    this.updatedAt = this.scheduler.now();
    if (!this.ready) {
      this.ready = true;
      this.events.emit({ type: 'ready', from: origin });
    }
    if (origin === 'server' || origin === 'pushed' || origin === 'fleet') {
      // Only here: a load from a bootstrap or the cache has nothing to send or write.
      this.events.emit(fetchedEvent(snapshot, etag));
      // Flags from the fleet are in its store already. A newer swap replaces an older
      // postponed write, as queued writes coalesce.
      if (origin !== 'fleet') this.postponedWrite = { snapshot, etag };
      // The cached flags are replaced (or, if their compile was superseded, never served):
      // nothing of them is left to store, and their JSON is not held here any longer.
      this.readFromCache = undefined;
    } else if (this.readFromCache !== undefined && this.readFromCache.snapshot === undefined) {
      this.readFromCache.snapshot = snapshot;
    }
    void this.settle(snapshot);
  }

  /**
   * After a swap: checks the new snapshot's deferred flags in slices (see
   * lib/engine/compact.ts), so that the memory the client keeps settles to compact
   * definitions without holding the event loop, then writes the cache with them: one
   * write, of the definitions the client keeps (a MemoryCache then shares them instead of
   * holding the server's JSON as well). A newer swap or `destroy()` ends it; `destroy()`
   * writes a postponed entry at once.
   */
  private async settle(snapshot: Snapshot): Promise<void> {
    const control = yieldingControl();
    try {
      // Not in the turn of the swap: whoever waits for the new flags (start()) goes first.
      for (;;) {
        await control.pause();
        if (this.destroyed) return;
        if (this.engine.snapshot !== snapshot || snapshot.checkDeferred(() => control.shouldYield())) break;
      }
    } catch (err) {
      // Not expected: checking never throws for a flag the door let in.
      this.events.error('cache', new Error(`checking the new flags failed: ${describe(err)}`));
    }
    this.writePostponed(snapshot);
    this.replaceReadFromCache(snapshot);
  }

  /**
   * After the flags read from a `MemoryCache` are checked: if it still holds the object
   * they came from (nothing wrote since), stores their compact definitions in its place
   * (under the same ETag key, untouched), so the process does not keep the server's JSON
   * beside the snapshot for as long as it runs offline. Synchronous, like the cache.
   */
  private replaceReadFromCache(snapshot: Snapshot): void {
    const read = this.readFromCache;
    if (read === undefined || read.snapshot !== snapshot) return;
    this.readFromCache = undefined;
    // A newer swap ended the check: that swap's own write (if any) follows.
    if (this.engine.snapshot !== snapshot) return;
    try {
      if (this.cache.get(CacheKeys.FEATURES) === read.value) this.cache.set(CacheKeys.FEATURES, markValidated(snapshot.toPayload()));
    } catch (err) {
      this.events.error('cache', err);
    }
  }

  /** Writes the postponed cache entry (of `snapshot`, when given: not an older one's). */
  private writePostponed(snapshot?: Snapshot): void {
    const write = this.postponedWrite;
    if (write === undefined || (snapshot !== undefined && write.snapshot !== snapshot)) return;
    this.postponedWrite = undefined;
    // Built from validated definitions: read back from a MemoryCache, it is not validated again.
    this.writeCache(markValidated(write.snapshot.toPayload()), write.etag);
  }

  /** What the `fleet` coordinator may do to this client: pause or resume polling, hand it flags. */
  private fleetHost(): FleetHost {
    return {
      pauseUpdates: () => this.poller?.pause(),
      resumeUpdates: async (fresh) => {
        await this.poller?.resume(fresh);
      },
      receive: (body, etag) => {
        if (this.destroyed) return false;
        let payload: ClientPayload;
        try {
          const parsed = fullBodyOf(readClientPayload(body));
          payload = { kind: 'full', ...parsed.payload };
          for (const w of parsed.warnings) this.events.warn('fleet', w);
        } catch (err) {
          this.events.warn('fleet', `the fleet's flags are unusable (${(err as Error).message}); keeping the flags served now`);
          return false;
        }
        void this.apply(payload, 'fleet', etag);
        return true;
      },
      warn: (message) => this.events.warn('fleet', message),
    };
  }

  /**
   * Queues a cache write; writes run in order so an older one never lands last. Writes
   * coalesce: while one is in flight, later states replace each other and only the newest
   * is written next (a stream can bring many messages during one write of a large file).
   */
  private writeCache(payload: FeaturesPayload, etag: string | undefined): void {
    const queued = this.nextWrite !== undefined;
    this.nextWrite = { payload, etag };
    if (queued) return;
    this.cacheWrites = this.cacheWrites
      .then(async () => {
        const next = this.nextWrite;
        this.nextWrite = undefined;
        if (next === undefined) return;
        const entries = { [CacheKeys.FEATURES]: next.payload, [CacheKeys.ETAG]: next.etag };
        // A cache written against the interface rather than extending BaseCache may lack mset.
        if (typeof this.cache.mset === 'function') await this.cache.mset(entries);
        else for (const [key, value] of Object.entries(entries)) await this.cache.set(key, value);
      })
      .catch((err: unknown) => this.events.error('cache', err));
  }

  /**
   * Whether a flag is on for `context`. Synchronous and never throws. For a flag the
   * client does not have (or before it has any), answers `fallback` (a value, or a
   * function of name and context), else the `fallbackFunction` option, else false.
   */
  isEnabled(name: string, context?: Context, fallback?: IsEnabledFallback): boolean {
    if (this.hooks.active) return this.hooked('isEnabled', name, context, fallback).enabled;
    const entry = this.flags.get(name);
    if (entry === undefined) return this.fallbackEnabled(name, context, fallback);
    const flag = entry.flag;
    try {
      const ctx = this.contextOf(context);
      const result = flag.isEnabled(ctx);
      if (this.countMetrics) {
        if (result) entry.yes++;
        else entry.no++;
      }
      if (flag.impressionData) this.impression('isEnabled', name, ctx, result, undefined);
      return result;
    } catch (err) {
      this.events.error('evaluation', new Error(`evaluating flag "${name}" failed: ${describe(err)}`));
      return this.fallbackEnabled(name, context, fallback, false);
    }
  }

  /**
   * The variant of a flag for `context`: `{ name, enabled, feature_enabled, payload? }`.
   * Synchronous and never throws. The result is frozen and shared: do not mutate it.
   *
   * `fallback` replaces the built-in `disabled` variant wherever that would be the answer,
   * as in the official Node and Go SDKs: for a flag the client does not have (as given),
   * for a flag that is off (with `feature_enabled: false`), and for a flag that is on with
   * no variant to give (with `feature_enabled: true`).
   */
  getVariant(name: string, context?: Context, fallback?: Variant): Variant {
    if (this.hooks.active) return this.hooked('getVariant', name, context, fallback).variant;
    const entry = this.flags.get(name);
    if (entry === undefined) return this.fallbackVariant(name, fallback);
    const flag = entry.flag;
    try {
      const ctx = this.contextOf(context);
      let variant = flag.getVariant(ctx);
      if (fallback !== undefined && fallback !== null && !variant.enabled) variant = this.fallbackFor(fallback, variant.feature_enabled);
      this.recordVariant(entry, name, ctx, variant.feature_enabled, variant.name);
      return variant;
    } catch (err) {
      this.events.error('evaluation', new Error(`evaluating flag "${name}" failed: ${describe(err)}`));
      return this.fallbackVariant(name, fallback, false);
    }
  }

  /**
   * The answer, the variant and why, from one evaluation: `{ flag, enabled, variant,
   * reason }`. Counts metrics and fires an impression exactly as one `getVariant` call
   * does, and its `enabled` and `variant` are what `isEnabled` and `getVariant` answer for
   * the same context (for random stickiness, the same draw decided both the value and the
   * reason). Synchronous and never throws: a failure is the `ERROR` reason. For a flag the
   * client does not have, `enabled` is the `fallbackFunction` option's answer (else false),
   * the variant is `disabled` and the reason `FLAG_NOT_FOUND`.
   *
   * ```ts
   * const { enabled, variant, reason } = client.evaluate('new-checkout', { userId });
   * if (reason.kind === 'STRATEGY_MATCH') log(reason.name, reason.rollout?.bucket);
   * ```
   */
  evaluate(name: string, context?: Context): EvaluationResult {
    return this.hooks.active ? this.hooked('evaluate', name, context, undefined) : this.evaluateDetailed(name, context, 'evaluate');
  }

  /**
   * `evaluate` without its side effects: counts no metrics and fires no impression. For
   * debugging and tooling (the CLI's `--explain` is built on the same walk).
   */
  explain(name: string, context?: Context): EvaluationResult {
    return this.evaluateDetailed(name, context, undefined);
  }

  /**
   * Adds an evaluation hook (see `Hook`), run after those of the `hooks` option; returns a
   * function removing it. Something that is not a hook is reported as a warning and ignored.
   *
   * ```ts
   * const remove = client.addHook({ afterEvaluation: (series, _data, result) => console.log(series.flag, result.reason.kind) });
   * remove();
   * ```
   */
  addHook(hook: Hook): () => void {
    return this.hooks.add(hook);
  }

  /**
   * Names the wrapper this client runs under in the registration and metrics bodies
   * (`sdkFlavor`), unless the `sdkFlavor` option already did. For `SwitchyardProvider`.
   * @internal
   */
  setSdkFlavor(sdkFlavor: string, sdkFlavorVersion: string): void {
    if (this.config.sdkFlavor === undefined) this.reporter?.setFlavor({ sdkFlavor, sdkFlavorVersion });
  }

  /** One call with hooks: the evaluate walk, recorded as `method` records, between the hooks. */
  private hooked(method: EvaluationMethod, name: string, context: Context | undefined, fallback: IsEnabledFallback | Variant | undefined): EvaluationResult {
    const seen = context !== null && typeof context === 'object' ? context : this.defaultContext;
    return this.hooks.run(method, name, seen, () => this.evaluateDetailed(name, context, method, fallback));
  }

  /**
   * The evaluate walk, recording (counts, impression) as one call of `record` does, or
   * nothing when it is undefined (`explain`). `isEnabled` and `getVariant` come here only
   * with hooks; their answers are the same as on their fast paths, fallbacks included.
   */
  private evaluateDetailed(name: string, context: Context | undefined, record: EvaluationMethod | undefined, fallback?: IsEnabledFallback | Variant): EvaluationResult {
    const entry = this.flags.get(name);
    if (entry === undefined) {
      if (record === 'getVariant') {
        const variant = this.fallbackVariant(name, fallback as Variant | undefined);
        return { flag: name, enabled: variant.feature_enabled === true, variant, reason: { kind: 'FLAG_NOT_FOUND' } };
      }
      const enabled = this.fallbackEnabled(name, context, fallback as IsEnabledFallback | undefined, record === 'isEnabled');
      const variant = enabled ? DISABLED_VARIANT_FEATURE_ON : DISABLED_VARIANT;
      if (record === 'evaluate' && this.countMetrics) this.store.countUnknown(name, enabled, variant.name);
      return { flag: name, enabled, variant, reason: { kind: 'FLAG_NOT_FOUND' } };
    }
    let ctx: Context;
    try {
      ctx = this.contextOf(context);
    } catch (err) {
      this.events.error('evaluation', new Error(`evaluating flag "${name}" failed: ${describe(err)}`));
      const reason: Reason = { kind: 'ERROR', message: describe(err) };
      if (record === 'isEnabled') return { flag: name, enabled: this.fallbackEnabled(name, context, fallback as IsEnabledFallback | undefined, false), variant: DISABLED_VARIANT, reason };
      if (record === 'getVariant') {
        const variant = this.fallbackVariant(name, fallback as Variant | undefined, false);
        return { flag: name, enabled: variant.feature_enabled === true, variant, reason };
      }
      return { flag: name, enabled: false, variant: DISABLED_VARIANT, reason };
    }
    let result = entry.flag.evaluate(ctx);
    if (record === undefined) return result;
    try {
      if (record === 'isEnabled') {
        if (this.countMetrics) {
          if (result.enabled) entry.yes++;
          else entry.no++;
        }
        if (entry.flag.impressionData) this.impression('isEnabled', name, ctx, result.enabled, undefined);
        return result;
      }
      if (record === 'getVariant' && fallback !== undefined && fallback !== null && !result.variant.enabled) {
        result = { ...result, variant: this.fallbackFor(fallback as Variant, result.enabled) };
      }
      this.recordVariant(entry, name, ctx, result.enabled, result.variant.name);
    } catch (err) {
      this.events.error('evaluation', new Error(`the impression of flag "${name}" failed: ${describe(err)}`));
    }
    return result;
  }

  /** What one variant answer records, for `getVariant` and `evaluate` alike: its counts and, for impression flags, the event. */
  private recordVariant(entry: FlagEntry, name: string, ctx: Context, enabled: boolean, variant: string): void {
    if (this.countMetrics) {
      if (enabled) entry.yes++;
      else entry.no++;
      entry.variant(variant);
    }
    if (entry.flag.impressionData) this.impression('getVariant', name, ctx, enabled, variant);
  }

  /**
   * The client's state now: ready or not, where its flags came from and how old they are,
   * the last fetch's outcome, the ETag and the update mode. Never throws.
   *
   * ```ts
   * app.get('/health', (_req, res) => res.json(client.status()));
   * ```
   */
  status(): ClientStatus {
    const now = this.scheduler.now();
    return {
      ready: this.ready,
      source: this.source,
      flagCount: this.flags.size,
      updatedAt: this.updatedAt,
      ageMs: this.updatedAt === undefined ? undefined : Math.max(0, now - this.updatedAt),
      etag: this.etag,
      mode: this.poller === undefined || this.config.offline ? 'offline' : this.poller.mode,
      lastFetch: this.lastFetch === undefined ? undefined : { ...this.lastFetch },
      destroyed: this.destroyed,
      ...(this.fleet === undefined ? {} : { fleet: this.fleet.status() }),
    };
  }

  /**
   * Every flag's answer and variant for `context`, as a Frontend API body (see `AllFlags`),
   * to bootstrap a browser SDK. Counts nothing unless `countMetrics`; fires no impression
   * and runs no hook. Never throws (a context that cannot be read answers no flags, with
   * an error event).
   *
   * ```ts
   * res.json(client.getAllFlags({ userId }, { enabledOnly: true }));
   * ```
   */
  getAllFlags(context?: Context, options?: AllFlagsOptions): AllFlags {
    try {
      return allFlagsOf(this.flags, this.contextOf(context), options, this.countMetrics);
    } catch (err) {
      this.events.error('evaluation', new Error(`getAllFlags failed: ${describe(err)}`));
      return { toggles: [] };
    }
  }

  /**
   * The definitions of the flags served now, in the server's order (like the official
   * SDK's `getFeatureToggleDefinitions()`): copies, so changing them changes nothing.
   */
  getFlags(): FeatureDefinition[] {
    return [...this.flags.values()].map((entry) => structuredClone(entry.flag.definition));
  }

  /**
   * Sends the usage and impact metrics counted so far now, instead of at the next
   * interval. Resolves when the POST is answered (or failed: an error event, and the
   * counts are kept for the next report); never rejects. Does nothing when metrics are
   * disabled, offline, before `start()` or after `destroy()`.
   */
  flushMetrics(): Promise<void> {
    if (this.config.disableMetrics || this.startPromise === undefined || this.destroyed) return Promise.resolve();
    return this.reporter?.flush() ?? Promise.resolve();
  }

  /** Whether the client has flags (from the server, the cache or a bootstrap). */
  get hasFlags(): boolean {
    return this.ready;
  }

  /** Adds a listener for one event type (besides `eventCallback`); returns a function removing it. */
  on<T extends UnleashEventType>(type: T, handler: (event: UnleashEventOf<T>) => void): () => void {
    return this.events.on(type, handler);
  }

  /** Removes a listener added with `on`. */
  off<T extends UnleashEventType>(type: T, handler: (event: UnleashEventOf<T>) => void): void {
    this.events.off(type, handler);
  }

  /**
   * Stops polling, sends the metrics counted so far (bounded by `timeout`), waits for cache
   * writes and releases the default cache. Afterwards no request leaves the client and no
   * timer is left; evaluations keep answering from the last flags. Idempotent; never rejects.
   */
  destroy(): Promise<void> {
    this.destroyPromise ??= this.shutdown();
    return this.destroyPromise;
  }

  private async shutdown(): Promise<void> {
    this.destroyed = true;
    this.unsubscribeSource?.();
    this.cancelDeadline?.();
    this.poller?.stop();
    const reporting = this.reporter?.stop() ?? Promise.resolve();
    this.countMetrics = false;
    try {
      await Promise.all([this.poller?.idle(), reporting]);
      // Only now that no request is left: the last metrics report may need the proxy.
      this.network?.destroy();
      // The last flags are stored even when their check in the background was cut short.
      this.writePostponed();
      await this.cacheWrites;
      // After the last write: a leader gives up its lock only once its flags are stored.
      await this.fleet?.leave();
      if (this.ownsCache) await this.cache.destroy();
    } catch (err) {
      this.events.error('cache', err);
    }
    // After the last writes, so their problems are still heard; a cache the user keeps
    // then reports to its own listeners (or process.emitWarning) again.
    this.unsubscribeCache?.();
    this.unsubscribeCache = undefined;
  }

  /** The context to evaluate with: the caller's own, copied only for custom strategies (see `apply`). */
  private contextOf(context: Context | undefined): Context {
    if (context === undefined || context === null || typeof context !== 'object') return this.defaultContext;
    if (!this.fillDefaults) return context;
    return this.withDefaults(context);
  }

  /** The context with `appName` and `environment` filled in where the caller left them out. */
  private withDefaults(context: Context | undefined): Context {
    if (context === undefined || context === null || typeof context !== 'object') return this.defaultContext;
    // Absent as the engine reads it: undefined, null or empty.
    const appName = isAbsent(context.appName) ? this.config.appName : context.appName;
    const environment = isAbsent(context.environment) ? this.config.environment : context.environment;
    if (appName === context.appName && environment === context.environment) return context;
    return { ...context, appName, environment };
  }

  private impression(eventType: 'isEnabled' | 'getVariant', featureName: string, ctx: Context, enabled: boolean, variant: string | undefined): void {
    if (!this.events.wants('impression')) return;
    this.events.emit({
      type: 'impression',
      eventType,
      eventId: randomUUID(),
      featureName,
      context: this.withDefaults(ctx),
      enabled,
      ...(variant === undefined ? {} : { variant }),
    });
  }

  private noteNoData(call: string): void {
    if (this.ready) return;
    const why = this.startPromise === undefined ? 'before start() was called' : 'before the client had any flags';
    this.evaluationWarning('no-data', `${call} was called ${why}; answering with the fallback (this is reported once)`);
  }

  private fallbackEnabled(name: string, context: Context | undefined, fallback: IsEnabledFallback | undefined, count = true): boolean {
    let result = false;
    try {
      this.noteNoData('isEnabled');
      if (fallback !== undefined && fallback !== null) {
        result = typeof fallback === 'function' ? fallback(name, this.withDefaults(context)) === true : fallback === true;
      } else if (this.config.fallbackFunction !== undefined) {
        result = this.config.fallbackFunction(name, this.withDefaults(context)) === true;
      }
    } catch (err) {
      this.events.error('evaluation', new Error(`the fallback for flag "${String(name).slice(0, 100)}" threw: ${describe(err)}`));
      result = false;
    }
    if (count && this.countMetrics) this.store.countUnknown(name, result);
    return result;
  }

  private fallbackVariant(name: string, fallback: Variant | undefined, count = true): Variant {
    this.noteNoData('getVariant');
    const result = fallback === undefined || fallback === null ? DISABLED_VARIANT : this.usableFallback(fallback);
    if (count && this.countMetrics) this.store.countUnknown(name, result.feature_enabled === true, result.name);
    return result;
  }

  /** The caller's fallback variant, or the disabled one (with one warning) when it is not a variant. */
  private usableFallback(fallback: Variant): Variant {
    if (typeof fallback === 'object' && typeof fallback.name === 'string' && typeof fallback.enabled === 'boolean') return fallback;
    this.evaluationWarning('bad-fallback', 'a getVariant fallback must be a variant ({ name, enabled, feature_enabled }); using the disabled variant');
    return DISABLED_VARIANT;
  }

  /** The fallback answered for a known flag with no variant to give; `featureEnabled` tells whether the flag was on. */
  private fallbackFor(fallback: Variant, featureEnabled: boolean): Variant {
    const usable = this.usableFallback(fallback);
    if (usable === DISABLED_VARIANT) return featureEnabled ? DISABLED_VARIANT_FEATURE_ON : DISABLED_VARIANT;
    return usable.feature_enabled === featureEnabled ? usable : Object.freeze({ ...usable, feature_enabled: featureEnabled });
  }
}

/**
 * The `fetched` event of a new snapshot. `features` (checked definitions) is built when
 * first read: checking every deferred flag of a 50,000-flag body at once would hold the
 * event loop for the time the sliced load saved, for listeners that mostly want names.
 */
function fetchedEvent(snapshot: Snapshot, etag: string | undefined): FetchedEvent {
  let features: readonly FeatureDefinition[] | undefined;
  let flagNames: readonly string[] | undefined;
  const event: FetchedEvent = {
    type: 'fetched',
    get features() {
      return (features ??= snapshot.definitions());
    },
    get flagNames() {
      return (flagNames ??= snapshot.names());
    },
  };
  if (etag !== undefined) event.etag = etag;
  return event;
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function isCacheLike(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  return typeof c.get === 'function' && typeof c.set === 'function' && typeof c.destroy === 'function';
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : String(err).slice(0, 200);
}
