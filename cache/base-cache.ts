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
import { parseBootstrapBodyInSlices } from '../bootstrap/dict';
import { loadBootstrapFile } from '../bootstrap/file';
import { loadBootstrapUrl, type BootstrapUrlOptions } from '../bootstrap/url';

/**
 * Cache keys the client uses.
 *
 * @group Caches & bootstrap
 */
export const CacheKeys = {
  /** The last good full client-API body (`FeaturesPayload`). */
  FEATURES: 'features',
  /** The ETag the server sent with it. */
  ETAG: 'etag',
} as const;

/**
 * Options of the `bootstrapFrom*` seeders.
 *
 * @group Caches & bootstrap
 */
export interface BootstrapOptions {
  /**
   * Replace flags the cache already holds. Default `false`: a bootstrap seeds only an
   * empty cache, so it never overwrites the last good flags a persistent cache (such as
   * `FileCache`) kept from the server in an earlier run. Set `true` to make the bootstrap
   * body win anyway (the official SDKs' `bootstrapOverride`).
   */
  override?: boolean;
}

/**
 * A value, or a promise of it: cache methods may be synchronous or asynchronous.
 *
 * @group Caches & bootstrap
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The codes a `CacheWarning` carries (see `SwitchyardErrorCode`): `CACHE_CORRUPT`,
 * `CACHE_FOREIGN`, `CACHE_VERSION_UNSUPPORTED`, `CACHE_READ_FAILED` and `CACHE_WRITE_FAILED`.
 *
 * @group Errors
 */
export type CacheWarningCode = Extract<
  SwitchyardErrorCode,
  'CACHE_CORRUPT' | 'CACHE_FOREIGN' | 'CACHE_VERSION_UNSUPPORTED' | 'CACHE_READ_FAILED' | 'CACHE_WRITE_FAILED'
>;

/**
 * A problem a cache recovered from. It is a `SwitchyardError` so a client can emit it on
 * its error/warn channel with a stack, but it is never thrown.
 *
 * @group Errors
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

/**
 * Receives the problems a cache recovered from; see `BaseCache.onWarning`.
 *
 * @group Caches & bootstrap
 */
export type CacheWarningListener = (warning: CacheWarning) => void;

/**
 * The base class of every cache. Implement `get`, `set` and `destroy` (sync or async);
 * `exists`, `mset` and the `bootstrapFrom*` seeders come for free. The client stores the
 * last good full body under `CacheKeys.FEATURES` and its ETag under `CacheKeys.ETAG`.
 *
 * @group Caches & bootstrap
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
   * Seeds an empty cache with a client-API body (object or JSON text; a full body, or a
   * delta body applied to no flags), validated by the same parser as server responses.
   * Resolves `true` when the body was stored, `false` when the cache already held flags
   * (see `BootstrapOptions.override`). Rejects with a `BootstrapError` (`PAYLOAD_NOT_JSON`,
   * `PAYLOAD_INVALID`) when the body cannot be used; the cache is then left alone. Always
   * `await` it: the rejection is how a bad body is reported. JSON text or bytes of more
   * than 1 MiB are parsed in slices that let the event loop run in between (the same result).
   */
  async bootstrapFromDict(body: unknown, options?: BootstrapOptions): Promise<boolean> {
    // Large JSON text is parsed in slices: the same result, less garbage-collector work.
    const payload = (await parseBootstrapBodyInSlices(body)).payload;
    return seed(this, payload, options);
  }

  /**
   * Seeds an empty cache from a client-API body saved in a file (see `bootstrapFromDict`).
   * Rejects with a `BootstrapError` (`FILE_NOT_FOUND`, `FILE_UNREADABLE`,
   * `PAYLOAD_NOT_JSON`, `PAYLOAD_INVALID`). The file is read and checked even when the
   * cache holds flags, so a broken bootstrap file is noticed on every start.
   */
  async bootstrapFromFile(path: string, options?: BootstrapOptions): Promise<boolean> {
    const payload = (await loadBootstrapFile(path)).payload;
    return seed(this, payload, options);
  }

  /**
   * Seeds an empty cache from a client-API body fetched once from a URL (see
   * `bootstrapFromDict`). Rejects with a `BootstrapError` (`URL_INVALID`, `HTTP_STATUS`,
   * `HTTP_TIMEOUT`, `HTTP_NETWORK`, `PAYLOAD_NOT_JSON`, `PAYLOAD_INVALID`); its message
   * never contains a header value. The body is fetched and checked even when the cache
   * holds flags, so a broken source is noticed on every start.
   */
  async bootstrapFromUrl(url: string | URL, options?: BootstrapUrlOptions & BootstrapOptions): Promise<boolean> {
    // Fetched and checked even when the cache holds flags, like a file: a broken source is
    // noticed on every start (and the proxy is decided when the call is made).
    const payload = (await loadBootstrapUrl(url, options)).payload;
    return seed(this, payload, options);
  }
}

/** Whether the cache holds flags already. */
async function holdsFlags(cache: BaseCache): Promise<boolean> {
  const value = await cache.get(CacheKeys.FEATURES);
  return value !== undefined && value !== null;
}

/**
 * Stores a validated body as if the server had sent it, without an ETag (the first fetch
 * must not get a 304 for flags the server never sent this client), unless the cache
 * already holds flags and `override` is not set.
 */
async function seed(cache: BaseCache, payload: FeaturesPayload, options: BootstrapOptions | undefined): Promise<boolean> {
  if (options?.override !== true && (await holdsFlags(cache))) return false;
  await cache.mset({ [CacheKeys.FEATURES]: payload, [CacheKeys.ETAG]: undefined });
  cache.bootstrapped = true;
  return true;
}
