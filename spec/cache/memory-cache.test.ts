import { MemoryCache } from '../../cache/memory-cache';
import { checkedFeatures } from '../support/checked';
import type { FeatureDefinition } from '../../lib/types';
import { BaseCache, CacheKeys } from '../../cache/base-cache';
import { BootstrapError } from '../../bootstrap/dict';

const body = {
  version: 2,
  features: [{ name: 'checkout.new', enabled: true, strategies: [{ name: 'default' }] }],
  segments: [{ id: 1, constraints: [{ contextName: 'userId', operator: 'IN', values: ['a'] }] }],
};

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('MemoryCache', () => {
  test('is a BaseCache that starts empty', () => {
    const cache = new MemoryCache();
    expect(cache).toBeInstanceOf(BaseCache);
    expect(cache.get('features')).toBeUndefined();
    expect(cache.exists('features')).toBe(false);
    expect(cache.bootstrapped).toBe(false);
  });

  test('returns the very object stored (values are immutable, so no clone is made)', () => {
    const cache = new MemoryCache();
    const value = { version: 2, features: [] };
    cache.set('features', value);
    expect(cache.get('features')).toBe(value);
    expect(cache.exists('features')).toBe(true);
  });

  test('storing undefined removes the key', () => {
    const cache = new MemoryCache();
    cache.set('etag', '"abc"');
    cache.set('etag', undefined);
    expect(cache.exists('etag')).toBe(false);
    expect(cache.get('etag')).toBeUndefined();
  });

  test('keeps falsy values that are not undefined', () => {
    const cache = new MemoryCache();
    cache.set('a', 0);
    cache.set('b', '');
    cache.set('c', null);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([0, '', null]);
    expect(cache.exists('c')).toBe(true);
  });

  test('mset stores every entry', async () => {
    const cache = new MemoryCache();
    await cache.mset({ features: { version: 1, features: [] }, etag: 'W/"1"' });
    expect(cache.get('etag')).toBe('W/"1"');
    expect(cache.get('features')).toEqual({ version: 1, features: [] });
  });

  test('values never expire and no sweep timer is created', () => {
    const before = activeTimeouts();
    const cache = new MemoryCache();
    cache.set('features', {});
    expect(activeTimeouts()).toBe(before);
    cache.destroy();
  });

  test('bootstrapFromDict stores the validated body and clears the etag', async () => {
    const cache = new MemoryCache();
    cache.set(CacheKeys.ETAG, '"stale"');
    await cache.bootstrapFromDict(body);
    expect(cache.bootstrapped).toBe(true);
    expect(cache.exists(CacheKeys.ETAG)).toBe(false);
    const stored = cache.get(CacheKeys.FEATURES) as { version: number; features: Array<Record<string, unknown>> };
    expect(stored.version).toBe(2);
    // No `kind` tag leaked; each flag deferred, checking to the normalised definition.
    expect(stored).not.toHaveProperty('kind');
    expect(checkedFeatures(stored.features as unknown as FeatureDefinition[])[0]).toMatchObject({ name: 'checkout.new', enabled: true, variants: [], dependencies: [] });
  });

  test.each([
    ['a non-object', 42, 'PAYLOAD_INVALID'],
    ['null', null, 'PAYLOAD_INVALID'],
    ['a string that is not JSON', 'not json', 'PAYLOAD_NOT_JSON'],
    ['JSON text of a string', '"flags"', 'PAYLOAD_INVALID'],
    ['a body with no features array', { flags: [] }, 'PAYLOAD_INVALID'],
    ['a delta body without a hydration', { events: [] }, 'PAYLOAD_INVALID'],
  ])('bootstrapFromDict refuses %s with a BootstrapError and leaves the cache alone', async (_, input, code) => {
    const cache = new MemoryCache();
    cache.set(CacheKeys.ETAG, '"kept"');
    const err: unknown = await cache.bootstrapFromDict(input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BootstrapError);
    expect(err).toMatchObject({ code, location: 'dict' });
    expect(cache.bootstrapped).toBe(false);
    expect(cache.exists(CacheKeys.FEATURES)).toBe(false);
    expect(cache.get(CacheKeys.ETAG)).toBe('"kept"');
  });

  test('destroy is idempotent and later writes are ignored', () => {
    const cache = new MemoryCache();
    cache.set('etag', '"1"');
    cache.destroy();
    expect(() => cache.destroy()).not.toThrow();
    cache.set('etag', '"2"');
    expect(cache.exists('etag')).toBe(false);
  });
});
