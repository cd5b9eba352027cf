/**
 * A switchyard cache in Redis, through ioredis (`npm install ioredis`).
 *
 * Why: with the default file cache each instance of a service keeps its own copy of the
 * flags. With a shared Redis, an instance that starts while Unleash is unreachable serves
 * the flags any other instance fetched last, even on a brand-new machine.
 *
 * A cache is three methods (get, set, destroy) over JSON values. `exists` and `mset` come
 * with BaseCache; `mset` is overridden here to write the flags and their ETag in one
 * transaction.
 */
import { Redis } from 'ioredis';
import { BaseCache } from '../../dist/index.js';

export class RedisCache extends BaseCache {
  /**
   * @param {object} options
   * @param {Redis | string} options.redis An ioredis client you already use (it stays
   *   open after `destroy()`), or a `redis://` URL (the cache opens and closes its own
   *   connection).
   * @param {string} [options.prefix] Put in front of every key. Instances share flags
   *   only when they fetch the same ones: give each app, environment and project (each
   *   client token) its own prefix.
   */
  constructor({ redis, prefix = 'switchyard:' }) {
    super();
    if (typeof redis === 'string') {
      // Fail a command after one reconnection attempt instead of queueing it for long:
      // the client then starts without the cache rather than waiting on it.
      this.redis = new Redis(redis, { maxRetriesPerRequest: 1 });
      // Connection errors also reject the commands, which the client reports as cache
      // errors; this listener only keeps ioredis from logging each retry a second time.
      this.redis.on('error', () => {});
      this.ownsConnection = true;
    } else if (typeof redis?.get === 'function' && typeof redis.multi === 'function') {
      this.redis = redis;
      this.ownsConnection = false;
    } else {
      throw new TypeError('RedisCache: "redis" must be an ioredis client or a redis:// URL');
    }
    this.prefix = prefix;
  }

  async get(key) {
    const text = await this.redis.get(this.prefix + key);
    if (text === null) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      // The client reports this and starts without the cache; do not quote the value.
      throw new Error(`RedisCache: the value of ${this.prefix + key} is not JSON`);
    }
  }

  async set(key, value) {
    await this.mset({ [key]: value });
  }

  /**
   * Writes all entries in one MULTI/EXEC transaction, so another instance never reads
   * new flags with an old ETag. `undefined` deletes the key.
   */
  async mset(entries) {
    const transaction = this.redis.multi();
    for (const [key, value] of Object.entries(entries)) {
      if (value === undefined) transaction.del(this.prefix + key);
      else transaction.set(this.prefix + key, JSON.stringify(value));
    }
    const results = await transaction.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async destroy() {
    if (!this.ownsConnection || this.redis.status === 'end') return;
    if (this.redis.status !== 'ready') {
      this.redis.disconnect(); // no live connection: just stop reconnecting
      return;
    }
    // quit() lets queued commands (a last cache write) finish first; resolve once the
    // connection is closed, not merely asked to close.
    const ended = new Promise((resolve) => this.redis.once('end', resolve));
    await this.redis.quit();
    await ended;
  }
}
