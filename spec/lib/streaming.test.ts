/**
 * The client in `delta` and `streaming` modes against the loopback stub of the Unleash
 * Enterprise endpoints (spec/support/stream-server.ts): real sockets always, the manual
 * scheduler for every timer (poll interval, reconnect backoff, read timeout, the retry of
 * streaming after a failover), so nothing here waits on the wall clock.
 */
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import type { ModeEvent, UnleashEvent } from '../../lib/events';
import type { UnleashConfig } from '../../lib/options';
import { ManualScheduler } from '../support/manual-scheduler';
import { StreamServer } from '../support/stream-server';

const STREAMING = '/api/client/streaming';
const DELTA = '/api/client/delta';
const FEATURES = '/api/client/features';

type Flag = Record<string, unknown> & { name: string };

function flag(name: string, enabled = true, extra: Record<string, unknown> = {}): Flag {
  return { name, enabled, strategies: [{ name: 'default', parameters: {}, constraints: [] }], impressionData: false, ...extra };
}

/** Lets sockets and promise chains run; a bounded number of turns, never a wall-clock wait. */
const settle = async (rounds = 10): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Turns the event loop until `test()` holds; fails after many turns rather than hanging. */
async function until(test: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (test()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

let server: StreamServer;
let scheduler: ManualScheduler;
let events: UnleashEvent[];
let clients: UnleashClient[];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));

beforeEach(async () => {
  server = await StreamServer.start();
  scheduler = new ManualScheduler();
  events = [];
  clients = [];
  unhandled.length = 0;
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await server.close();
  expect(unhandled).toEqual([]);
});

function makeClient(options: Partial<UnleashConfig> = {}): UnleashClient {
  const client = new UnleashClient({
    url: server.url,
    appName: 'stream-app',
    instanceId: 'instance-1',
    customHeaders: { Authorization: 'client-token' },
    cache: new MemoryCache(),
    disableMetrics: true,
    disableRegistration: true,
    scheduler,
    eventCallback: (event) => events.push(event),
    ...options,
  });
  clients.push(client);
  return client;
}

const of = <T extends UnleashEvent['type']>(type: T): Extract<UnleashEvent, { type: T }>[] =>
  events.filter((e) => e.type === type) as Extract<UnleashEvent, { type: T }>[];
const modes = (): string[] => of('mode').map((e: ModeEvent) => e.mode);
const errors = (): string[] => of('error').map((e) => e.error.message);

describe('streaming', () => {
  test('hydrates from unleash-connected, applies unleash-updated, and reports mode, etag and lastFetch', async () => {
    server.setFlag(flag('a'));
    server.setFlag(flag('b', false));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    expect(client.isEnabled('a')).toBe(true);
    expect(client.isEnabled('b')).toBe(false);
    expect(of('ready')).toHaveLength(1);
    expect(of('mode')).toEqual([{ type: 'mode', mode: 'streaming', reason: 'start' }]);
    expect(client.status()).toMatchObject({ mode: 'streaming', etag: '2', lastFetch: { outcome: 'updated' } });
    const stream = await server.waitForStreams(1);
    expect(stream.lastEventId).toBeUndefined();
    expect(stream.headers).toMatchObject({
      authorization: 'client-token',
      accept: 'text/event-stream',
      'unleash-appname': 'stream-app',
      'unleash-connection-id': client.connectionId,
    });

    server.setFlag(flag('b', true));
    await until(() => client.isEnabled('b'), 'the update applied');
    expect(of('fetched').at(-1)?.features.map((f) => f.name)).toEqual(['a', 'b']);
    expect(client.status().etag).toBe('3');
    server.removeFlag('a');
    await until(() => !client.isEnabled('a'), 'the removal applied');
    expect(client.status()).toMatchObject({ etag: '4', flagCount: 1 });
    expect(server.requestsTo(FEATURES)).toHaveLength(0);
    expect(errors()).toEqual([]);
  });
});
