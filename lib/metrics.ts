/**
 * Usage metrics: how often each flag answered yes or no and which variants it returned,
 * reported to Unleash every `metricsInterval` in the bucket format of the client API.
 *
 * Counting sits on the hot path of `isEnabled`, so each flag the client serves has one
 * mutable `ToggleCounter`: the client's flag table entry is one (it extends it, beside the
 * compiled flag), so one lookup by name finds both, counting is an increment with no
 * allocation, and a flag costs one object. Reporting reads and zeroes the counters in
 * place. A failed report merges its counts back, so nothing is lost to an outage.
 *
 * Names the server did not send (typos, flags not yet created, a client without data) are
 * counted too, so Unleash can list them as unknown flags, but at most
 * `MAX_UNKNOWN_FLAGS` distinct names per report: a flood of made-up names cannot grow
 * memory without bound.
 */
import type { EventHub } from './events';
import { HttpError } from './http';
import { backoffDelay, MAX_TIMER_DELAY } from './poller';
import { withJitter, type Scheduler, type TimerHandle } from './scheduler';
import type { UnleashApi } from './unleash-api';
import { SDK_NAME, SPEC_VERSION } from './version';
import type { CollectedMetric } from './impact-metrics';

/** Distinct unknown flag names counted per report. */
export const MAX_UNKNOWN_FLAGS = 100;
/** Longer unknown names are not counted (Unleash flag names are far shorter). */
export const MAX_UNKNOWN_NAME_LENGTH = 200;

/**
 * Variant names a counter keeps in a list beyond its first (looked up by a scan); past
 * this many it keeps a Map. A flag's variants are usually fewer.
 */
export const MAX_LISTED_VARIANTS = 8;

/** The running counts of one flag. Mutated in place by the client. */
export class ToggleCounter {
  yes = 0;
  no = 0;
  // Most flags answer one variant name only (`disabled`, for a flag without variants):
  // that one is counted in two fields. Further names go in `moreVariants`: pairs
  // `[name, count, …]` in an array of exactly that size (a flag answers few names; a Map
  // costs about 330 bytes, the array 32 bytes per name), or a Map past
  // `MAX_LISTED_VARIANTS` names. Kept small, since a service holds a counter per flag for
  // its life.
  private firstVariant: string | undefined = undefined;
  private firstCount = 0;
  private moreVariants: (string | number)[] | Map<string, number> | undefined = undefined;

  /** Counts one variant result. */
  variant(name: string): void {
    if (name === this.firstVariant) this.firstCount++;
    else this.addVariant(name, 1);
  }

  /** Whether anything was counted since the last report. */
  get counted(): boolean {
    return this.yes !== 0 || this.no !== 0 || this.firstVariant !== undefined;
  }

  /** Calls `fn` with each variant name counted and its count. */
  forEachVariant(fn: (name: string, count: number) => void): void {
    if (this.firstVariant === undefined) return;
    fn(this.firstVariant, this.firstCount);
    const more = this.moreVariants;
    if (more instanceof Map) for (const [v, n] of more) fn(v, n);
    else if (more !== undefined) for (let i = 0; i < more.length; i += 2) fn(more[i] as string, more[i + 1] as number);
  }

  /** Zeroes every count. */
  reset(): void {
    this.yes = 0;
    this.no = 0;
    this.firstVariant = undefined;
    this.firstCount = 0;
    this.moreVariants = undefined;
  }

  /** Adds `other`'s counts to these and zeroes `other`. */
  absorb(other: ToggleCounter): void {
    this.yes += other.yes;
    this.no += other.no;
    other.forEachVariant((v, n) => this.addVariant(v, n));
    other.reset();
  }

  /** Adds `n` results of variant `name`. */
  addVariant(name: string, n: number): void {
    if (this.firstVariant === undefined) {
      this.firstVariant = name;
      this.firstCount = n;
    } else if (name === this.firstVariant) {
      this.firstCount += n;
    } else {
      this.addMore(name, n);
    }
  }

  /** Counts `n` for a name other than the first (see `moreVariants`). */
  private addMore(name: string, n: number): void {
    const more = this.moreVariants;
    if (more === undefined) {
      this.moreVariants = [name, n];
    } else if (more instanceof Map) {
      more.set(name, (more.get(name) ?? 0) + n);
    } else {
      for (let i = 0; i < more.length; i += 2) {
        if (more[i] === name) {
          more[i + 1] = (more[i + 1] as number) + n;
          return;
        }
      }
      if (more.length < 2 * MAX_LISTED_VARIANTS) {
        // A copy of the exact size (`concat`): `push`, or a spread, leaves room for a dozen more.
        this.moreVariants = more.concat(name, n);
      } else {
        const map = new Map<string, number>();
        for (let i = 0; i < more.length; i += 2) map.set(more[i] as string, more[i + 1] as number);
        map.set(name, n);
        this.moreVariants = map;
      }
    }
  }
}

/** The counts of one flag in a report. */
export interface ToggleCounts {
  yes: number;
  no: number;
  variants: Record<string, number>;
}

/** One report's counts, as the client API expects them. */
export interface MetricsBucket {
  /** ISO time the counting window opened. */
  start: string;
  /** ISO time it closed. */
  stop: string;
  toggles: Record<string, ToggleCounts>;
}

const NO_COUNTERS: ReadonlyMap<string, ToggleCounter> = new Map();

/**
 * The window of counts a report covers. The counters of the flags the client serves live
 * in the client's flag table (one object per flag with the compiled flag, found by one
 * lookup on the hot path); the store reads them at each report through `readFlagTable`.
 * It owns only the rest: names the client does not have, and flags dropped from the
 * payload whose counts were not reported yet.
 */
export class MetricsStore {
  /** Unknown names' counters, and counters of flags no longer served; dropped once reported. */
  private readonly others = new Map<string, ToggleCounter>();
  private flagTable: () => ReadonlyMap<string, ToggleCounter> = () => NO_COUNTERS;
  private unknownNames = 0;
  private windowStart: number;
  private warnedFull = false;

  constructor(
    now: number,
    private readonly onWarning: (message: string) => void = () => undefined,
  ) {
    this.windowStart = now;
  }

  /** Where the served flags' counters are: read at every report and restore. */
  readFlagTable(table: () => ReadonlyMap<string, ToggleCounter>): void {
    this.flagTable = table;
  }

  /**
   * Keeps the counts of a flag the client stops serving, to report them with the next
   * bucket (a flag removed between two reports still had its evaluations).
   */
  keep(name: string, counter: ToggleCounter): void {
    if (!counter.counted) return;
    const kept = this.others.get(name);
    if (kept === undefined) this.others.set(name, counter);
    else kept.absorb(counter);
  }

  /**
   * Moves counts kept for `name` (it was unknown, or dropped and now served again) into
   * the served flag's counter.
   */
  adopt(name: string, counter: ToggleCounter): void {
    const kept = this.others.get(name);
    if (kept === undefined) return;
    counter.absorb(kept);
    this.others.delete(name);
  }

  /**
   * `adopt` for every name of `table` at once: moves the counts kept for a flag that
   * `table` serves into its counter. Costs one step per kept name, not per served flag.
   */
  adoptServed(table: ReadonlyMap<string, ToggleCounter>): void {
    for (const [name, kept] of this.others) {
      const counter = table.get(name);
      if (counter === undefined) continue;
      counter.absorb(kept);
      this.others.delete(name);
    }
  }

  /**
   * Counts an evaluation of a flag the client does not have. Returns false when the name
   * was not counted (the per-report limit is reached, or the name is not a usable string).
   */
  countUnknown(name: string, enabled: boolean, variant?: string): boolean {
    let counter = this.others.get(name);
    if (counter === undefined) {
      if (typeof name !== 'string' || name === '' || name.length > MAX_UNKNOWN_NAME_LENGTH) return false;
      if (this.unknownNames >= MAX_UNKNOWN_FLAGS) {
        if (!this.warnedFull) {
          this.warnedFull = true;
          this.onWarning(
            `more than ${MAX_UNKNOWN_FLAGS} distinct unknown flag names were evaluated in one metrics interval; ` +
              'further unknown names are not counted',
          );
        }
        return false;
      }
      counter = new ToggleCounter();
      this.others.set(name, counter);
      this.unknownNames++;
    }
    if (enabled) counter.yes++;
    else counter.no++;
    if (variant !== undefined) counter.variant(variant);
    return true;
  }

  /**
   * Reads and zeroes every counter, and opens a new window at `now`. Returns `undefined`
   * (and keeps the window open) when nothing was counted, unless `evenIfEmpty` (impact
   * metrics are to be sent, and ride in a bucket).
   */
  take(now: number, evenIfEmpty = false): MetricsBucket | undefined {
    // Null-prototype objects: a flag or variant named "__proto__" must stay a plain key.
    const toggles: Record<string, ToggleCounts> = Object.create(null);
    let any = false;
    const collect = (name: string, c: ToggleCounter): void => {
      if (!c.counted) return;
      const out = (toggles[name] ??= { yes: 0, no: 0, variants: Object.create(null) as Record<string, number> });
      out.yes += c.yes;
      out.no += c.no;
      c.forEachVariant((v, n) => (out.variants[v] = (out.variants[v] ?? 0) + n));
      c.reset();
      any = true;
    };
    for (const [name, c] of this.flagTable()) collect(name, c);
    for (const [name, c] of this.others) collect(name, c);
    this.others.clear();
    this.unknownNames = 0;
    this.warnedFull = false;
    if (!any && !evenIfEmpty) return undefined;
    const bucket: MetricsBucket = {
      start: new Date(this.windowStart).toISOString(),
      stop: new Date(now).toISOString(),
      toggles,
    };
    this.windowStart = now;
    return bucket;
  }

  /** Merges a bucket that could not be sent back into the counters, window start included. */
  restore(bucket: MetricsBucket): void {
    const start = Date.parse(bucket.start);
    if (Number.isFinite(start) && start < this.windowStart) this.windowStart = start;
    const table = this.flagTable();
    for (const name of Object.keys(bucket.toggles)) {
      const counts = bucket.toggles[name]!;
      let counter = table.get(name) ?? this.others.get(name);
      if (counter === undefined) {
        // Restored names were within the limit when counted, so they skip it here; the
        // total stays bounded by twice the limit.
        counter = new ToggleCounter();
        this.others.set(name, counter);
        this.unknownNames++;
      }
      counter.yes += counts.yes;
      counter.no += counts.no;
      for (const v of Object.keys(counts.variants)) counter.addVariant(v, counts.variants[v]!);
    }
  }
}

/** What the reporter needs to know about the client. */
export interface MetricsReporterOptions {
  store: MetricsStore;
  api: UnleashApi;
  scheduler: Scheduler;
  events: EventHub;
  appName: string;
  instanceId: string;
  environment: string;
  /** Milliseconds between reports. */
  interval: number;
  /** Milliseconds one report may take. */
  timeout: number;
  /** Called when reporting stops for good (401/403), so counting can stop too. */
  onDisabled?: () => void;
  /** A wrapper's name and version (`sdkFlavor`, `sdkFlavorVersion`), sent in both bodies when set. */
  flavor?: SdkFlavor;
  /** Impact metrics, collected into each report and given back when it fails. */
  impact?: { collect(): CollectedMetric[]; restore(collected: CollectedMetric[]): void };
}

/** The `sdkFlavor` fields of the registration and metrics bodies. */
export interface SdkFlavor {
  sdkFlavor?: string;
  sdkFlavorVersion?: string;
}

/**
 * Only the fields that are non-empty strings, so an unset flavor adds nothing to a body;
 * a version only beside a flavor (a version of nothing named says nothing).
 */
function flavorFields(flavor: SdkFlavor | undefined): SdkFlavor {
  const out: SdkFlavor = {};
  if (typeof flavor?.sdkFlavor !== 'string' || flavor.sdkFlavor === '') return out;
  out.sdkFlavor = flavor.sdkFlavor;
  if (typeof flavor.sdkFlavorVersion === 'string' && flavor.sdkFlavorVersion !== '') out.sdkFlavorVersion = flavor.sdkFlavorVersion;
  return out;
}

const PLATFORM = { platformName: 'node', platformVersion: process.versions.node, yggdrasilVersion: null } as const;

/** Sends registration and metrics reports on a timer. */
export class MetricsReporter {
  private failures = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private disabled = false;
  private started = false;
  private inFlight: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private registering: Promise<void> | undefined;
  private flushes: Promise<unknown> = Promise.resolve();

  private flavor: SdkFlavor;

  constructor(private readonly options: MetricsReporterOptions) {
    this.flavor = flavorFields(options.flavor);
  }

  /**
   * Names the wrapper the client runs under (an OpenFeature provider), for the bodies sent
   * from now on. As the official Node SDK does, the fields are left out when not set.
   */
  setFlavor(flavor: SdkFlavor): void {
    this.flavor = flavorFields(flavor);
  }

  /** Schedules the first report one interval from now. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule();
  }

  /** The registration body. */
  registrationBody(strategies: string[], started: number): Record<string, unknown> {
    const { appName, instanceId, interval, api } = this.options;
    return {
      appName,
      instanceId,
      connectionId: api.connectionId,
      sdkVersion: SDK_NAME,
      strategies,
      started: new Date(started).toISOString(),
      interval,
      ...PLATFORM,
      specVersion: SPEC_VERSION,
      ...this.flavor,
    };
  }

  /** Registers the client once; a failure is reported, never thrown. Aborted by `stop`. */
  register(strategies: string[], started: number): Promise<void> {
    this.registering ??= (async () => {
      try {
        const status = await this.options.api.post('register', this.registrationBody(strategies, started), this.controller.signal);
        if (status < 200 || status > 299) {
          const url = this.options.api.shownUrl('register');
          this.options.events.error('register', new HttpError('HTTP_STATUS', url, `POST ${url}: the server answered ${status}`, status));
        }
      } catch (err) {
        if (!this.stopped) this.options.events.error('register', err);
      }
    })();
    return this.registering;
  }

  /**
   * Stops the timer, waits for a report in flight, then sends what is pending (bounded by
   * the timeout). After it resolves no request leaves and no timer is left. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) {
      await this.inFlight;
      return;
    }
    this.stopped = true;
    if (this.timer !== undefined) this.options.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort();
    await this.registering;
    await this.inFlight;
    await this.flushes;
    // A reporter that never started has no window to report: the client was never started.
    if (this.started && !this.disabled) {
      this.inFlight = this.send();
      await this.inFlight;
    }
  }

  /**
   * Sends what is counted now (after a report in flight), without waiting for the timer.
   * Resolves when the report is done, whatever its outcome (a failure is an error event and
   * the counts are kept); does nothing once stopped or disabled. Never rejects.
   */
  flush(): Promise<void> {
    if (this.stopped || this.disabled) return Promise.resolve();
    const run = Promise.resolve(this.inFlight).then(() => (this.stopped || this.disabled ? undefined : this.send()));
    this.flushes = Promise.all([this.flushes, run]);
    return run;
  }

  private schedule(): void {
    if (this.stopped || this.disabled) return;
    const { scheduler, interval } = this.options;
    const wait = Math.min(MAX_TIMER_DELAY, withJitter(backoffDelay(interval, this.failures), scheduler.random()));
    this.timer = scheduler.setTimeout(
      () => {
        this.timer = undefined;
        this.inFlight = this.send().then(() => {
          this.inFlight = undefined;
          this.schedule();
        });
      },
      wait,
      'metrics',
    );
  }

  /** Sends one report. Never rejects: whatever fails is an error event and the counts are kept. */
  private async send(): Promise<void> {
    const { store, scheduler, events, impact } = this.options;
    let bucket: MetricsBucket | undefined;
    let impactMetrics: CollectedMetric[] = [];
    try {
      impactMetrics = impact?.collect() ?? [];
      bucket = store.take(scheduler.now(), impactMetrics.length > 0);
      if (bucket === undefined) return;
      await this.post(bucket, impactMetrics);
    } catch (err) {
      try {
        if (bucket !== undefined) store.restore(bucket);
        if (impactMetrics.length > 0) impact?.restore(impactMetrics);
      } catch {
        // The counts of one report are lost; the error below says the report failed.
      }
      this.failures = Math.min(10, this.failures + 1);
      events.error('metrics', err);
    }
  }

  /** POSTs one bucket. Throws when the counts must be kept (a failed request or status). */
  private async post(bucket: MetricsBucket, impactMetrics: CollectedMetric[]): Promise<void> {
    const { api, events, appName, instanceId, environment, timeout } = this.options;
    const body = {
      appName,
      instanceId,
      connectionId: api.connectionId,
      environment,
      bucket,
      ...PLATFORM,
      specVersion: SPEC_VERSION,
      ...this.flavor,
      ...(impactMetrics.length > 0 ? { impactMetrics } : {}),
    };
    const status = await api.post('metrics', body, undefined, timeout);
    if (status >= 200 && status <= 299) {
      this.failures = Math.max(0, this.failures - 1);
      return;
    }
    const url = api.shownUrl('metrics');
    if (status === 401 || status === 403) {
      this.disabled = true;
      events.error(
        'metrics',
        new HttpError('HTTP_STATUS', url, `POST ${url}: the server answered ${status}; metrics reporting stopped (check the client API token)`, status),
      );
      this.options.onDisabled?.();
      return;
    }
    throw new HttpError('HTTP_STATUS', url, `POST ${url}: the server answered ${status}; the counts are kept for the next report`, status);
  }
}
