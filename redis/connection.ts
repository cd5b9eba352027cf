/**
 * The Redis connections `RedisCache` and `RedisFleet` open: their own, never the caller's,
 * so that their options hold whatever the caller's client was set up with. A command fails
 * at once while Redis is unreachable (no offline queue) or after `commandTimeout`, rather
 * than waiting for a reconnection: an instance must notice an outage and go on alone.
 * Reconnection goes on in the background, forever, at most a second apart.
 */
import { Redis, type RedisOptions } from 'ioredis';
// The package's own entry, not a copy of its modules: `err instanceof ConfigError` holds for
// errors thrown here (tsup.config.ts keeps this import external).
import { ConfigError } from '../lib/index';

/**
 * Where to reach Redis: a `redis://` or `rediss://` URL, or an ioredis client whose
 * options (host, port, password, TLS, Sentinel) are copied with `duplicate()`. The client
 * you pass is never used itself, nor closed.
 *
 * @group Redis
 */
export type RedisSource = Redis | string;

/** The most milliseconds between two reconnection attempts. */
const MAX_RECONNECT_DELAY = 1_000;

/** Opens (lazily: nothing happens before the first command) a connection of our own. */
export function openConnection(source: RedisSource, option: string, commandTimeout: number, subscriber = false): Redis {
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: Math.max(commandTimeout, 1_000),
    retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY),
    // A subscriber queues its SUBSCRIBE until Redis is there, and renews it on every
    // reconnection; a command connection fails fast instead.
    enableOfflineQueue: subscriber,
    maxRetriesPerRequest: subscriber ? null : 1,
    ...(subscriber ? {} : { commandTimeout }),
    autoResubscribe: true,
  };
  let connection: Redis;
  if (typeof source === 'string') {
    if (!/^rediss?:\/\//i.test(source)) {
      throw new ConfigError(option, `${option} must be a redis:// or rediss:// URL or an ioredis client`);
    }
    connection = new Redis(source, options);
  } else if (source !== null && typeof source === 'object' && typeof (source as Redis).duplicate === 'function') {
    connection = source.duplicate(options);
  } else {
    throw new ConfigError(option, `${option} must be a redis:// or rediss:// URL or an ioredis client`);
  }
  // Failures reach the caller through the commands that fail; without a listener ioredis
  // would also print every reconnection attempt.
  connection.on('error', () => undefined);
  return connection;
}

/**
 * Resolves once the connection is ready. Connects a lazy one and waits up to `timeout` for
 * a first attempt in progress; rejects at once when Redis was unreachable already.
 */
export async function whenReady(connection: Redis, timeout: number): Promise<void> {
  if (connection.status === 'ready') return;
  if (connection.status === 'wait') connection.connect().catch(() => undefined);
  else if (connection.status !== 'connecting' && connection.status !== 'connect') {
    throw new Error(`Redis is unreachable (the connection is ${connection.status})`);
  }
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      connection.off('close', onClose);
      connection.off('end', onClose);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onReady = (): void => done();
    const onClose = (): void => done(new Error('Redis is unreachable (the connection closed)'));
    const timer = setTimeout(() => done(new Error(`Redis is unreachable (no connection within ${timeout} ms)`)), timeout);
    timer.unref();
    connection.on('ready', onReady);
    connection.on('close', onClose);
    // disconnect() while connecting ends the connection without a 'close'.
    connection.on('end', onClose);
  });
}

/** Closes a connection we opened: waits for queued commands when it is up, else just stops reconnecting. */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}

/** The Redis key of a cache key (`features`, `etag`) under `prefix`. */
export function cacheKey(prefix: string, key: string): string {
  return `${prefix}${key}`;
}

/** A description of a failure for messages: never a value or a credential. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : String(err).slice(0, 200);
}

/** Checks a key prefix option. */
export function checkPrefix(option: string, prefix: unknown): string {
  if (prefix === undefined) return 'switchyard:';
  if (typeof prefix !== 'string' || prefix === '') throw new ConfigError(option, `${option} must be a non-empty string`);
  return prefix;
}

/** Checks a positive number of milliseconds. */
export function checkMs(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new ConfigError(option, `${option} must be a number of milliseconds, at least ${min}`);
  }
  return Math.round(value);
}
