/**
 * The seam between a client and a fleet coordinator (such as `RedisFleet` from
 * `switchyard-flags/redis`): instances that share a store elect one leader, which alone
 * fetches flags from Unleash; the others take the leader's flags from the store.
 *
 * The client knows nothing of the store: it hands the coordinator a `FleetHost` (pause or
 * resume its own updates, take flags the fleet delivers) and asks it for a `FleetStatus`.
 */
import type { BaseCache } from '../cache/base-cache';

/**
 * What an instance does in its fleet now:
 *
 * - `leader`: holds the fleet's lock; fetches flags from Unleash and writes them for the others;
 * - `follower`: fetches nothing from Unleash; takes the leader's flags from the fleet's store;
 * - `standalone`: the store is unreachable (or not joined yet): fetches flags from Unleash
 *   itself, as a client without a fleet does, until the store answers again.
 *
 * @group Fleet
 */
export type FleetRole = 'leader' | 'follower' | 'standalone';

/**
 * An instance's view of its fleet, in `client.status().fleet`. A plain object, fresh on
 * every call.
 *
 * @group Fleet
 */
export interface FleetStatus {
  /** What this instance does now. */
  role: FleetRole;
  /** Since when it has had that role, in milliseconds since the epoch. */
  since: number;
  /**
   * The fleet's version of the flags this instance serves (opaque; a new one at each write
   * by a leader). Undefined when they did not come through the fleet: none yet, or fetched
   * by this instance itself while `standalone`.
   */
  version: string | undefined;
  /** When the leader wrote the flags of `version`, in milliseconds since the epoch. */
  writtenAt: number | undefined;
  /** Milliseconds since `writtenAt`. */
  ageMs: number | undefined;
  /** The last problem with the store or the fleet's data; undefined while there was none. */
  lastError:
    | {
        /** When it happened, in milliseconds since the epoch. */
        at: number;
        /** What went wrong; never holds a value read from the store or a credential. */
        message: string;
      }
    | undefined;
}

/**
 * What a client lets its fleet coordinator do. Given to `FleetCoordinator.join`.
 *
 * @group Fleet
 */
export interface FleetHost {
  /** Stops fetching from Unleash (the instance follows); a fetch in flight still completes. */
  pauseUpdates(): void;
  /**
   * Fetches from Unleash now and on the client's interval again (the instance leads, or is
   * on its own). With `fresh`, the next fetch sends no ETag and its answer is applied even
   * when it is the same body as before, so a new leader writes flags the fleet may lack.
   * Resolves once that fetch has settled.
   */
  resumeUpdates(fresh: boolean): Promise<void>;
  /**
   * Hands the client flags the fleet delivers (a full client-API body as parsed JSON, and
   * the ETag Unleash sent with it). The client validates the body with the same parser as a
   * server response and applies it (`source` becomes `fleet`). Returns false, and reports a
   * warning, when the body cannot be used: the client keeps the flags it serves.
   */
  receive(body: unknown, etag: string | undefined): boolean;
  /** Reports a problem of the fleet as a `warning` event (origin `fleet`). */
  warn(message: string): void;
}

/**
 * A fleet coordinator, given to the client as its `fleet` option. One coordinator serves
 * one client. `RedisFleet` (from `switchyard-flags/redis`) is the one that ships.
 *
 * @group Fleet
 */
export interface FleetCoordinator {
  /** The cache the client uses when its `cache` option is not set: the fleet's store. */
  readonly cache: BaseCache;
  /**
   * Called once by `client.start()`, after the cache was read: takes a role and drives the
   * client through `host` from then on. Resolves once the role is settled and, as leader or
   * standalone, the first fetch has settled, or as follower the fleet's flags were read.
   */
  join(host: FleetHost): Promise<void>;
  /**
   * Called once by `client.destroy()`, after the last cache write: gives up leadership and
   * closes what the coordinator holds open. Never rejects.
   */
  leave(): Promise<void>;
  /** The instance's view of its fleet. Never throws. */
  status(): FleetStatus;
}
