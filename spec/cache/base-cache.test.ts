/**
 * The `BaseCache` contract: what a subclass gets for free (`exists`, `mset`, the
 * `bootstrapFrom*` seeders, the `onWarning` seam) on top of the three methods it implements.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapError } from '../../bootstrap/dict';
import { BaseCache, CacheKeys, CacheWarning } from '../../cache/base-cache';
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { SwitchyardError } from '../../lib/errors';
import type { UnleashEvent } from '../../lib/events';
import { TestServer } from '../support/test-server';

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-base-cache-'));
  server = await TestServer.start();
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the bootstrap to fail');
    },
    (err: unknown) => err,
  );
}

describe('a bad body fails the same way whether it comes from a dict, a file or a URL', () => {
  test.each([
    ['text that is not JSON', '{"features": [', 'PAYLOAD_NOT_JSON'],
    ['a JSON string', '"flags"', 'PAYLOAD_INVALID'],
    ['a JSON string holding a body', JSON.stringify(JSON.stringify({ features: [] })), 'PAYLOAD_INVALID'],
    ['a JSON number', '42', 'PAYLOAD_INVALID'],
    ['a JSON array', '[{"name": "a"}]', 'PAYLOAD_INVALID'],
    ['a body with no features array', '{"version": 2, "flags": []}', 'PAYLOAD_INVALID'],
    ['features that is not an array', '{"features": {"a": true}}', 'PAYLOAD_INVALID'],
    ['a delta body without a hydration', '{"events": []}', 'PAYLOAD_INVALID'],
  ])('%s: %s', async (name, text, code) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    await writeFile(file, text);
    const path = `/${name.replace(/\W+/g, '-')}.json`;
    server.setDefault('GET', path, { body: text, headers: { 'content-type': 'application/json' } });
    const url = `${server.origin}${path}`;

    const cache = new MemoryCache();
    const failures = [
      await rejection(cache.bootstrapFromDict(text)),
      await rejection(cache.bootstrapFromFile(file)),
      await rejection(cache.bootstrapFromUrl(url)),
    ];
    for (const err of failures) {
      expect(err).toBeInstanceOf(BootstrapError);
      expect(err).toBeInstanceOf(SwitchyardError);
      expect((err as BootstrapError).code).toBe(code);
    }
    expect(failures.map((err) => (err as BootstrapError).location)).toEqual(['dict', file, url]);
    expect(cache.bootstrapped).toBe(false);
    expect(cache.exists(CacheKeys.FEATURES)).toBe(false);
  });
});

test('a good body seeds the same flags from a dict, a file or a URL, and clears the ETag', async () => {
  const text = JSON.stringify({ version: 2, features: [{ name: 'same', enabled: true, strategies: [{ name: 'default' }] }] });
  const file = join(dir, 'good.json');
  await writeFile(file, text);
  server.setDefault('GET', '/good.json', { body: text });
  const seeded: unknown[] = [];
  for (const bootstrap of [
    (c: MemoryCache) => c.bootstrapFromDict(JSON.parse(text)),
    (c: MemoryCache) => c.bootstrapFromFile(file),
    (c: MemoryCache) => c.bootstrapFromUrl(`${server.origin}/good.json`),
  ]) {
    const cache = new MemoryCache();
    cache.set(CacheKeys.ETAG, '"old"');
    await bootstrap(cache);
    expect(cache.bootstrapped).toBe(true);
    expect(cache.exists(CacheKeys.ETAG)).toBe(false);
    seeded.push(cache.get(CacheKeys.FEATURES));
  }
  expect(seeded[1]).toEqual(seeded[0]);
  expect(seeded[2]).toEqual(seeded[0]);
  expect(seeded[0]).toMatchObject({ version: 2, features: [{ name: 'same', enabled: true }], segments: [] });
});

/** A user cache as small as the contract allows: get, set and destroy, synchronous. */
class MapCache extends BaseCache {
  readonly values = new Map<string, unknown>();
  get(key: string): unknown {
    return this.values.get(key);
  }
  set(key: string, value: unknown): void {
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
  }
  destroy(): void {
    this.values.clear();
  }
}

/** The same, answering through promises, as a networked store would. */
class AsyncMapCache extends MapCache {
  override get(key: string): Promise<unknown> {
    return Promise.resolve(super.get(key));
  }
  override set(key: string, value: unknown): Promise<void> {
    return Promise.resolve(super.set(key, value));
  }
}

describe('a cache implementing only get, set and destroy', () => {
  test.each([
    ['synchronous', () => new MapCache()],
    ['asynchronous', () => new AsyncMapCache()],
  ])('%s: exists is derived from get, and falsy values count as stored', async (_, make) => {
    const cache = make();
    expect(await cache.exists('etag')).toBe(false);
    await cache.set('etag', '');
    expect(await cache.exists('etag')).toBe(true);
    await cache.set('etag', undefined);
    expect(await cache.exists('etag')).toBe(false);
    await cache.mset({ a: 0, b: null });
    expect([await cache.exists('a'), await cache.exists('b')]).toEqual([true, true]);
  });

  test('exists rejects, rather than throws, when get throws', async () => {
    const cache = new MapCache();
    const broken = new Error('store is down');
    cache.get = () => {
      throw broken;
    };
    const answer = cache.exists('features');
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).rejects.toBe(broken);
  });

  test('is bootstrapped and serves a client', async () => {
    const cache = new AsyncMapCache();
    await cache.bootstrapFromDict({ version: 2, features: [{ name: 'minimal', enabled: true, strategies: [{ name: 'default' }] }] });
    expect(await cache.exists(CacheKeys.FEATURES)).toBe(true);
    const client = new UnleashClient({ appName: 'minimal-cache', offline: true, cache });
    try {
      await client.start();
      expect(client.isEnabled('minimal')).toBe(true);
      expect(client.isEnabled('unknown')).toBe(false);
    } finally {
      await client.destroy();
    }
    // The cache is the caller's: the client does not destroy it.
    expect(cache.values.size).toBeGreaterThan(0);
  });
});

describe('the onWarning seam: problems a cache recovered from', () => {
  /** A store that finds an unreadable value and says so, as a user's cache would. */
  class ReportingCache extends MapCache {
    override get(key: string): unknown {
      const value = super.get(key);
      if (value !== 'garbled') return value;
      // Names the key, never the value.
      this.reportWarning(new CacheWarning('CACHE_CORRUPT', `redis:${key}`, `the value under "${key}" is not JSON; ignored`));
      return undefined;
    }
    report(message: string): boolean {
      return this.reportWarning(new CacheWarning('CACHE_READ_FAILED', 'store', message));
    }
  }

  test('every listener hears each warning until it unsubscribes; a throwing listener is ignored', () => {
    const cache = new ReportingCache();
    const heard: string[] = [];
    const offA = cache.onWarning((w) => heard.push(`a:${w.code}`));
    cache.onWarning(() => {
      throw new Error('listener bug');
    });
    const offC = cache.onWarning((w) => heard.push(`c:${w.path}`));
    cache.set('features', 'garbled');
    expect(cache.get('features')).toBeUndefined();
    expect(heard).toEqual(['a:CACHE_CORRUPT', 'c:redis:features']);
    offA();
    offA(); // idempotent
    offC();
    expect(cache.report('x')).toBe(true); // the throwing listener is still subscribed
    expect(heard).toHaveLength(2);
  });

  test('reportWarning answers false when nobody listens, so the cache can report another way', () => {
    const cache = new ReportingCache();
    expect(cache.report('unheard')).toBe(false);
    const off = cache.onWarning(() => undefined);
    expect(cache.report('heard')).toBe(true);
    off();
    expect(cache.report('unheard again')).toBe(false);
  });

  test('the same function subscribed twice is called twice and needs two removals', () => {
    const cache = new ReportingCache();
    const heard: string[] = [];
    const listener = (w: CacheWarning): void => void heard.push(w.message);
    const first = cache.onWarning(listener);
    cache.onWarning(listener);
    cache.report('one');
    first();
    cache.report('two');
    expect(heard).toEqual(['one', 'one', 'two']);
  });

  test('a listener must be a function', () => {
    expect(() => new MapCache().onWarning('log' as never)).toThrow(TypeError);
  });

  test('a client relays its cache’s warnings as warning events (origin cache) and stops at destroy', async () => {
    const cache = new ReportingCache();
    await cache.bootstrapFromDict({ version: 2, features: [{ name: 'a', enabled: true }] });
    const events: UnleashEvent[] = [];
    const client = new UnleashClient({ appName: 'relay', offline: true, cache, eventCallback: (e) => events.push(e) });
    await client.start();
    cache.set('etag', 'garbled');
    cache.get('etag');
    expect(events.filter((e) => e.type === 'warning')).toEqual([
      { type: 'warning', origin: 'cache', message: 'the value under "etag" is not JSON; ignored' },
    ]);
    await client.destroy();
    expect(cache.report('after destroy')).toBe(false);
  });
});
