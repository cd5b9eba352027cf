/**
 * Fleet mode in one process: several clients share one real Redis (spec/support/redis.ts)
 * and one loopback Unleash stub that records who asks for flags. The clock is real (Redis
 * expires the lock on its own), so tests wait for a state with a generous bound and never
 * assert on how long something took.
 */
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { UnleashClient } from '../../lib/client';
import { ConfigError } from '../../lib/options';
import type { UnleashEvent } from '../../lib/events';
import { RedisCache, RedisFleet } from '../../redis/index';
import { SLICED_TEXT } from '../../redis/redis-cache';
import { startRedis, type RedisServer } from '../support/redis';
import { TestServer, type RecordedRequest } from '../support/test-server';

const FEATURES = '/api/client/features';
const LOCK_TTL = 1_500;

let redis: RedisServer;
let admin: Redis;
let server: TestServer;
let prefixSeq = 0;
const clients: UnleashClient[] = [];

function body(enabled: boolean, extra = 'a'): unknown {
  return { version: 2, features: [{ name: extra, enabled, strategies: [{ name: 'default', parameters: {} }] }] };
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined);
  server = await TestServer.start();
}, 600_000);

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

afterAll(async () => {
  admin?.disconnect();
  await server?.close();
  await redis?.stop();
});

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Member {
  client: UnleashClient;
  events: UnleashEvent[];
}

function member(prefix: string, options: { lockTtl?: number; url?: string; checkInterval?: number } = {}): Member {
  const events: UnleashEvent[] = [];
  const client = new UnleashClient({
    url: `${server.origin}/api`,
    appName: 'fleet-test',
    refreshInterval: 1_000,
    disableMetrics: true,
    eventCallback: (event) => events.push(event),
    fleet: new RedisFleet({ redis: options.url ?? redis.url, prefix, lockTtl: options.lockTtl ?? LOCK_TTL, checkInterval: options.checkInterval }),
  });
  clients.push(client);
  return { client, events };
}

const role = (m: Member): string | undefined => m.client.status().fleet?.role;
const fetchesBy = (m: Member, since = 0): RecordedRequest[] =>
  server.requestsTo(FEATURES).slice(since).filter((r) => r.headers['unleash-connection-id'] === m.client.connectionId);

function newPrefix(): string {
  prefixSeq += 1;
  return `fleet-test-${process.pid}-${prefixSeq}:`;
}

describe('RedisFleet, several clients in one process', () => {
  test('one leader fetches; the followers fetch nothing and serve its flags, and its changes', async () => {
    server.serveFeatures(body(true), '"v1"');
    const prefix = newPrefix();
    const members = [member(prefix), member(prefix), member(prefix)];
    await Promise.all(members.map((m) => m.client.start()));
    await waitUntil('one leads and two follow', () => members.filter((m) => role(m) === 'leader').length === 1 && members.filter((m) => role(m) === 'follower').length === 2);
    const leader = members.find((m) => role(m) === 'leader')!;
    const followers = members.filter((m) => m !== leader);
    await waitUntil('every member has the flags', () => members.every((m) => m.client.isEnabled('a')));
    const start = server.requestsTo(FEATURES).length;

    server.serveFeatures(body(false), '"v2"');
    await waitUntil('every member serves the change', () => members.every((m) => !m.client.isEnabled('a')));
    for (const f of followers) {
      expect(f.client.status()).toMatchObject({ source: 'fleet', etag: '"v2"', fleet: { role: 'follower', lastError: undefined } });
      expect(f.events.some((e) => e.type === 'fetched')).toBe(true);
      expect(fetchesBy(f)).toEqual([]);
    }
    expect(fetchesBy(leader, start).length).toBeGreaterThan(0);
    expect(server.requestsTo(FEATURES).slice(start).every((r) => r.headers['unleash-connection-id'] === leader.client.connectionId)).toBe(true);
    // The leader's version is the one its followers serve.
    const version = leader.client.status().fleet!.version;
    expect(version).toMatch(/^\d+-[0-9a-f]{8}$/);
    for (const f of followers) expect(f.client.status().fleet!.version).toBe(version);
    expect(JSON.parse((await admin.get(`${prefix}etag`))!)).toBe('"v2"');
  }, 60_000);

  test('a leader that leaves frees the lock: a follower leads and fetches, the other follows it', async () => {
    server.serveFeatures(body(true), '"w1"');
    const prefix = newPrefix();
    const members = [member(prefix), member(prefix), member(prefix)];
    await Promise.all(members.map((m) => m.client.start()));
    await waitUntil('one leads', () => members.filter((m) => role(m) === 'leader').length === 1 && members.filter((m) => role(m) === 'follower').length === 2);
    const leader = members.find((m) => role(m) === 'leader')!;
    const token = await admin.get(`${prefix}fleet:leader`);
    expect(token).not.toBeNull();
    await leader.client.destroy();
    // Deleted on leaving (a follower may have taken it at once since).
    expect(await admin.get(`${prefix}fleet:leader`)).not.toBe(token);
    const rest = members.filter((m) => m !== leader);
    await waitUntil('a follower leads', () => rest.filter((m) => role(m) === 'leader').length === 1 && rest.filter((m) => role(m) === 'follower').length === 1);
    const next = rest.find((m) => role(m) === 'leader')!;
    const since = server.requestsTo(FEATURES).length;
    server.serveFeatures(body(false), '"w2"');
    await waitUntil('both serve the change', () => rest.every((m) => !m.client.isEnabled('a')));
    expect(server.requestsTo(FEATURES).slice(since).every((r) => r.headers['unleash-connection-id'] === next.client.connectionId)).toBe(true);
  }, 60_000);

  test('a leader that stops renewing loses the lock when it expires, and a follower takes over', async () => {
    server.serveFeatures(body(true), '"x1"');
    const prefix = newPrefix();
    const members = [member(prefix), member(prefix)];
    await Promise.all(members.map((m) => m.client.start()));
    await waitUntil('one leads', () => members.filter((m) => role(m) === 'leader').length === 1 && members.filter((m) => role(m) === 'follower').length === 1);
    const leader = members.find((m) => role(m) === 'leader')!;
    const follower = members.find((m) => m !== leader)!;
    // A frozen leader: its lock now belongs to nobody alive, and expires on its own.
    await admin.set(`${prefix}fleet:leader`, 'a-dead-instance', 'PX', LOCK_TTL);
    await waitUntil('someone leads again', async () => (await admin.get(`${prefix}fleet:leader`)) !== 'a-dead-instance' && members.some((m) => role(m) === 'leader'));
    // Exactly one leads; the one that lost the lock follows (it noticed at its renewal).
    await waitUntil('one leader and one follower', () => [leader, follower].filter((m) => role(m) === 'leader').length === 1 && [leader, follower].filter((m) => role(m) === 'follower').length === 1);
  }, 60_000);

  test('a leader whose lock was taken writes nothing (the write checks the lock) and follows', async () => {
    server.serveFeatures(body(true), '"z1"');
    const prefix = newPrefix();
    const fleet = new RedisFleet({ redis: redis.url, prefix, lockTtl: 60_000 });
    const client = new UnleashClient({ url: `${server.origin}/api`, appName: 'fencing', disableMetrics: true, fleet });
    clients.push(client);
    await client.start();
    await waitUntil('it leads and has written', async () => client.status().fleet?.role === 'leader' && (await admin.get(`${prefix}features`)) !== null);
    const before = await admin.get(`${prefix}features`);
    // Another instance holds the lock now (this one has not noticed: its next renewal is 20 s away).
    await admin.set(`${prefix}fleet:leader`, 'someone-else', 'PX', 60_000);
    await fleet.cache.mset({ features: { version: 2, features: [] }, etag: '"stale"' });
    expect(await admin.get(`${prefix}features`)).toBe(before);
    expect(JSON.parse((await admin.get(`${prefix}etag`))!)).toBe('"z1"');
    expect(client.status().fleet!.role).toBe('follower');
  }, 30_000);

  test('a leader deposed while frozen serves the new leader\'s flags at once, not at its next check (split brain)', async () => {
    server.serveFeatures(body(false), '"s1"');
    const prefix = newPrefix();
    // Checks a minute apart: only the loss of the lock can make the old leader load.
    const old = member(prefix, { checkInterval: 60_000 });
    await old.client.start();
    await waitUntil('it leads', () => role(old) === 'leader' && old.client.status().fleet?.version !== undefined);
    expect(old.client.isEnabled('a')).toBe(false);
    // While it was frozen past its lock's expiry, another instance took the lock and wrote
    // newer flags; the change message reached it while it still believed it led.
    await admin.set(`${prefix}fleet:leader`, 'the-new-leader', 'PX', 60_000);
    await admin.set(`${prefix}features`, JSON.stringify(body(true)));
    await admin.set(`${prefix}etag`, JSON.stringify('"s2"'));
    await admin.hset(`${prefix}fleet:meta`, 'version', '99-newleader', 'at', String(Date.now()));
    await admin.publish(`${prefix}fleet:changes`, 'v:99-newleader');
    await waitUntil('it follows and serves the new leader\'s flags', () => role(old) === 'follower' && old.client.isEnabled('a'));
    expect(old.client.status().fleet).toMatchObject({ role: 'follower', version: '99-newleader' });
  }, 60_000);

  test('a corrupt value in Redis is reported, never served, and the leader writes good flags over it', async () => {
    server.serveFeatures(body(true), '"c1"');
    const prefix = newPrefix();
    const members = [member(prefix), member(prefix)];
    await Promise.all(members.map((m) => m.client.start()));
    await waitUntil('one leads', () => members.filter((m) => role(m) === 'leader').length === 1 && members.filter((m) => role(m) === 'follower').length === 1);
    const follower = members.find((m) => role(m) === 'follower')!;
    await waitUntil('the follower serves the flags', () => follower.client.isEnabled('a'));
    const good = follower.client.status().fleet!.version;

    await admin.multi().set(`${prefix}features`, '{"features": [truncated').hset(`${prefix}fleet:meta`, 'version', 'corrupt-1').publish(`${prefix}fleet:changes`, 'v:corrupt-1').exec();
    await waitUntil('the follower reports the corrupt value', () =>
      follower.events.some((e) => e.type === 'warning' && e.origin === 'cache' && /fleet-test-.*features is not JSON/.test(e.message)),
    );
    expect(follower.client.isEnabled('a')).toBe(true);
    expect(follower.client.status().fleet!.lastError?.message).toMatch(/corrupt-1 are unusable/);
    // The leader notices a version it did not write and writes a fetched body over it.
    await waitUntil('the fleet has usable flags again', async () => {
      const version = follower.client.status().fleet!.version;
      return version !== good && version !== undefined && version !== 'corrupt-1';
    });
    expect(JSON.parse((await admin.get(`${prefix}features`))!)).toMatchObject({ features: [{ name: 'a', enabled: true }] });

    // JSON that is no client-API body is refused by the client's parser, with a warning.
    await admin.multi().set(`${prefix}features`, '{"flags": []}').hset(`${prefix}fleet:meta`, 'version', 'corrupt-2').publish(`${prefix}fleet:changes`, 'v:corrupt-2').exec();
    await waitUntil('the follower refuses the body', () => follower.events.some((e) => e.type === 'warning' && e.origin === 'fleet' && /unusable/.test(e.message)));
    expect(follower.client.isEnabled('a')).toBe(true);
    expect(follower.client.status().flagCount).toBe(1);
  }, 60_000);

  test('a version whose flags are missing from Redis is reported as a warning, and the flags served are kept', async () => {
    server.serveFeatures(body(true), '"m1"');
    const prefix = newPrefix();
    const follower = member(prefix);
    // Someone else leads (a lock nobody renews, for longer than the test).
    await admin.set(`${prefix}fleet:leader`, 'another-instance', 'PX', 60_000);
    await admin.set(`${prefix}features`, JSON.stringify(body(true)));
    await admin.hset(`${prefix}fleet:meta`, 'version', '1-aaaaaaaa', 'at', String(Date.now()));
    await follower.client.start();
    await waitUntil('it follows version 1', () => follower.client.status().fleet?.version === '1-aaaaaaaa');
    // Evicted or deleted: a version with no flags behind it.
    await admin.del(`${prefix}features`);
    await admin.hset(`${prefix}fleet:meta`, 'version', '2-bbbbbbbb');
    await admin.publish(`${prefix}fleet:changes`, 'v:2-bbbbbbbb');
    await waitUntil('a warning says so', () => follower.events.some((e) => e.type === 'warning' && e.message.includes('2-bbbbbbbb') && e.message.includes('no flags')));
    expect(follower.client.isEnabled('a')).toBe(true);
    expect(follower.client.status().fleet).toMatchObject({ role: 'follower', version: '1-aaaaaaaa' });
  }, 30_000);

  test('a change message naming a version that is not the stored one reads no flags (another db index\'s fleet, a superseded one)', async () => {
    server.serveFeatures(body(true), '"n1"');
    const prefix = newPrefix();
    const follower = member(prefix);
    await admin.set(`${prefix}fleet:leader`, 'another-instance', 'PX', 60_000);
    await admin.set(`${prefix}features`, JSON.stringify(body(true)));
    await admin.hset(`${prefix}fleet:meta`, 'version', '1-aaaaaaaa', 'at', String(Date.now()));
    await follower.client.start();
    await waitUntil('it follows version 1', () => follower.client.status().fleet?.version === '1-aaaaaaaa');
    const features = `${prefix}features`;
    // How many times the flags were read: Redis's own count of GETs (the test reads none).
    const reads = async (): Promise<number> => Number(/cmdstat_get:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    await admin.config('RESETSTAT');
    for (let i = 0; i < 5; i += 1) await admin.publish(`${prefix}fleet:changes`, `v:${i + 7}-otherfleet`);
    // A real change after them: once it is served, the messages before it were handled.
    await admin.multi().set(features, JSON.stringify(body(false))).hset(`${prefix}fleet:meta`, 'version', '2-bbbbbbbb').exec();
    await admin.publish(`${prefix}fleet:changes`, 'v:2-bbbbbbbb');
    await waitUntil('it serves version 2', () => follower.client.status().fleet?.version === '2-bbbbbbbb' && !follower.client.isEnabled('a'));
    // Two GETs (flags and ETag) for version 2, none for the five others.
    expect(await reads()).toBe(2);
  }, 30_000);

  test('a new instance starts from the flags the fleet stored, before its first check', async () => {
    server.serveFeatures(body(true, 'stored'), '"s1"');
    const prefix = newPrefix();
    const first = member(prefix);
    await first.client.start();
    await waitUntil('the flags are stored', async () => (await admin.get(`${prefix}features`)) !== null);
    // Unleash is gone: the newcomer can only have the flags from Redis.
    server.setDefault('GET', FEATURES, { status: 503 });
    const late = member(prefix);
    await late.client.start();
    expect(late.client.isEnabled('stored')).toBe(true);
    expect(['cache', 'fleet']).toContain(late.client.status().source);
  }, 60_000);
});

describe('RedisFleet with a large flag set', () => {
  test('the flags go through Redis in slices: no JSON text of them is written or parsed in one go', async () => {
    const features = Array.from({ length: 12_000 }, (_, i) => ({ name: `large-${i}`, enabled: i % 2 === 0, description: 'x'.repeat(60), strategies: [{ name: 'default', parameters: {} }] }));
    const text = JSON.stringify({ version: 2, features });
    expect(text.length).toBeGreaterThan(SLICED_TEXT);
    server.setDefault('GET', FEATURES, { body: text, headers: { 'content-type': 'application/json', etag: '"big1"' } });
    const prefix = newPrefix();
    // The longest text JSON.parse read and JSON.stringify produced in one call, from here on;
    // not the server's body, which the leader parses in one go before it serves any flag
    // (FIRST_LOAD_PARSE_BYTES, lib/payload-slices.ts): that is not Redis traffic.
    let longest = 0;
    const parse = JSON.parse;
    const stringify = JSON.stringify;
    const parseSpy = jest.spyOn(JSON, 'parse').mockImplementation((input: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      if (typeof input === 'string' && input !== text) longest = Math.max(longest, input.length);
      return parse(input, reviver);
    });
    const stringifySpy = jest.spyOn(JSON, 'stringify').mockImplementation(((value: unknown, replacer?: never, space?: string | number) => {
      const out = stringify(value, replacer, space);
      if (typeof out === 'string') longest = Math.max(longest, out.length);
      return out;
    }) as typeof JSON.stringify);
    try {
      const leader = member(prefix);
      await leader.client.start();
      await waitUntil('it leads and has written', () => role(leader) === 'leader' && leader.client.status().fleet?.version !== undefined);
      // A new instance reads the stored flags at start, then follows.
      const follower = member(prefix);
      await follower.client.start();
      await waitUntil('it follows the leader\'s version', () => role(follower) === 'follower' && follower.client.status().fleet?.version === leader.client.status().fleet?.version);
      expect(follower.client.status()).toMatchObject({ flagCount: 12_000, etag: '"big1"' });
      expect(follower.client.isEnabled('large-11998')).toBe(true);
      expect(follower.client.isEnabled('large-11999')).toBe(false);
    } finally {
      parseSpy.mockRestore();
      stringifySpy.mockRestore();
    }
    expect(longest).toBeLessThanOrEqual(SLICED_TEXT);
  }, 60_000);
});

describe('RedisFleet when Redis goes away', () => {
  test('every instance goes on alone and fetches for itself; when Redis is back they form one fleet again', async () => {
    const own = await startRedis();
    try {
      server.serveFeatures(body(true), '"r1"');
      const prefix = newPrefix();
      const members = [member(prefix, { url: own.url }), member(prefix, { url: own.url }), member(prefix, { url: own.url })];
      await Promise.all(members.map((m) => m.client.start()));
      await waitUntil('one leads', () => members.filter((m) => role(m) === 'leader').length === 1 && members.filter((m) => role(m) === 'follower').length === 2);

      await own.stop();
      await waitUntil('all are standalone', () => members.every((m) => role(m) === 'standalone'), 20_000);
      for (const m of members) {
        expect(m.events.some((e) => e.type === 'warning' && e.origin === 'fleet' && /Redis failed .*fetches flags from Unleash itself/.test(e.message))).toBe(true);
        expect(m.client.status().fleet!.lastError?.message).toMatch(/^Redis failed/);
      }
      const since = server.requestsTo(FEATURES).length;
      server.serveFeatures(body(false), '"r2"');
      await waitUntil('each fetched the change itself', () => members.every((m) => !m.client.isEnabled('a') && fetchesBy(m, since).length > 0), 20_000);

      const again = await startRedis({ port: own.port });
      try {
        await waitUntil('one fleet again', () => members.filter((m) => role(m) === 'leader').length === 1 && members.filter((m) => role(m) === 'follower').length === 2, 20_000);
        const leader = members.find((m) => role(m) === 'leader')!;
        // The new leader wrote its flags to the empty Redis; the followers took them.
        await waitUntil('the followers serve the leader\'s version', () => members.every((m) => m.client.status().fleet!.version !== undefined && m.client.status().fleet!.version === leader.client.status().fleet!.version));
        const back = server.requestsTo(FEATURES).length;
        server.serveFeatures(body(true), '"r3"');
        await waitUntil('all serve the next change', () => members.every((m) => m.client.isEnabled('a')), 20_000);
        expect(server.requestsTo(FEATURES).slice(back).every((r) => r.headers['unleash-connection-id'] === leader.client.connectionId)).toBe(true);
      } finally {
        await Promise.all(clients.splice(0).map((c) => c.destroy()));
        await again.stop();
      }
    } finally {
      await own.stop();
    }
  }, 120_000);

  test('with Redis unreachable from the start, the client fetches alone and is ready', async () => {
    server.serveFeatures(body(true), '"u1"');
    const m = member(newPrefix(), { url: 'redis://127.0.0.1:1' });
    await m.client.start();
    expect(m.client.isEnabled('a')).toBe(true);
    expect(m.client.status()).toMatchObject({ source: 'server', fleet: { role: 'standalone', version: undefined } });
    expect(fetchesBy(m).length).toBeGreaterThan(0);
  }, 30_000);
});

describe('RedisCache', () => {
  test('a client starts from the flags another one stored; a value that is not JSON is reported and read as none', async () => {
    server.serveFeatures(body(true, 'cached'), '"k1"');
    const prefix = newPrefix();
    const caches: RedisCache[] = [];
    const cache = (): RedisCache => {
      caches.push(new RedisCache({ redis: redis.url, prefix }));
      return caches[caches.length - 1]!;
    };
    const writer = new UnleashClient({ url: `${server.origin}/api`, appName: 'cache-test', disableMetrics: true, cache: cache() });
    clients.push(writer);
    await writer.start();
    await writer.destroy();
    expect(JSON.parse((await admin.get(`${prefix}etag`))!)).toBe('"k1"');

    const offline = new UnleashClient({ appName: 'cache-test', offline: true, cache: cache() });
    clients.push(offline);
    await offline.start();
    expect(offline.status()).toMatchObject({ source: 'cache', etag: '"k1"' });
    expect(offline.isEnabled('cached')).toBe(true);

    await admin.set(`${prefix}features`, 'garbage');
    const warnings: string[] = [];
    const broken = new UnleashClient({ appName: 'cache-test', offline: true, cache: cache(), eventCallback: (e) => e.type === 'warning' && warnings.push(e.message) });
    clients.push(broken);
    await broken.start();
    expect(broken.hasFlags).toBe(false);
    expect(warnings.some((w) => /features is not JSON/.test(w))).toBe(true);
    // A cache given to a client is the caller's to close.
    await Promise.all(caches.map((c) => c.destroy()));
  }, 30_000);

  test('unusable options throw ConfigError naming the option', () => {
    expect(() => new RedisCache({ redis: 'http://127.0.0.1:6379' })).toThrow(ConfigError);
    expect(() => new RedisCache({ redis: {} as never })).toThrow(/redis must be/);
    expect(() => new RedisFleet({ redis: redis.url, lockTtl: 10 })).toThrow(/lockTtl/);
    expect(() => new RedisFleet({ redis: redis.url, prefix: '' })).toThrow(/prefix/);
  });
});

describe('destroy() while a start-up read waits for Redis', () => {
  test('the read finds nothing rather than failing with "Redis is unreachable" (Redis is fine)', async () => {
    const fleet = new RedisFleet({ redis: redis.url, prefix: newPrefix() });
    // Connecting (lazily, on this first read) when the client is destroyed.
    const fleetRead = fleet.cache.get('features');
    await fleet.leave();
    await expect(fleetRead).resolves.toBeUndefined();
    const cache = new RedisCache({ redis: redis.url, prefix: newPrefix() });
    const cacheRead = cache.get('features');
    await cache.destroy();
    await expect(cacheRead).resolves.toBeUndefined();
  });
});

describe('RedisFleet misuse', () => {
  test('a second client on the same RedisFleet is told so and fetches alone', async () => {
    server.serveFeatures(body(true, 'shared'), '"m1"');
    const fleet = new RedisFleet({ redis: redis.url, prefix: newPrefix(), lockTtl: LOCK_TTL });
    const warnings: string[] = [];
    const first = new UnleashClient({ url: `${server.origin}/api`, appName: 'misuse', disableMetrics: true, fleet });
    const second = new UnleashClient({ url: `${server.origin}/api`, appName: 'misuse', disableMetrics: true, fleet, eventCallback: (e) => e.type === 'warning' && warnings.push(e.message) });
    clients.push(second, first);
    await first.start();
    await second.start();
    expect(second.isEnabled('shared')).toBe(true);
    expect(warnings.some((w) => /already serves another client/.test(w))).toBe(true);
    await waitUntil('the second client fetched', () => fetchesBy({ client: second, events: [] }).length > 0);
  }, 30_000);
});
