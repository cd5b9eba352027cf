/**
 * The default cache: keeps the last good flags in process memory. It survives a server
 * outage, not a restart; use `FileCache` (or your own `BaseCache`) for that.
 */
import { BaseCache } from './base-cache';

/**
 * An in-process cache. Synchronous, never fails, holds no timer.
 *
 * @group Caches & bootstrap
 */
export class MemoryCache extends BaseCache {
  // Values are immutable JSON the client never mutates, so they are stored as given (no
  // clone) and never expire: a Map is all it takes (node-cache, used before, cost a fresh
  // process a module load for nothing more).
  private readonly store = new Map<string, unknown>();
  private destroyed = false;

  /** Returns the stored value, or `undefined`. */
  get(key: string): unknown {
    return this.store.get(key);
  }

  /** Stores `value`; storing `undefined` removes the key. */
  set(key: string, value: unknown): void {
    if (this.destroyed) return;
    if (value === undefined) this.store.delete(key);
    else this.store.set(key, value);
  }

  /** Whether a value is stored under `key`. Synchronous, unlike the default. */
  override exists(key: string): boolean {
    return this.store.has(key);
  }

  /** Drops every value; later writes are ignored. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.store.clear();
  }
}
