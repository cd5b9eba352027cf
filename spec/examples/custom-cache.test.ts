/**
 * examples/custom-cache: a `BaseCache` in Redis through ioredis, tested against a real
 * redis-server on 127.0.0.1 that the setup installs (Debian package) and starts. Without
 * Redis this suite fails with the reason; it never skips.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { Engine } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';
import { requireDist, root, runExample } from '../support/example-process';
import { startRedis, type RedisServer } from '../support/redis';
import { TestServer } from '../support/test-server';

/** The shape of examples/custom-cache/redis-cache.mjs (plain JavaScript, so typed here). */
interface RedisCacheInstance {
  readonly redis: Redis;
  readonly prefix: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  exists(key: string): Promise<boolean>;
  mset(entries: Record<string, unknown>): Promise<void>;
  destroy(): Promise<void>;
  bootstrapFromDict(body: unknown): Promise<boolean>;
}
type RedisCacheClass = new (options: { redis: Redis | string; prefix?: string }) => RedisCacheInstance;

const SCRIPT = 'examples/custom-cache/index.mjs';
const PREFIX = 'switchyard:switchyard-custom-cache-example:';
const flagsText = readFileSync(join(root, 'examples', 'flags.json'), 'utf8');
const flagsBody: unknown = JSON.parse(flagsText);

let redisServer: RedisServer;
let admin: Redis;
let RedisCache: RedisCacheClass;

beforeAll(async () => {
  requireDist();
  // Installing redis-server on a clean machine takes a while; starting it, a moment.
  redisServer = await startRedis();
  admin = new Redis(redisServer.url);
  ({ RedisCache } = (await import(pathToFileURL(join(root, 'examples', 'custom-cache', 'redis-cache.mjs')).href)) as {
    RedisCache: RedisCacheClass;
  });
}, 600_000);

afterAll(async () => {
  await admin?.quit();
  await redisServer?.stop();
});

beforeEach(async () => {
  await admin.flushall();
});

describe('RedisCache', () => {
  test('stores JSON under its prefix; undefined deletes; prefixes do not see each other', async () => {
    const cache = new RedisCache({ redis: redisServer.url, prefix: 'app-a:' });
    const other = new RedisCache({ redis: redisServer.url, prefix: 'app-b:' });
    try {
      expect(await cache.exists('features')).toBe(false);
      expect(await cache.get('features')).toBeUndefined();

      const features = { version: 2, features: [{ name: 'f', enabled: true }], segments: [] };
      await cache.mset({ features, etag: '"e1"' });
      expect(await admin.get('app-a:features')).toBe(JSON.stringify(features));
      expect(await cache.get('features')).toEqual(features);
      expect(await cache.get('etag')).toBe('"e1"');
      expect(await cache.exists('etag')).toBe(true);
      expect(await other.get('features')).toBeUndefined();

      await cache.set('etag', undefined);
      expect(await admin.exists('app-a:etag')).toBe(0);
      expect(await cache.exists('etag')).toBe(false);
      expect(await cache.get('features')).toEqual(features);
    } finally {
      await cache.destroy();
      await other.destroy();
    }
  });

  test('bootstrapFromDict works through it like through any BaseCache', async () => {
    const cache = new RedisCache({ redis: redisServer.url, prefix: 'boot:' });
    try {
      await cache.bootstrapFromDict(flagsText);
      const stored = JSON.parse((await admin.get('boot:features'))!) as { features: Array<{ name: string }> };
      expect(stored.features).toHaveLength(7);
      expect(await admin.exists('boot:etag')).toBe(0);
    } finally {
      await cache.destroy();
    }
  });

  test('a stored value that is not JSON is an error naming the key, never quoting the value', async () => {
    await admin.set('bad:features', '{"token": "secret-value"');
    const cache = new RedisCache({ redis: redisServer.url, prefix: 'bad:' });
    try {
      const error = await cache.get('features').then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(error?.message).toBe('RedisCache: the value of bad:features is not JSON');
    } finally {
      await cache.destroy();
    }
  });

  test('destroy closes a connection it opened, once, and leaves a borrowed one open', async () => {
    const owned = new RedisCache({ redis: redisServer.url });
    await owned.set('k', 1);
    await owned.destroy();
    expect(owned.redis.status).toBe('end');
    await owned.destroy();

    const borrowed = new Redis(redisServer.url);
    try {
      const cache = new RedisCache({ redis: borrowed, prefix: 'borrowed:' });
      await cache.set('k', { n: 1 });
      await cache.destroy();
      expect(await borrowed.get('borrowed:k')).toBe('{"n":1}');
    } finally {
      await borrowed.quit();
    }
  });

  test('anything but an ioredis client or a URL is refused at construction', () => {
    expect(() => new RedisCache({ redis: {} as Redis })).toThrow(TypeError);
  });

  test('with Redis down, a command fails instead of hanging, and destroy still resolves', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve)); // now nothing listens there
    const cache = new RedisCache({ redis: `redis://127.0.0.1:${port}` });
    await expect(cache.get('features')).rejects.toThrow();
    await cache.destroy();
  });
});

describe('examples/custom-cache/index.mjs', () => {
  let unleash: TestServer;

  beforeAll(async () => {
    unleash = await TestServer.start();
    unleash.serveFeatures(flagsBody, '"redis-example:1"');
  });
  afterAll(async () => {
    await unleash?.close();
  });

  /** The lines instance B must print for alice, as the engine evaluates examples/flags.json. */
  function expectedLines(): string[] {
    const { payload } = parseClientPayload(flagsText);
    if (payload.kind !== 'full') throw new Error('examples/flags.json must be a full body');
    const snapshot = new Engine().load(payload);
    const context = { userId: 'alice', properties: { country: 'NO', appVersion: '2.1.0' } };
    return payload.features.map(({ name }) => {
      const flag = snapshot.get(name)!;
      const variant = flag.getVariant(context);
      return `[B] ${name}: ${flag.isEnabled(context) ? 'on' : 'off'}${variant.enabled ? ` (variant ${variant.name})` : ''}`;
    });
  }

  test('an empty Redis: instance B says so and exits 1', async () => {
    const run = await runExample(SCRIPT, { REDIS_URL: redisServer.url, UNLEASH_URL: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('[B] Redis holds no flags yet: run once with UNLEASH_URL set');
    expect(run.stdout).not.toContain('[B] welcome-banner');
  }, 30_000);

  test('instance A fetches and stores the flags; offline instance B serves them from Redis', async () => {
    const run = await runExample(SCRIPT, { REDIS_URL: redisServer.url, UNLEASH_URL: unleash.url, UNLEASH_API_TOKEN: 'redis-example-token' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(unleash.requestsTo('/api/client/features', 'GET').at(-1)!.headers.authorization).toBe('redis-example-token');
    expect(run.stdout.split('\n').filter((line) => line !== '')).toEqual([
      `[A] fetched 7 flags from Unleash and stored them in Redis under ${PREFIX}*`,
      '[B] offline, serving flags from the cache',
      ...expectedLines(),
    ]);
    // What the client wrote: the full body and its ETag, as JSON.
    expect(JSON.parse((await admin.get(`${PREFIX}etag`))!)).toBe('"redis-example:1"');
    const stored = JSON.parse((await admin.get(`${PREFIX}features`))!) as { features: Array<{ name: string }> };
    expect(stored.features.map((f) => f.name)).toEqual(expectedLines().map((line) => /^\[B\] ([^:]+):/.exec(line)![1]));

    // A later process, with no server at all, serves the same flags from Redis.
    const later = await runExample(SCRIPT, { REDIS_URL: redisServer.url, UNLEASH_URL: undefined });
    expect(later.stderr).toBe('');
    expect(later.code).toBe(0);
    expect(later.stdout.split('\n').filter((line) => line !== '')).toEqual([
      '[B] offline, serving flags from the cache',
      ...expectedLines(),
    ]);
  }, 30_000);
});
