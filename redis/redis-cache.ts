/**
 * A cache in Redis: every instance of a service that shares a key prefix starts from the
 * last good flags any of them fetched, even on a new machine while Unleash is unreachable.
 */
import type { Redis } from 'ioredis';
import { BaseCache, CacheKeys, CacheWarning, markValidated, type FeaturesPayload } from '../lib/index';
import { parseClientPayloadInSlices, stringifyInSlices, yieldingControl } from '../lib/payload-slices';
import { cacheKey, checkMs, checkPrefix, closeConnection, openConnection, whenReady, type RedisSource } from './connection';

/**
 * Options of `RedisCache`.
 *
 * @group Redis
 */
export interface RedisCacheOptions {
  /** Where Redis is: a `redis://` URL, or an ioredis client to copy the settings of (see `RedisSource`). */
  redis: RedisSource;
  /**
   * Put in front of every key (`<prefix>features`, `<prefix>etag`). Default `switchyard:`.
   * Instances share flags only when they fetch the same ones: give each app, environment
   * and project (each client token) its own prefix.
   */
  prefix?: string;
  /**
   * Milliseconds a command may take before it fails (and the client goes on without the
   * cache). Default 2000; at least 50.
   */
  commandTimeout?: number;
}

/** Default milliseconds a Redis command may take. */
export const DEFAULT_COMMAND_TIMEOUT = 2_000;

/**
 * Reads a JSON value stored under `key`; undefined when there is none. A value that is not
 * JSON is reported through `report` (`CACHE_CORRUPT`, never quoting it) and read as none,
 * so it is never served. Rejects when Redis fails.
 */
export async function readJson(connection: Redis, prefix: string, key: string, report: (warning: CacheWarning) => void): Promise<unknown> {
  const text = await connection.get(cacheKey(prefix, key));
  return decodeJsonInSlices(text, prefix, key, report);
}

/** Stored flags longer than this (in UTF-16 units, about 1 MiB of text) are parsed in slices. */
export const SLICED_TEXT = 1024 * 1024;

/**
 * `decodeJson` that never holds the event loop for a large flag body (the rule of "Large
 * flag sets" in the README: 50,000 flags are tens of megabytes, a second of `JSON.parse`
 * and validation in one go). Flags (`features`) over `SLICED_TEXT` are parsed and
 * validated in slices, as a large server response is, and handed on as a body marked
 * valid, so the client does not validate them again in one go. Anything unusual (not
 * JSON, not a full body, flags that would be dropped with a warning) takes the
 * synchronous door, which reports it exactly as before.
 */
export async function decodeJsonInSlices(text: string | null, prefix: string, key: string, report: (warning: CacheWarning) => void): Promise<unknown> {
  if (text === null || key !== CacheKeys.FEATURES || text.length <= SLICED_TEXT) return decodeJson(text, prefix, key, report);
  let parsed;
  try {
    parsed = await parseClientPayloadInSlices(Buffer.from(text, 'utf8'), yieldingControl());
  } catch {
    return decodeJson(text, prefix, key, report);
  }
  const payload = parsed.payload;
  if (payload.kind !== 'full' || parsed.warnings.length > 0) return decodeJson(text, prefix, key, report);
  const body: FeaturesPayload = { version: payload.version, features: payload.features, segments: payload.segments };
  if (payload.query !== undefined) body.query = payload.query;
  if (payload.meta !== undefined) body.meta = payload.meta;
  return markValidated(body);
}

/**
 * `JSON.stringify(value)`, in slices for a large flag body (see `stringifyInSlices`), as
 * one string. Undefined for a value JSON cannot hold; throws where `JSON.stringify` throws.
 */
export async function encodeJson(value: unknown): Promise<string | undefined> {
  const pieces = await stringifyInSlices(value, yieldingControl());
  return pieces?.join('');
}

/** `readJson` for a value already read. */
export function decodeJson(text: string | null, prefix: string, key: string, report: (warning: CacheWarning) => void): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    const where = cacheKey(prefix, key);
    report(new CacheWarning('CACHE_CORRUPT', where, `the value of Redis key ${where} is not JSON (${text.length} bytes); it is ignored`, err));
    return undefined;
  }
}

/**
 * A cache in Redis, through ioredis (an optional peer dependency: `npm install ioredis`).
 * Values are JSON text under `<prefix><key>`; `mset` writes the flags and their ETag in one
 * MULTI/EXEC transaction, so no reader sees new flags with an old ETag.
 *
 * It opens its own connection (lazily, on the first read) and `destroy()` closes it. While
 * Redis is unreachable, reads and writes fail at once (the client reports them as `error`
 * events, origin `cache`, and goes on with the flags it has). A value that is not JSON is
 * reported as a `CacheWarning` (`CACHE_CORRUPT`) and read as absent: it is never served.
 *
 * ```ts
 * const client = new UnleashClient({ url, appName, cache: new RedisCache({ redis: 'redis://127.0.0.1:6379', prefix: 'checkout:production:' }) });
 * ```
 *
 * For one fetch per fleet rather than per instance, see `RedisFleet`.
 *
 * @group Redis
 */
export class RedisCache extends BaseCache {
  private readonly connection: Redis;
  private readonly prefix: string;
  private readonly commandTimeout: number;
  private destroyed = false;

  /** Throws `ConfigError` when an option is unusable; connects on first use. */
  constructor(options: RedisCacheOptions) {
    super();
    this.prefix = checkPrefix('prefix', options?.prefix);
    this.commandTimeout = checkMs('commandTimeout', options?.commandTimeout, DEFAULT_COMMAND_TIMEOUT, 50);
    this.connection = openConnection(options?.redis, 'redis', this.commandTimeout);
  }

  /**
   * Reads and parses the value under `key`; rejects when Redis fails. A read that
   * `destroy()` cut short finds nothing: Redis did not fail.
   */
  async get(key: string): Promise<unknown> {
    try {
      await whenReady(this.connection, this.commandTimeout);
      return await readJson(this.connection, this.prefix, key, (warning) => this.report(warning));
    } catch (err) {
      if (this.destroyed) return undefined;
      throw err;
    }
  }

  /** Stores `value` as JSON; `undefined` deletes the key. */
  async set(key: string, value: unknown): Promise<void> {
    await this.mset({ [key]: value });
  }

  /** Writes every entry in one MULTI/EXEC transaction; `undefined` deletes a key. */
  override async mset(entries: Record<string, unknown>): Promise<void> {
    if (this.destroyed) return;
    // Serialised first: a value that is not JSON fails the call before anything is written.
    const values: (readonly [string, string | undefined])[] = [];
    for (const [key, value] of Object.entries(entries)) values.push([cacheKey(this.prefix, key), value === undefined ? undefined : await encodeJson(value)]);
    await whenReady(this.connection, this.commandTimeout);
    const transaction = this.connection.multi();
    for (const [key, text] of values) {
      if (text === undefined) transaction.del(key);
      else transaction.set(key, text);
    }
    const results = await transaction.exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }

  /** Closes the connection (after queued commands). Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await closeConnection(this.connection);
  }

  private report(warning: CacheWarning): void {
    // A problem nobody listens to still reaches the process's warnings.
    if (!this.reportWarning(warning)) process.emitWarning(warning.message, 'CacheWarning');
  }
}
