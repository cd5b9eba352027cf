/**
 * The contract a cache implements. A cache holds the last good flags (a full client-API
 * body) and the ETag that came with them, so a restarted client serves flags at once and
 * a client whose server is down keeps serving.
 *
 * To write your own, extend `BaseCache` and implement `get`, `set` and `destroy`; they may
 * be synchronous or return promises. Values are plain JSON-serialisable data.
 */
import type { FeaturesPayload } from '../lib/types';
import { SwitchyardError, type SwitchyardErrorCode } from '../lib/errors';
import { parseBootstrapBody } from '../bootstrap/dict';
import { loadBootstrapFile } from '../bootstrap/file';
import { loadBootstrapUrl, type BootstrapUrlOptions } from '../bootstrap/url';

/** Cache keys the client uses. */
export const CacheKeys = {
  /** The last good full client-API body (`FeaturesPayload`). */
  FEATURES: 'features',
  /** The ETag the server sent with it. */
  ETAG: 'etag',
} as const;

/** A value, or a promise of it: cache methods may be synchronous or asynchronous. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The codes a `CacheWarning` carries (see `SwitchyardErrorCode`): `CACHE_CORRUPT`,
 * `CACHE_FOREIGN`, `CACHE_VERSION_UNSUPPORTED`, `CACHE_READ_FAILED` and `CACHE_WRITE_FAILED`.
 */
export type CacheWarningCode = Extract<
  SwitchyardErrorCode,
  'CACHE_CORRUPT' | 'CACHE_FOREIGN' | 'CACHE_VERSION_UNSUPPORTED' | 'CACHE_READ_FAILED' | 'CACHE_WRITE_FAILED'
>;

/**
 * A problem a cache recovered from. It is a `SwitchyardError` so a client can emit it on
 * its error/warn channel with a stack, but it is never thrown.
 */
export class CacheWarning extends SwitchyardError {
  /** Always `CacheWarning`, so logs and `err.name` checks tell it from other errors. */
  override readonly name = 'CacheWarning';
  /** What went wrong, for handlers that branch on it. */
  declare readonly code: CacheWarningCode;

  constructor(
    code: CacheWarningCode,
    /** Where the problem is: the file of a `FileCache`; for your own cache, whatever names the store (never a credential). */
    readonly path: string,
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { cause });
  }
}

/** Receives the problems a cache recovered from; see `BaseCache.onWarning`. */
export type CacheWarningListener = (warning: CacheWarning) => void;

/**
 * The base class of every cache. Implement `get`, `set` and `destroy` (sync or async);
 * `exists`, `mset` and the `bootstrapFrom*` seeders come for free. The client stores the
 * last good full body under `CacheKeys.FEATURES` and its ETag under `CacheKeys.ETAG`.
 */
export abstract class BaseCache {
  /** True once flags were put into this cache by one of the `bootstrapFrom*` methods. */
  bootstrapped = false;
  // A native private field: a subclass's own fields can never collide with it.
  readonly #warningListeners = new Set<CacheWarningListener>();

  /** Returns the stored value, or `undefined` when there is none. */
  abstract get(key: string): MaybePromise<unknown>;
  /** Stores a JSON-serialisable value under `key`. */
  abstract set(key: string, value: unknown): MaybePromise<void>;
  /** Releases whatever the cache holds open (connections, timers). Idempotent. */
  abstract destroy(): MaybePromise<void>;

  /**
   * Whether a value is stored under `key`. The client never calls it; it is here for your
   * own start-up logic (bootstrap only when the cache is empty). The default reads the
   * value with `get`; override it when the store can answer without fetching the value.
   */
  exists(key: string): MaybePromise<boolean> {
    // Through a promise, so a `get` that throws rejects rather than throwing.
    return Promise.resolve()
      .then(() => this.get(key))
      .then((value) => value !== undefined);
  }

  /**
   * Subscribes to the problems this cache recovers from without failing (a corrupt file,
   * a failed write), each a `CacheWarning`; returns a function that removes the listener.
   * A client subscribes to the cache it uses and relays each problem as a `warning` event
   * (origin `cache`) until it is destroyed. A subclass reports problems with the protected
   * `reportWarning(warning)`.
   */
  onWarning(listener: CacheWarningListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('onWarning: the listener must be a function');
    // A wrapper per subscription, so subscribing the same function twice needs two removals.
    const wrapped: CacheWarningListener = (warning) => listener(warning);
    this.#warningListeners.add(wrapped);
    return () => {
      this.#warningListeners.delete(wrapped);
    };
  }

  /**
   * Delivers `warning` to every `onWarning` listener; a listener that throws is ignored.
   * Returns false when nobody listens, so the cache can report it another way
   * (`FileCache` then calls `process.emitWarning`) and a problem is never silent.
   */
  protected reportWarning(warning: CacheWarning): boolean {
    const listeners = [...this.#warningListeners];
    for (const listener of listeners) {
      try {
        listener(warning);
      } catch {
        // A broken listener must not break the cache that reports to it.
      }
    }
    return listeners.length > 0;
  }

  /** Stores several values at once. Override when the store can do it in one round trip. */
  async mset(entries: Record<string, unknown>): Promise<void> {
    for (const [key, value] of Object.entries(entries)) await this.set(key, value);
  }

  /**
   * Seeds the cache with a full client-API body (object or JSON text), validated by the
   * same parser as server responses. Throws `BootstrapError` (`PAYLOAD_NOT_JSON`,
   * `PAYLOAD_INVALID`) when the body cannot be used; the cache is then left alone.
   */
  async bootstrapFromDict(body: unknown): Promise<void> {
    await seed(this, parseBootstrapBody(body).payload);
  }

  /**
   * Seeds the cache from a client-API body saved in a file. Throws `BootstrapError`
   * (`FILE_NOT_FOUND`, `FILE_UNREADABLE`, `PAYLOAD_NOT_JSON`, `PAYLOAD_INVALID`).
   */
  async bootstrapFromFile(path: string): Promise<void> {
    await seed(this, (await loadBootstrapFile(path)).payload);
  }

  /**
   * Seeds the cache from a client-API body fetched once from a URL. Throws
   * `BootstrapError` (`URL_INVALID`, `HTTP_STATUS`, `HTTP_TIMEOUT`, `HTTP_NETWORK`,
   * `PAYLOAD_NOT_JSON`, `PAYLOAD_INVALID`); its message never contains a header value.
   */
  async bootstrapFromUrl(url: string | URL, options?: BootstrapUrlOptions): Promise<void> {
    await seed(this, (await loadBootstrapUrl(url, options)).payload);
  }
}

/**
 * Stores a validated body as if the server had sent it, without an ETag: the first fetch
 * must not get a 304 for flags the server never sent this client.
 */
async function seed(cache: BaseCache, payload: FeaturesPayload): Promise<void> {
  await cache.mset({ [CacheKeys.FEATURES]: payload, [CacheKeys.ETAG]: undefined });
  cache.bootstrapped = true;
}
