/**
 * The client's side of the `fleet` option, with a coordinator written for the test (no
 * Redis): what `FleetHost` lets a coordinator do to the client, against a real loopback
 * server and the manual scheduler. RedisFleet itself is tested in spec/redis/.
 */
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import type { FleetCoordinator, FleetHost, FleetStatus } from '../../lib/fleet-link';
import { ManualScheduler } from '../support/manual-scheduler';
import { TestServer } from '../support/test-server';

const FEATURES = '/api/client/features';
const BODY = { version: 2, features: [{ name: 'a', enabled: true, strategies: [{ name: 'default', parameters: {} }] }] };

class CountingCache extends MemoryCache {
  writes = 0;
  override async mset(entries: Record<string, unknown>): Promise<void> {
    this.writes++;
    await super.mset(entries);
  }
}

const STATUS: FleetStatus = { role: 'follower', since: 1, version: '7-abc', writtenAt: 2, ageMs: 3, lastError: undefined };

class TestFleet implements FleetCoordinator {
  readonly cache = new CountingCache();
  host: FleetHost | undefined;
  left = 0;
  writesWhenLeft = -1;
  constructor(private readonly onJoin: (host: FleetHost) => Promise<void> = async () => undefined) {}
  async join(host: FleetHost): Promise<void> {
    this.host = host;
    await this.onJoin(host);
  }
  async leave(): Promise<void> {
    this.left++;
    this.writesWhenLeft = this.cache.writes;
  }
  status(): FleetStatus {
    return STATUS;
  }
}

let server: TestServer;
let scheduler: ManualScheduler;
let events: UnleashEvent[];

beforeEach(async () => {
  server = await TestServer.start();
  scheduler = new ManualScheduler();
  events = [];
});

afterEach(async () => {
  await server.close();
});

function clientWith(fleet: TestFleet): UnleashClient {
  return new UnleashClient({
    url: `${server.origin}/api`,
    appName: 'fleet-link',
    disableMetrics: true,
    disableRegistration: true,
    scheduler,
    fleet,
    eventCallback: (e) => events.push(e),
  });
}

test('the client uses the fleet\'s cache, polls only when the fleet resumes it, and stops when it pauses', async () => {
  server.serveFeatures(BODY, '"e1"');
  const fleet = new TestFleet((host) => host.resumeUpdates(false));
  const client = clientWith(fleet);
  await client.start();
  expect(client.isEnabled('a')).toBe(true);
  expect(server.requestsTo(FEATURES)).toHaveLength(1);
  // The cache is written once the new flags are checked, a turn of the event loop after ready.
  for (let i = 0; i < 50 && fleet.cache.writes === 0; i++) await new Promise((r) => setImmediate(r));
  expect(fleet.cache.writes).toBe(1);
  expect(scheduler.pending('fetch')).toHaveLength(1);

  fleet.host!.pauseUpdates();
  expect(scheduler.pending('fetch')).toEqual([]);

  // Resumed: fetches at once, with the ETag, and polls on the interval again.
  await fleet.host!.resumeUpdates(false);
  expect(server.requestsTo(FEATURES)[1]!.headers['if-none-match']).toBe('"e1"');
  expect(scheduler.pending('fetch')).toHaveLength(1);
  expect(fleet.cache.writes).toBe(1);

  // Fresh: no ETag, and the same body is applied and written again (a new leader must write).
  await fleet.host!.resumeUpdates(true);
  expect(server.requestsTo(FEATURES)[2]!.headers['if-none-match']).toBeUndefined();
  await client.destroy();
  expect(fleet.cache.writes).toBe(2);
  expect(fleet.left).toBe(1);
  // leave() comes after the last cache write.
  expect(fleet.writesWhenLeft).toBe(2);
});

test('a follower never polls; flags the fleet hands over are applied as `fleet`, not written back, and a bad body is refused', async () => {
  server.serveFeatures(BODY, '"e1"');
  const fleet = new TestFleet();
  const client = clientWith(fleet);
  await client.start();
  expect(server.requestsTo(FEATURES)).toEqual([]);
  expect(scheduler.pending('fetch')).toEqual([]);

  expect(fleet.host!.receive(BODY, '"from-leader"')).toBe(true);
  expect(client.isEnabled('a')).toBe(true);
  expect(client.status()).toMatchObject({ ready: true, source: 'fleet', etag: '"from-leader"', flagCount: 1, fleet: STATUS });
  expect(events.filter((e) => e.type === 'fetched')).toHaveLength(1);
  expect(events.find((e) => e.type === 'ready')).toMatchObject({ from: 'fleet' });

  expect(fleet.host!.receive({ flags: [] }, undefined)).toBe(false);
  expect(events.some((e) => e.type === 'warning' && e.origin === 'fleet' && /unusable/.test(e.message))).toBe(true);
  expect(client.status()).toMatchObject({ source: 'fleet', flagCount: 1 });

  fleet.host!.warn('the store is slow');
  expect(events.at(-1)).toEqual({ type: 'warning', origin: 'fleet', message: 'the store is slow' });

  await client.destroy();
  expect(fleet.cache.writes).toBe(0);
  expect(fleet.host!.receive(BODY, undefined)).toBe(false);
  expect(fleet.left).toBe(1);
});

test('a client without the fleet option has no fleet status', async () => {
  const client = new UnleashClient({ appName: 'x', offline: true, cache: new MemoryCache(), scheduler });
  expect('fleet' in client.status()).toBe(false);
  await client.destroy();
});

test('paused while a fetch is in flight: that fetch is still applied, and no next one is scheduled', async () => {
  server.reply('GET', FEATURES, { hold: true });
  let first: Promise<void> | undefined;
  const fleet = new TestFleet(async (host) => {
    first = host.resumeUpdates(false);
  });
  const client = clientWith(fleet);
  await client.start();
  await server.waitForRequest('GET', FEATURES);
  fleet.host!.pauseUpdates();
  server.answerHeld({ status: 200, body: BODY, headers: { etag: '"e1"' } });
  await first;
  expect(client.isEnabled('a')).toBe(true);
  expect(scheduler.pending('fetch')).toEqual([]);
  await client.destroy();
});
