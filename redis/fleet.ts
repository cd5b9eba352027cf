/**
 * Fleet mode: the instances of a service that share one Redis key prefix elect a leader,
 * which alone fetches flags from Unleash; the others follow it through Redis.
 *
 * The protocol, all under `<prefix>`:
 *
 * - `fleet:leader` is the lock: `SET NX PX <lockTtl>` takes it, holding a random token of
 *   this instance; the leader renews it every `lockTtl / 3` with a compare-and-renew script
 *   and `leave()` deletes it with compare-and-delete, so nobody renews or frees another's
 *   lock. A leader that stops renewing (killed, frozen, cut off) loses it at its expiry;
 *   followers try again when it is due to expire, so one of them leads within one TTL of
 *   the last renewal.
 * - The leader writes flags through the client's own cache write; for a fleet that is one
 *   script that checks the lock token, stores `features` and `etag`, gives the write a new
 *   version in `fleet:meta` (with the time) and publishes the version on `fleet:changes`.
 *   A leader that lost its lock writes nothing (fencing).
 * - Followers load a new version when one is published, and compare the stored version
 *   with theirs at every check (`checkInterval`) in case a message was lost.
 * - When Redis fails, every instance goes on alone (`standalone`): it fetches from Unleash
 *   itself until Redis answers again, then takes a role again.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BaseCache, CacheKeys, type CacheWarning } from '../lib/index';
import type { FleetCoordinator, FleetHost, FleetRole, FleetStatus } from '../lib/fleet-link';
import { systemScheduler, withJitter, type Scheduler, type TimerHandle } from '../lib/scheduler';
import { cacheKey, checkMs, checkPrefix, closeConnection, describe, openConnection, whenReady, type RedisSource } from './connection';
import { decodeJsonInSlices, DEFAULT_COMMAND_TIMEOUT, encodeJson, readJson } from './redis-cache';

/**
 * Options of `RedisFleet`.
 *
 * @group Redis
 */
export interface RedisFleetOptions {
  /** Where Redis is: a `redis://` URL, or an ioredis client to copy the settings of (see `RedisSource`). */
  redis: RedisSource;
  /**
   * The fleet's name in Redis: instances with the same prefix form one fleet and share
   * flags, so give each app, environment and project (each client token) its own. Default
   * `switchyard:`.
   */
  prefix?: string;
  /**
   * Milliseconds the leader's lock lasts without renewal (renewed every third of it): a new
   * leader takes over within about this long after the leader dies. Default 10 000; at
   * least 300.
   */
  lockTtl?: number;
  /**
   * Milliseconds between a follower's checks of the stored version, the safety net for a
   * lost change message, and between tries to reach Redis again while it is unreachable.
   * Default a third of `lockTtl`; at least 100.
   */
  checkInterval?: number;
  /** Milliseconds a Redis command may take before Redis counts as unreachable. Default 2000, at most a third of `lockTtl`; at least 50. */
  commandTimeout?: number;
  /**
   * For tests only.
   * @internal
   */
  scheduler?: Scheduler;
}

/** Default milliseconds the leader's lock lasts. */
export const DEFAULT_LOCK_TTL = 10_000;

/** A follower tries for the lock this long after it is due to expire, so the try finds it gone. */
const EXPIRY_MARGIN = 20;

// Returns 1 and extends the lock when it holds our token, else 0.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0`;
// Deletes the lock when it holds our token.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// KEYS: lock, features, etag, meta. ARGV: token, features JSON, etag JSON ('' for none), version suffix, time, channel.
// Writes only while the lock holds our token; returns the new version, or false.
const WRITE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('SET', KEYS[2], ARGV[2])
if ARGV[3] == '' then redis.call('DEL', KEYS[3]) else redis.call('SET', KEYS[3], ARGV[3]) end
local version = redis.call('HINCRBY', KEYS[4], 'seq', 1) .. '-' .. ARGV[4]
redis.call('HSET', KEYS[4], 'version', version, 'at', ARGV[5])
redis.call('PUBLISH', ARGV[6], 'v:' .. version)
return version`;

/**
 * One instance's membership of a fleet in Redis (see the module comment for the protocol).
 * Give it to a client as its `fleet` option: the client then uses the fleet's Redis as its
 * cache and lets the fleet decide when it fetches from Unleash. Every instance still sends
 * its own metrics and registration.
 *
 * ```ts
 * const fleet = new RedisFleet({ redis: 'redis://127.0.0.1:6379', prefix: 'checkout:production:' });
 * const client = new UnleashClient({ url, appName, customHeaders, fleet });
 * await client.start();
 * client.status().fleet; // { role: 'leader' | 'follower' | 'standalone', version, ageMs, lastError, ... }
 * ```
 *
 * It opens two connections (commands, and change messages), on `start()`; the client's
 * `destroy()` gives up the lock and closes them. Until then they keep the process running,
 * as any open connection does. One `RedisFleet` serves one client.
 *
 * @group Redis
 */
export class RedisFleet implements FleetCoordinator {
  /** The fleet's store as a cache: the client reads its start-up flags here; only the leader writes. */
  readonly cache: BaseCache;
  private readonly prefix: string;
  private readonly lockTtl: number;
  private readonly checkInterval: number;
  private readonly commandTimeout: number;
  private readonly scheduler: Scheduler;
  private readonly connection: Redis;
  private readonly subscriber: Redis;
  /** This instance's lock token: another instance's never equals it. */
  private readonly token = randomUUID();
  private readonly keys: { lock: string; meta: string; channel: string; features: string; etag: string };

  private host: FleetHost | undefined;
  private role: FleetRole = 'standalone';
  private since: number;
  /** Whether the client polls now (as leader or standalone). */
  private updating = false;
  /** The fleet version of the flags the client serves, if they came through the fleet. */
  private version: string | undefined;
  private writtenAt: number | undefined;
  /** A version found unusable: not loaded (nor reported) again. */
  private badVersion: string | undefined;
  /** A version whose repair this leader has started: not started again. */
  private repairedVersion: string | undefined;
  private lastError: { at: number; message: string } | undefined;
  /** Whether the outage now going on was reported. */
  private outageReported = false;
  private timer: TimerHandle | undefined;
  /** Every step runs after the one before, so two never interleave their reads and writes. */
  private queue: Promise<void> = Promise.resolve();
  /** The leader's or standalone instance's first fetch, for `join` to wait for. */
  private firstFetch: Promise<void> | undefined;
  private closed = false;

  /** Throws `ConfigError` when an option is unusable. Connects nothing before `join`. */
  constructor(options: RedisFleetOptions) {
    this.prefix = checkPrefix('prefix', options?.prefix);
    this.lockTtl = checkMs('lockTtl', options?.lockTtl, DEFAULT_LOCK_TTL, 300);
    this.checkInterval = checkMs('checkInterval', options?.checkInterval, Math.round(this.lockTtl / 3), 100);
    this.commandTimeout = Math.min(checkMs('commandTimeout', options?.commandTimeout, DEFAULT_COMMAND_TIMEOUT, 50), Math.round(this.lockTtl / 3));
    this.scheduler = options?.scheduler ?? systemScheduler;
    this.since = this.scheduler.now();
    this.connection = openConnection(options?.redis, 'redis', this.commandTimeout);
    this.subscriber = openConnection(options.redis, 'redis', this.commandTimeout, true);
    this.keys = {
      lock: `${this.prefix}fleet:leader`,
      meta: `${this.prefix}fleet:meta`,
      channel: `${this.prefix}fleet:changes`,
      features: cacheKey(this.prefix, CacheKeys.FEATURES),
      etag: cacheKey(this.prefix, CacheKeys.ETAG),
    };
    this.cache = new FleetCache(this);
  }

  /** See `FleetCoordinator.join`. */
  async join(host: FleetHost): Promise<void> {
    if (this.host !== undefined || this.closed) {
      // A second client on the same coordinator, or one already released: it polls alone
      // rather than waiting for a fleet that will never drive it.
      host.warn(this.closed ? 'this RedisFleet was released by destroy(); fetching flags alone' : 'this RedisFleet already serves another client (one RedisFleet per client); fetching flags alone');
      await host.resumeUpdates(false);
      return;
    }
    this.host = host;
    this.subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
    this.subscriber.subscribe(this.keys.channel).catch((err: unknown) => this.noteError(`subscribing to changes failed: ${describe(err)}`));
    await this.enqueue(() => this.step());
    // Back from an outage: take a role at once rather than at the next check.
    this.connection.on('ready', () => this.kick());
    await this.firstFetch;
  }

  /** See `FleetCoordinator.leave`. */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    await this.queue;
    if (this.role === 'leader' && this.connection.status === 'ready') {
      try {
        await this.connection.eval(RELEASE, 1, this.keys.lock, this.token);
        // Followers try for the lock now rather than when it would have expired.
        await this.connection.publish(this.keys.channel, 'released');
      } catch {
        // The lock expires by itself.
      }
    }
    this.setRole('standalone');
    await Promise.all([closeConnection(this.connection), closeConnection(this.subscriber)]);
  }

  /** See `FleetCoordinator.status`. */
  status(): FleetStatus {
    const now = this.scheduler.now();
    return {
      role: this.role,
      since: this.since,
      version: this.version,
      writtenAt: this.writtenAt,
      ageMs: this.writtenAt === undefined ? undefined : Math.max(0, now - this.writtenAt),
      lastError: this.lastError === undefined ? undefined : { ...this.lastError },
    };
  }

  /**
   * Reads a cache key for the client's start-up (`FleetCache.get`). A read that `leave()`
   * cut short (the client destroyed while starting) finds nothing: Redis did not fail.
   */
  async read(key: string, report: (warning: CacheWarning) => void): Promise<unknown> {
    try {
      await whenReady(this.connection, this.commandTimeout);
      return await readJson(this.connection, this.prefix, key, report);
    } catch (err) {
      if (this.closed) return undefined;
      throw err;
    }
  }

  /**
   * Stores what the client writes after a fetch, if this instance leads (`FleetCache.mset`):
   * fenced by the lock, versioned and published. A follower or standalone instance writes
   * nothing; a failure is the fleet's to report, not the client's.
   */
  write(entries: Record<string, unknown>): Promise<void> {
    if (!(CacheKeys.FEATURES in entries)) return Promise.resolve();
    const value = entries[CacheKeys.FEATURES];
    const etag = entries[CacheKeys.ETAG];
    return this.enqueue(async () => {
      if (this.role !== 'leader' || this.closed) return;
      // 50,000 flags are tens of megabytes of JSON: written in slices, never in one go.
      const features = await encodeJson(value);
      if (features === undefined || this.role !== 'leader' || this.closed) return;
      const at = this.scheduler.now();
      try {
        const version = await this.connection.eval(
          WRITE,
          4,
          this.keys.lock,
          this.keys.features,
          this.keys.etag,
          this.keys.meta,
          this.token,
          features,
          etag === undefined ? '' : JSON.stringify(etag),
          randomBytes(4).toString('hex'),
          String(at),
          this.keys.channel,
        );
        if (typeof version === 'string') {
          this.version = version;
          this.writtenAt = at;
          this.badVersion = undefined;
        } else {
          // The lock is someone else's: this instance follows from now on.
          await this.follow(undefined);
        }
      } catch (err) {
        this.alone(err);
      }
    });
  }

  private onMessage(message: string): void {
    if (this.closed) return;
    if (message === 'released') {
      this.kick();
    } else if (message.startsWith('v:')) {
      const version = message.slice(2);
      if (this.role === 'follower' && version !== this.version) void this.enqueue(() => this.load());
    } else if (message.startsWith('repair:')) {
      const version = message.slice('repair:'.length);
      if (this.role === 'leader' && version === this.version && version !== this.repairedVersion) {
        this.repairedVersion = version;
        this.repair();
      }
    }
  }

  /** Runs a step now (after the one in progress). */
  private kick(): void {
    if (this.closed || this.host === undefined) return;
    this.clearTimer();
    void this.enqueue(() => this.step());
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task).catch((err: unknown) => this.noteError(describe(err)));
    this.queue = run;
    return run;
  }

  /** One check: renew or take the lock, or notice the leader's new flags; then schedule the next. */
  private async step(): Promise<void> {
    if (this.closed) return;
    let next = this.checkInterval;
    try {
      await whenReady(this.connection, this.commandTimeout);
      if (this.role === 'leader') {
        const [renewed, stored] = await this.exec(this.connection.pipeline().eval(RENEW, 1, this.keys.lock, this.token, this.lockTtl).hget(this.keys.meta, 'version'));
        if (renewed === 1) {
          this.recovered();
          // A version this leader did not write (another writer, a lost write): write again.
          if (this.version !== undefined && stored !== this.version && stored !== this.repairedVersion) {
            this.repairedVersion = typeof stored === 'string' ? stored : undefined;
            this.repair();
          }
          next = Math.round(this.lockTtl / 3);
        } else {
          await this.follow(undefined);
        }
      } else {
        const [taken, renewed, ttl, stored] = await this.exec(
          this.connection
            .pipeline()
            .set(this.keys.lock, this.token, 'PX', this.lockTtl, 'NX')
            .eval(RENEW, 1, this.keys.lock, this.token, this.lockTtl)
            .pttl(this.keys.lock)
            .hget(this.keys.meta, 'version'),
        );
        this.recovered();
        if (taken === 'OK' || renewed === 1) {
          this.lead(typeof stored === 'string' ? stored : undefined);
          next = Math.round(this.lockTtl / 3);
        } else {
          await this.follow(typeof stored === 'string' ? stored : undefined);
          // Try again just after the leader's lock would expire, if that comes first.
          if (typeof ttl === 'number' && ttl >= 0) next = Math.min(next, ttl + EXPIRY_MARGIN);
        }
      }
    } catch (err) {
      this.alone(err);
    }
    this.schedule(next);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.clearTimer();
    const wait = Math.max(EXPIRY_MARGIN, withJitter(ms, this.scheduler.random()));
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.step());
    }, wait, 'fleet');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs a pipeline; rejects with the first command's error. */
  private async exec(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed) throw failed[0];
    return results.map(([, value]) => value);
  }

  /** This instance took the lock: it fetches from Unleash now and on its interval. */
  private lead(stored: string | undefined): void {
    if (this.role === 'leader') return;
    this.setRole('leader');
    // In step with the fleet: a conditional fetch (304) will do. Otherwise (no flags
    // stored, unusable ones, flags this instance fetched alone) a full body to write.
    const inStep = this.version !== undefined && stored === this.version && stored !== this.badVersion;
    this.resume(!inStep);
  }

  /**
   * Someone else leads: stop fetching, and load the leader's flags if they are new. A
   * leader that finds its lock taken (frozen past its expiry, cut off) does not know the
   * stored version, and the new leader's change message reached it while it still led, so
   * it loads now: otherwise it would serve its own, older flags until its next check.
   */
  private async follow(stored: string | undefined): Promise<void> {
    const deposed = this.role === 'leader';
    if (this.role !== 'follower') {
      this.setRole('follower');
      if (this.updating) {
        this.updating = false;
        this.host?.pauseUpdates();
      }
    }
    if (deposed || (stored !== undefined && stored !== this.version && stored !== this.badVersion)) await this.load();
  }

  /** Redis failed: fetch from Unleash alone until it is back. */
  private alone(err: unknown): void {
    this.noteError(`Redis failed: ${describe(err)}`);
    if (!this.outageReported && this.host !== undefined) {
      this.outageReported = true;
      this.host.warn(`the fleet's Redis failed (${describe(err)}); this instance fetches flags from Unleash itself until Redis answers again`);
    }
    if (this.role !== 'standalone') this.setRole('standalone');
    // What this instance fetches alone is not a fleet version.
    this.version = undefined;
    this.writtenAt = undefined;
    if (!this.updating) this.resume(false);
  }

  private recovered(): void {
    this.outageReported = false;
  }

  private resume(fresh: boolean): void {
    const host = this.host;
    if (host === undefined || this.closed) return;
    this.updating = true;
    const fetched = host.resumeUpdates(fresh).catch(() => undefined);
    this.firstFetch ??= fetched;
  }

  /** As leader: fetch a full body now, so the fleet's store gets flags it can use. */
  private repair(): void {
    if (this.role !== 'leader' || this.host === undefined || this.closed) return;
    // Not awaited: the lock is renewed while the fetch runs.
    this.host.resumeUpdates(true).catch(() => undefined);
  }

  /** Reads the stored flags, their ETag and version in one transaction, and hands them to the client. */
  private async load(): Promise<void> {
    const host = this.host;
    if (host === undefined || this.closed || this.role !== 'follower') return;
    let results: unknown[];
    try {
      // The version first: the flags (tens of megabytes for 50,000) are read only when it
      // is new. A message can name a version that is not the stored one: one already
      // superseded, or another fleet's (Pub/Sub channels are shared by every database
      // index of a server, so two fleets with one prefix in db 0 and db 1 hear each other).
      const stored = await this.connection.hget(this.keys.meta, 'version');
      if (stored === null || stored === this.version || stored === this.badVersion || this.closed) return;
      results = await this.exec(this.connection.multi().hmget(this.keys.meta, 'version', 'at').get(this.keys.features).get(this.keys.etag));
    } catch (err) {
      this.alone(err);
      return;
    }
    const [[version, at], featuresText, etagText] = results as [[string | null, string | null], string | null, string | null];
    if (version === null || version === this.version || version === this.badVersion) return;
    const report = (warning: CacheWarning): void => (this.cache as FleetCache).relay(warning);
    const features = await decodeJsonInSlices(featuresText, this.prefix, CacheKeys.FEATURES, report);
    const etag = await decodeJsonInSlices(etagText, this.prefix, CacheKeys.ETAG, report);
    if (this.closed || this.role !== 'follower') return;
    const usable = features !== undefined && features !== null && host.receive(features, typeof etag === 'string' && etag !== '' ? etag : undefined);
    if (!usable) {
      this.badVersion = version;
      // Corrupt JSON and a body the client refuses are reported as they are read; missing
      // flags (deleted, evicted under maxmemory) are this warning's to report.
      if (featuresText === null) host.warn(`the fleet's version ${version} has no flags in Redis (${this.keys.features} is missing); serving the flags this instance has, and asking the leader to write them again`);
      this.noteError(`the fleet's flags of version ${version} are unusable; serving the flags this instance has`);
      // The leader hears of it and writes a fresh body.
      await this.connection.publish(this.keys.channel, `repair:${version}`).catch(() => undefined);
      return;
    }
    this.version = version;
    const writtenAt = Number(at);
    this.writtenAt = Number.isFinite(writtenAt) ? writtenAt : undefined;
  }

  private setRole(role: FleetRole): void {
    if (this.role === role) return;
    this.role = role;
    this.since = this.scheduler.now();
  }

  private noteError(message: string): void {
    this.lastError = { at: this.scheduler.now(), message };
  }
}

/** The fleet's store as the client's cache: reads for start-up, fenced writes by the leader. */
class FleetCache extends BaseCache {
  constructor(private readonly fleet: RedisFleet) {
    super();
  }

  get(key: string): Promise<unknown> {
    return this.fleet.read(key, (warning) => this.relay(warning));
  }

  set(key: string, value: unknown): Promise<void> {
    return this.mset({ [key]: value });
  }

  override mset(entries: Record<string, unknown>): Promise<void> {
    return this.fleet.write(entries);
  }

  /** The fleet closes its connections itself (`leave`). */
  destroy(): void {}

  relay(warning: CacheWarning): void {
    if (!this.reportWarning(warning)) process.emitWarning(warning.message, 'CacheWarning');
  }
}
