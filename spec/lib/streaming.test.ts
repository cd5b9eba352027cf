/**
 * The client in `delta` and `streaming` modes against the loopback stub of the Unleash
 * Enterprise endpoints (spec/support/stream-server.ts): real sockets always, the manual
 * scheduler for every timer (poll interval, reconnect backoff, read timeout, the retry of
 * streaming after a failover), so nothing here waits on the wall clock.
 */
import { jest } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import type { ModeEvent, UnleashEvent } from '../../lib/events';
import type { FleetCoordinator, FleetHost, FleetStatus } from '../../lib/fleet-link';
import { openHttpStream } from '../../lib/http';
import type { UnleashConfig } from '../../lib/options';
import { MAX_TIMER_DELAY, systemScheduler, timerDelay } from '../../lib/scheduler';
import { StreamConnection } from '../../lib/streaming';
import { Updater } from '../../lib/updater';
import { Engine } from '../../lib/engine/engine';
import { SLICED_PARSE_BYTES } from '../../lib/poller';
import { SLICED_COMPILE_FLAGS } from '../../lib/snapshot-loader';
import { ForwardProxy } from '../support/forward-proxy';
import { ManualScheduler } from '../support/manual-scheduler';
import { selfSignedCertificate } from '../support/self-signed';
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

describe('streaming: a large message', () => {
  afterEach(() => jest.restoreAllMocks());

  /** A streaming client serving `a` (off), its stream open. */
  async function streamingClient(): Promise<UnleashClient> {
    server.setFlag(flag('a', false));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    return client;
  }

  /** Calls `onHandled` each time a complete message is handed to the updater (before it is read). */
  function whenHandled(onHandled: () => void): void {
    type WithHandle = { handleMessage: (...args: unknown[]) => Promise<void> };
    const handle = (Updater.prototype as unknown as WithHandle).handleMessage;
    jest.spyOn(Updater.prototype as unknown as WithHandle, 'handleMessage').mockImplementation(function (this: unknown, ...args) {
      onHandled();
      return handle.apply(this, args);
    });
  }

  /** An `unleash-updated` message (id 9) hydrating `count` padded flags, plus `extra`; over 1 MiB for 6,000 flags. */
  function hydrationMessage(count: number, extra: Flag[] = []): string {
    const features = Array.from({ length: count }, (_, i) => flag(`f${i}`, true, { description: 'x'.repeat(200) }));
    const data = JSON.stringify({ events: [{ type: 'hydration', eventId: 9, features: [...features, ...extra], segments: [] }] });
    expect(data.length).toBeGreaterThan(SLICED_PARSE_BYTES);
    return `event: unleash-updated\nid: 9\ndata: ${data}\n\n`;
  }

  test('a hydration over SLICED_PARSE_BYTES is parsed in slices: the loop turns between the message and its compile, and answers stay old until the swap', async () => {
    const client = await streamingClient();
    // From the message handed over (complete) to the compile's start: the parse.
    let parsing = false;
    let turnsWhileParsing = 0;
    whenHandled(() => (parsing = true));
    const prepare = Engine.prototype.prepare;
    jest.spyOn(Engine.prototype, 'prepare').mockImplementation(function (this: Engine, payload) {
      parsing = false;
      return prepare.call(this, payload);
    });
    const answers: boolean[] = [];
    let on = true;
    const tick = (): void => {
      if (!on) return;
      if (parsing) turnsWhileParsing++;
      if (client.status().etag !== '9') answers.push(client.isEnabled('a'));
      setImmediate(tick);
    };
    setImmediate(tick);
    const count = 3 * SLICED_COMPILE_FLAGS;
    server.sendRaw(hydrationMessage(count, [flag('a', true)]));
    await until(() => client.isEnabled('a'), 'the hydration served');
    on = false;
    // A slice ends after at most 2,000 steps: the flags split, then validated, one step each.
    expect(turnsWhileParsing).toBeGreaterThanOrEqual((2 * count) / 2000 - 1);
    expect(answers.every((answer) => answer === false)).toBe(true);
    expect(client.status().flagCount).toBe(count + 1);
    expect(errors()).toEqual([]);
  });

  test('destroy() during the sliced read: the read ends at its next slice, nothing is compiled, served or reported', async () => {
    const client = await streamingClient();
    let handled = false;
    whenHandled(() => (handled = true));
    const prepare = jest.spyOn(Engine.prototype, 'prepare');
    let parsedElements = 0;
    const parse = JSON.parse;
    jest.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      if (handled) parsedElements++;
      return parse(text, reviver);
    });
    const count = 3 * SLICED_COMPILE_FLAGS;
    server.sendRaw(hydrationMessage(count));
    await until(() => handled && parsedElements > 0, 'the read started');
    const fetchedBefore = of('fetched').length;
    await client.destroy();
    await settle(50);
    // At most a slice more (2,000 elements) was read after destroy(), not the whole message.
    expect(parsedElements).toBeLessThan(count);
    expect(prepare).not.toHaveBeenCalled();
    expect(of('fetched')).toHaveLength(fetchedBefore);
    expect(errors()).toEqual([]);
  });
});

describe('streaming: resuming, keep-alives and the read timeout', () => {
  test('a dropped stream reconnects on a backoff with Last-Event-ID and receives what it missed', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    server.dropStreams();
    const reconnect = await scheduler.next('stream-reconnect');
    expect(reconnect.delay).toBe(1_000);
    expect(of('warning').map((w) => w.message).join('\n')).toMatch(/the stream ended; reconnecting/);
    // Changes while disconnected.
    server.setFlag(flag('a', false), true);
    server.setFlag(flag('c'), true);
    scheduler.fire(reconnect);
    const second = await server.waitForStreams(2);
    expect(second.lastEventId).toBe('1');
    await until(() => client.isEnabled('c'), 'the missed events applied');
    expect(client.isEnabled('a')).toBe(false);
    expect(client.status()).toMatchObject({ mode: 'streaming', etag: '3' });
    expect(errors()).toEqual([]);
  });

  test('keep-alive comments re-arm the read timeout; a stream silent past it is reconnected', async () => {
    server.setFlag(flag('a'));
    server.reply(STREAMING, 'silent');
    const client = makeClient({ mode: 'streaming', streamReadTimeout: 45_000 });
    const started = client.start();
    await server.waitForStreams(1);
    const first = await scheduler.next('stream-read');
    expect(first.delay).toBe(45_000);
    server.keepAlive();
    await until(() => scheduler.pending('stream-read').some((t) => t.id !== first.id), 'the read timer re-armed');
    expect(scheduler.pending('stream-read')).toHaveLength(1);
    // Nothing more: the timeout fires, the stream is given up and reconnected.
    scheduler.fire(scheduler.pending('stream-read')[0]!);
    await server.until(() => server.streams.length === 0);
    await scheduler.fireNext('stream-reconnect');
    await started;
    await server.waitForStreams(2);
    await until(() => client.isEnabled('a'), 'the new stream hydrated');
    expect(of('warning').map((w) => w.message).join('\n')).toMatch(/sent nothing \(not even a keep-alive\) for 45000 ms; reconnecting/);
  });
});

describe('streaming: start()', () => {
  test('never waits past timeout for a stream that opens and says nothing; the flags come later', async () => {
    server.setFlag(flag('a'));
    server.reply(STREAMING, 'silent');
    const client = makeClient({ mode: 'streaming', timeout: 2_000 });
    let resolved = false;
    const started = client.start().then(() => (resolved = true));
    await server.waitForStreams(1);
    await settle();
    expect(resolved).toBe(false);
    const deadline = await scheduler.fireNext('deadline');
    expect(deadline.delay).toBe(2_000);
    await started;
    expect(client.hasFlags).toBe(false);
    // The silent stream is given up at the read timeout and the next one hydrates.
    await scheduler.fireNext('stream-read');
    await scheduler.fireNext('stream-reconnect');
    await until(() => client.isEnabled('a'), 'flags from the next stream');
  });
});

describe('streaming: event ids and unusable messages', () => {
  test('an event id that does not increase makes the client reconnect without Last-Event-ID and rehydrate', async () => {
    server.setFlag(flag('a'));
    server.setFlag(flag('b'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    // An old event replayed: it would turn `a` off.
    server.send('unleash-updated', { events: [{ type: 'feature-updated', eventId: 1, feature: flag('a', false) }] }, 1);
    await scheduler.fireNext('stream-reconnect');
    const second = await server.waitForStreams(2);
    expect(second.lastEventId).toBeUndefined();
    await until(() => client.status().lastFetch?.outcome === 'updated' && server.streams.length === 1, 'rehydrated');
    expect(client.isEnabled('a')).toBe(true);
    expect(errors().join('\n')).toMatch(/message is unusable \(event id 1 does not follow 2\); reconnecting for a fresh hydration/);
  });

  test('a malformed message is an error and leads to a fresh hydration; the flags held stay', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    server.sendRaw('event: unleash-updated\nid: 9\ndata: {"events": [not json\n\n');
    await until(() => errors().length > 0, 'the error');
    expect(client.isEnabled('a')).toBe(true);
    expect(client.status().lastFetch?.outcome).toBe('failed');
    server.setFlag(flag('z'), true);
    await scheduler.fireNext('stream-reconnect');
    const second = await server.waitForStreams(2);
    expect(second.lastEventId).toBeUndefined();
    await until(() => client.isEnabled('z'), 'rehydrated');
    expect(errors()[0]).toMatch(/"unleash-updated" message is unusable/);
  });

  test('a message larger than maxBodySize closes the stream with HTTP_BODY_TOO_LARGE; the flags held stay', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming', maxBodySize: 4_096 });
    await client.start();
    await server.waitForStreams(1);
    server.sendRaw(`event: unleash-updated\nid: 9\ndata: ${'x'.repeat(10_000)}\n\n`);
    await until(() => errors().length > 0, 'the error');
    expect(of('error')[0]!.error).toMatchObject({ code: 'HTTP_BODY_TOO_LARGE', message: expect.stringMatching(/a message exceeds the limit of 4096 bytes/) });
    expect(client.isEnabled('a')).toBe(true);
    await scheduler.fireNext('stream-reconnect');
    await server.waitForStreams(2);
  });

  test('a message the engine cannot apply leads to a fresh hydration too', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    // A delta that does not start with a hydration and removes a flag: a valid body whose
    // compilation is made to fail once here, as a stand-in for any failure to apply.
    const engine = (client as unknown as { engine: { prepare: (p: unknown) => unknown } }).engine;
    const prepare = engine.prepare.bind(engine);
    let failures = 1;
    engine.prepare = (payload) => {
      if (failures-- > 0) throw new Error('compile failed');
      return prepare(payload);
    };
    server.setFlag(flag('b'));
    await scheduler.fireNext('stream-reconnect');
    const second = await server.waitForStreams(2);
    expect(second.lastEventId).toBeUndefined();
    await until(() => client.isEnabled('b'), 'rehydrated');
    expect(of('warning').map((w) => w.message).join('\n')).toMatch(/could not be applied; reconnecting for a fresh hydration/);
  });
});

describe('streaming: failover to polling and the way back', () => {
  test.each([401, 403, 404, 429, 501])('status %i switches to polling at once', async (status) => {
    server.setFlag(flag('a'));
    server.reply(STREAMING, status);
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForRequests(FEATURES, 1);
    await until(() => client.isEnabled('a'), 'polled flags');
    expect(of('mode').at(-1)).toEqual({ type: 'mode', mode: 'polling', previous: 'streaming', reason: `the stream was refused with status ${status}` });
    expect(client.status().mode).toBe('polling');
    expect(server.requestsTo(STREAMING)).toHaveLength(1);
    expect(scheduler.pending('stream-reconnect')).toEqual([]);
  });

  test.each([408, 500, 502, 503, 504, 'drop'] as const)('%s switches to polling after 5 within 60 s, not before', async (failure) => {
    server.setFlag(flag('a'));
    server.reply(STREAMING, failure, failure, failure, failure, failure);
    const client = makeClient({ mode: 'streaming' });
    void client.start();
    const delays: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const timer = await scheduler.next('stream-reconnect');
      delays.push(timer.delay);
      expect(client.status().mode).toBe('streaming');
      scheduler.fire(timer);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000]);
    await server.waitForRequests(FEATURES, 1);
    expect(of('mode').at(-1)).toMatchObject({ mode: 'polling', reason: expect.stringMatching(/^5 stream failures within 60 s/) });
    expect(server.requestsTo(STREAMING)).toHaveLength(5);
    await until(() => client.isEnabled('a'), 'polled flags');
  });

  test('soft failures spread over more than 60 s do not switch', async () => {
    server.setFlag(flag('a'));
    server.reply(STREAMING, 503, 503, 503, 503, 503);
    const client = makeClient({ mode: 'streaming' });
    void client.start();
    for (let i = 1; i <= 5; i++) {
      const timer = await scheduler.next('stream-reconnect');
      // Waits of 1 + 2 + 4 + 8 s fit in 60 s; this test spreads them past it.
      scheduler.advance(20_000);
      scheduler.fire(timer);
    }
    await server.waitForStreams(1);
    await until(() => client.isEnabled('a'), 'streamed flags');
    expect(modes()).toEqual(['streaming']);
    expect(server.requestsTo(FEATURES)).toHaveLength(0);
  });

  test('after a failover, streaming is retried on a backoff and the client returns to it when the server accepts', async () => {
    server.setFlag(flag('a'));
    server.reply(STREAMING, 429);
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForRequests(FEATURES, 1);
    const retry = await scheduler.next('stream-retry');
    expect(retry.delay).toBe(60_000);
    // Polling goes on meanwhile.
    await scheduler.fireNext('fetch');
    await server.waitForRequests(FEATURES, 2);
    // The retry is refused: polling goes on, the next retry waits twice as long.
    server.reply(STREAMING, 429);
    scheduler.fire(retry);
    const second = await scheduler.next('stream-retry');
    expect(second.delay).toBe(120_000);
    expect(client.status().mode).toBe('polling');
    server.setFlag(flag('b'), true);
    scheduler.fire(second);
    await until(() => client.status().mode === 'streaming', 'back to streaming');
    expect(client.isEnabled('b')).toBe(true);
    expect(modes()).toEqual(['streaming', 'polling', 'streaming']);
    expect(of('mode').at(-1)?.reason).toMatch(/accepted the stream again/);
    // Polling has stopped: no fetch timer is left, and updates come by the stream.
    await until(() => scheduler.pending('fetch').length === 0, 'polling stopped');
    server.setFlag(flag('c'));
    await until(() => client.isEnabled('c'), 'streamed update');
    expect(server.requestsTo(FEATURES).length).toBeLessThanOrEqual(3);
  });

  test('the SSE event fetch-mode: polling switches at once; a polling answer with fetch-mode: streaming brings streaming back', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    server.send('fetch-mode', 'polling');
    await server.waitForRequests(FEATURES, 1);
    expect(of('mode').at(-1)).toMatchObject({ mode: 'polling', reason: 'the server asked for polling (SSE event fetch-mode)' });
    await server.until(() => server.streams.length === 0);
    // The server asked: no retry on a timer.
    expect(scheduler.pending('stream-retry')).toEqual([]);
    await scheduler.fireNext('fetch');
    await server.waitForRequests(FEATURES, 2);
    expect(server.accepted).toHaveLength(1);
    server.featuresFetchMode = 'streaming';
    await scheduler.fireNext('fetch');
    await server.waitForStreams(2);
    await until(() => client.status().mode === 'streaming', 'back to streaming');
    expect(of('mode').at(-1)?.reason).toMatch(/fetch-mode header/);
    expect(modes()).toEqual(['streaming', 'polling', 'streaming']);
  });

  test('in polling mode the fetch-mode hint is ignored: the user chose polling', async () => {
    server.setFlag(flag('a'));
    server.featuresFetchMode = 'streaming';
    const client = makeClient();
    await client.start();
    await scheduler.fireNext('fetch');
    await server.waitForRequests(FEATURES, 2);
    expect(server.requestsTo(STREAMING)).toHaveLength(0);
    expect(client.status().mode).toBe('polling');
    expect(modes()).toEqual(['polling']);
  });
});

describe('streaming: headers, cache writes and destroy', () => {
  test('customHeadersFunction is called for the stream connection and for each reconnect', async () => {
    server.setFlag(flag('a'));
    let calls = 0;
    const client = makeClient({ mode: 'streaming', customHeadersFunction: () => ({ Authorization: `rotated-${++calls}` }) });
    await client.start();
    expect((await server.waitForStreams(1)).headers.authorization).toBe('rotated-1');
    server.dropStreams();
    await scheduler.fireNext('stream-reconnect');
    expect((await server.waitForStreams(2)).headers.authorization).toBe('rotated-2');
    await until(() => client.status().lastFetch !== undefined && server.streams.length === 1, 'reconnected');
  });

  test('cache writes coalesce: a burst of messages during one slow write costs one more write, of the newest state', async () => {
    const writes: { features: { name: string }[]; etag: unknown }[] = [];
    let release: () => void = () => undefined;
    class SlowCache extends MemoryCache {
      override async mset(entries: Record<string, unknown>): Promise<void> {
        writes.push({ features: (entries['features'] as { features: { name: string }[] }).features, etag: entries['etag'] });
        if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
        await super.mset(entries);
      }
    }
    server.setFlag(flag('f0'));
    const client = makeClient({ mode: 'streaming', cache: new SlowCache() });
    await client.start();
    await until(() => writes.length === 1, 'the first write');
    for (let i = 1; i <= 10; i++) server.setFlag(flag(`f${i}`));
    await until(() => client.status().etag === '11', 'every message applied');
    expect(of('fetched')).toHaveLength(11);
    release();
    await until(() => writes.length === 2, 'the coalesced write');
    await settle();
    expect(writes).toHaveLength(2);
    expect(writes[1]!.etag).toBe('11');
    expect(writes[1]!.features.map((f) => f.name)).toHaveLength(11);
  });

  test('destroy() closes the stream and leaves no timer, socket or rejection behind', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    const stream = await server.waitForStreams(1);
    expect(scheduler.pending('stream-read')).toHaveLength(1);
    await client.destroy();
    await stream.closed;
    expect(server.streams).toHaveLength(0);
    expect(scheduler.pending()).toEqual([]);
    expect(client.status()).toMatchObject({ destroyed: true, mode: 'streaming' });
  });

  test('destroy() during a reconnect backoff and while a connection is being opened', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    server.dropStreams();
    await scheduler.next('stream-reconnect');
    await client.destroy();
    expect(scheduler.pending()).toEqual([]);

    const other = makeClient({ mode: 'streaming' });
    void other.start();
    await other.destroy();
    await settle(20);
    expect(scheduler.pending()).toEqual([]);
    expect(server.streams).toHaveLength(0);
  });
});

describe('delta polling', () => {
  test('asks /client/delta with the last event id as ETag; 304 when nothing changed; applies only what changed', async () => {
    server.setFlag(flag('a'));
    server.setFlag(flag('b', false));
    const client = makeClient({ mode: 'delta' });
    await client.start();
    expect(client.isEnabled('a')).toBe(true);
    expect(client.status()).toMatchObject({ mode: 'delta', etag: '"2"', lastFetch: { outcome: 'updated' } });
    expect(server.requestsTo(DELTA)[0]!.headers['if-none-match']).toBeUndefined();
    await scheduler.fireNext('fetch');
    await server.waitForRequests(DELTA, 2);
    expect(server.requestsTo(DELTA)[1]!.headers['if-none-match']).toBe('"2"');
    await until(() => client.status().lastFetch?.outcome === 'unchanged', '304');
    server.setFlag(flag('b', true));
    server.removeFlag('a');
    await scheduler.fireNext('fetch');
    await until(() => client.isEnabled('b'), 'the delta applied');
    expect(client.isEnabled('a')).toBe(false);
    expect(client.status().etag).toBe('"4"');
    expect(of('fetched')).toHaveLength(2);
    expect(modes()).toEqual(['delta']);
    expect(server.requestsTo(FEATURES)).toHaveLength(0);
  });

  test('a delta whose ids do not follow the ETag is refused, and the next poll asks for a hydration', async () => {
    server.setFlag(flag('a'));
    server.setFlag(flag('b'));
    const client = makeClient({ mode: 'delta' });
    await client.start();
    server.reply(DELTA, { body: { events: [{ type: 'feature-updated', eventId: 1, feature: flag('a', false) }] }, etag: '"3"' });
    await scheduler.fireNext('fetch');
    await until(() => errors().length > 0, 'the refusal');
    expect(errors()[0]).toMatch(/event id 1 does not follow 2; asking for a fresh hydration/);
    expect(client.isEnabled('a')).toBe(true);
    await scheduler.fireNext('fetch');
    const third = await server.waitForRequests(DELTA, 3);
    expect(third.headers['if-none-match']).toBeUndefined();
    await until(() => client.status().lastFetch?.outcome === 'updated' && client.status().etag === '"2"', 'rehydrated');
    await scheduler.fireNext('fetch');
    expect((await server.waitForRequests(DELTA, 4)).headers['if-none-match']).toBe('"2"');
  });
});

describe('every mode: metrics, registration, impressions, fetched and ready alike', () => {
  test.each(['polling', 'delta', 'streaming'] as const)('%s', async (mode) => {
    server.setFlag(flag('seen', true, { impressionData: true }));
    const client = makeClient({ mode, disableMetrics: false, disableRegistration: false, metricsInterval: 60_000 });
    await client.start();
    expect(of('ready')).toEqual([{ type: 'ready', from: 'server' }]);
    expect(of('fetched')).toHaveLength(1);
    expect(client.isEnabled('seen', { userId: '1' })).toBe(true);
    expect(of('impression')).toHaveLength(1);
    const registration = await server.waitForRequests('/api/client/register', 1);
    expect(JSON.parse(registration.body)).toMatchObject({ appName: 'stream-app', connectionId: client.connectionId });
    await client.destroy();
    const metrics = await server.waitForRequests('/api/client/metrics', 1);
    expect(JSON.parse(metrics.body).bucket.toggles).toEqual({ seen: { yes: 1, no: 0, variants: {} } });
    expect(scheduler.pending()).toEqual([]);
    expect(client.status().mode).toBe(mode);
    expect(errors()).toEqual([]);
  });
});

describe('options', () => {
  test('mode defaults to polling; an unknown mode is a warning and polls', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'push' as never });
    await client.start();
    expect(client.status().mode).toBe('polling');
    expect(of('warning').map((w) => w.message)).toContain("mode must be 'polling', 'delta' or 'streaming'; using 'polling'");
    expect(server.requestsTo(FEATURES)).toHaveLength(1);
  });
});

describe('a long run: the stream drops every few seconds', () => {
  test('every answer stays right through 40 drops, resumes and rehydrations', async () => {
    const names = ['a', 'b', 'c', 'd'];
    for (const n of names) server.setFlag(flag(n, false));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    let connections = 1;
    await server.waitForStreams(connections);
    for (let round = 0; round < 40; round++) {
      const name = names[round % names.length]!;
      const on = round % 3 !== 0;
      // Some changes arrive live, some while disconnected (resumed by Last-Event-ID), and
      // every tenth round the server forgets its log (a hydration comes instead).
      if (round % 10 === 9) server.hydrate(server.flags().map((f) => (f.name === name ? flag(name, on) : f)));
      else server.setFlag(flag(name, on), round % 2 === 0);
      if (round % 2 !== 0) await until(() => client.isEnabled(name) === on, `round ${round} live`);
      server.dropStreams();
      const reconnect = await scheduler.next('stream-reconnect');
      scheduler.fire(reconnect);
      await server.waitForStreams(++connections);
      await until(() => names.every((n) => client.isEnabled(n) === (server.flags().find((f) => f.name === n)!.enabled as boolean)), `round ${round}`);
    }
    expect(client.status().mode).toBe('streaming');
    expect(modes()).toEqual(['streaming']);
    expect(errors()).toEqual([]);
    expect(server.accepted.slice(1).every((s) => s.lastEventId !== undefined)).toBe(true);
  });
});

describe('streaming: proxy and TLS options apply to the stream', () => {
  test('httpOptions.proxy and ca: the stream is tunnelled through the proxy to an https:// server trusted by the given root', async () => {
    const certificate = selfSignedCertificate();
    const tlsServer = await StreamServer.start({ tls: certificate });
    const proxy = await ForwardProxy.start();
    try {
      tlsServer.setFlag(flag('secure'));
      const client = new UnleashClient({
        url: tlsServer.url,
        appName: 'stream-app',
        mode: 'streaming',
        cache: new MemoryCache(),
        disableMetrics: true,
        disableRegistration: true,
        scheduler,
        httpOptions: { proxy: proxy.url, ca: certificate.cert },
        eventCallback: (event) => events.push(event),
      });
      clients.push(client);
      await client.start();
      expect(client.isEnabled('secure')).toBe(true);
      tlsServer.setFlag(flag('later'));
      await until(() => client.isEnabled('later'), 'the streamed update');
      expect(proxy.requests.map((r) => r.line)).toEqual([`CONNECT ${new URL(tlsServer.origin).host}`]);
      expect(errors()).toEqual([]);

      // Without the root, the certificate is refused: the stream fails like any request.
      const strict = new UnleashClient({
        url: tlsServer.url,
        appName: 'stream-app',
        mode: 'streaming',
        cache: new MemoryCache(),
        disableMetrics: true,
        disableRegistration: true,
        scheduler,
        httpOptions: { proxy: false },
        eventCallback: (event) => events.push(event),
      });
      clients.push(strict);
      await strict.start();
      expect(strict.hasFlags).toBe(false);
      expect(errors()[0]).toMatch(/streaming: the connection failed \(\w*SELF_SIGNED\w*\)/);
      await Promise.all(clients.splice(0).map((c) => c.destroy()));
    } finally {
      await tlsServer.close();
      await proxy.close();
    }
  });
});

describe('streaming in a fleet (the fleet option drives the stream as it drives polling)', () => {
  class StreamFleet implements FleetCoordinator {
    readonly cache = new MemoryCache();
    host: FleetHost | undefined;
    async join(host: FleetHost): Promise<void> {
      this.host = host;
      await host.resumeUpdates(false);
    }
    async leave(): Promise<void> {}
    status(): FleetStatus {
      return { role: 'leader', since: 0, version: undefined, writtenAt: undefined, ageMs: undefined, lastError: undefined };
    }
  }

  test('the leader streams; paused (a follower now) it closes the stream and schedules nothing; resumed it resumes with Last-Event-ID, and fresh without', async () => {
    server.setFlag(flag('a'));
    const fleet = new StreamFleet();
    const client = makeClient({ mode: 'streaming', fleet, cache: undefined });
    await client.start();
    expect(client.isEnabled('a')).toBe(true);
    expect(client.status().mode).toBe('streaming');
    const first = await server.waitForStreams(1);
    expect(first.lastEventId).toBeUndefined();

    fleet.host!.pauseUpdates();
    await first.closed;
    expect(scheduler.pending('stream-reconnect')).toEqual([]);
    expect(scheduler.pending('stream-read')).toEqual([]);
    // A change while paused is not seen: a follower takes flags from its fleet only.
    server.setFlag(flag('a', false));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.isEnabled('a')).toBe(true);

    await fleet.host!.resumeUpdates(false);
    const second = await server.waitForStreams(2);
    expect(second.lastEventId).toBe('1');
    await until(() => !client.isEnabled('a'), 'what was missed applied');

    await fleet.host!.resumeUpdates(true);
    const third = await server.waitForStreams(3);
    expect(third.lastEventId).toBeUndefined();
    expect(client.isEnabled('a')).toBe(false);
    expect(errors()).toEqual([]);
  });
});

describe('streaming: every message is handled in order, and only Unleash events are flags', () => {
  test('a hydration received just before `fetch-mode: polling` is applied, not dropped', async () => {
    // The polling the failover starts cannot help here (the features endpoint is down), so
    // the flags the stream already delivered are all the client can have.
    server.reply(STREAMING, 'silent');
    server.reply(FEATURES, 503, 503, 503);
    const client = makeClient({ mode: 'streaming' });
    void client.start();
    await server.waitForStreams(1);
    const hydration = { events: [{ type: 'hydration', eventId: 1, features: [flag('a')], segments: [] }] };
    // Both messages in one chunk, as a server that switches a client over would send them.
    server.sendRaw(`event: unleash-connected\nid: 1\ndata: ${JSON.stringify(hydration)}\n\nevent: fetch-mode\ndata: polling\n\n`);
    await until(() => modes().includes('polling'), 'the failover');
    await until(() => server.requestsTo(FEATURES).length >= 1, 'the first poll');
    await settle(20);
    // Were `fetch-mode` handled at once, the failover would replace the connection while
    // the hydration still waited in the apply queue, and it would be discarded.
    expect(client.isEnabled('a')).toBe(true);
    expect(client.status().flagCount).toBe(1);
  });

  test('a server message `event: error` is not taken for a broken connection, and the hydration before it stays applied', async () => {
    server.reply(STREAMING, 'silent');
    const client = makeClient({ mode: 'streaming' });
    void client.start();
    await server.waitForStreams(1);
    const hydration = { events: [{ type: 'hydration', eventId: 1, features: [flag('a')], segments: [] }] };
    server.sendRaw(`event: unleash-connected\nid: 1\ndata: ${JSON.stringify(hydration)}\n\nevent: error\ndata: {"message":"a server-side note"}\n\n`);
    const warned = (): string[] => of('warning').map((w) => w.message);
    await until(() => warned().some((m) => /named "error"/.test(m)), 'the message reported');
    await settle(20);
    // The EventSource hands such a message to its "error" listener, with its data; taken for
    // a connection error, it would end the stream ("the stream ended; reconnecting") and
    // discard the hydration still waiting in the apply queue.
    expect(client.isEnabled('a')).toBe(true);
    expect(warned().join('\n')).not.toMatch(/the stream ended/);
    expect(warned()).toContain(`the stream from ${server.url}/client/streaming carried a message named "error" (32 characters), which is not an Unleash event; it was ignored`);
    expect(server.streams).toHaveLength(1);
    expect(scheduler.pending('stream-reconnect')).toEqual([]);
    expect(errors()).toEqual([]);
  });

  test('a stream message of `null` is "got null", not "got object"', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    server.sendRaw('event: unleash-updated\nid: 9\ndata: null\n\n');
    await until(() => errors().length > 0, 'the error');
    expect(errors()[0]).toMatch(/message is unusable \(payload must be a JSON object, got null\)/);
    expect(client.isEnabled('a')).toBe(true);
  });
});

describe('the event-stream media type', () => {
  test.each(['Text/Event-Stream', 'text/event-stream; charset=utf-8', 'TEXT/EVENT-STREAM ;Charset="UTF-8"'])(
    '`Content-Type: %s` is an event stream (media types are case-insensitive, RFC 9110 8.3.1)',
    async (contentType) => {
      const hydration = { events: [{ type: 'hydration', eventId: 1, features: [flag('a')], segments: [] }] };
      const raw = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': contentType });
        res.write(`event: unleash-connected\nid: 1\ndata: ${JSON.stringify(hydration)}\n\n`);
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      try {
        const client = makeClient({ url: `http://127.0.0.1:${(raw.address() as AddressInfo).port}/api`, mode: 'streaming' });
        await client.start();
        expect(errors()).toEqual([]);
        expect(client.isEnabled('a')).toBe(true);
      } finally {
        await Promise.all(clients.map((c) => c.destroy()));
        raw.closeAllConnections();
        await new Promise<void>((resolve) => raw.close(() => resolve()));
      }
    },
  );

  test('another media type is refused, and the message says which one came', async () => {
    server.setFlag(flag('a'));
    server.reply(STREAMING, 'not-sse');
    const client = makeClient({ mode: 'streaming' });
    void client.start();
    await until(() => errors().length > 0, 'the refusal');
    expect(errors()[0]).toMatch(/the answer is not an event stream \(Content-Type "application\/json", expected text\/event-stream\)/);
  });
});

describe('timers never overflow (Node fires a timer set past 2^31 - 1 ms after 1 ms)', () => {
  test('the stream read timer is never set past 2^31-1 ms; a larger streamReadTimeout is a warning', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'streaming', streamReadTimeout: 3e9 });
    void client.start();
    const read = await scheduler.next('stream-read');
    expect(read.delay).toBe(2 ** 31 - 1);
    expect(of('warning').map((w) => w.message)).toContain(
      'streamReadTimeout 3000000000 is above the longest a timer can wait (2147483647 ms, about 24.8 days); using 2147483647',
    );
  });

  test('a StreamConnection given a read timeout past a timer clamps it itself', async () => {
    server.setFlag(flag('a'));
    const failures: unknown[] = [];
    const connection = new StreamConnection({
      open: (lastEventId, signal) => openHttpStream(`${server.url}/client/streaming`, { signal, headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } }),
      url: `${server.url}/client/streaming`,
      shownUrl: `${server.url}/client/streaming`,
      lastEventId: undefined,
      scheduler,
      readTimeout: 1e12,
      maxMessageSize: 1_000_000,
      onOpen: () => undefined,
      onMessage: () => undefined,
      onFailure: (failure) => failures.push(failure),
    });
    void connection.start();
    try {
      const read = await scheduler.next('stream-read');
      expect(read.delay).toBe(MAX_TIMER_DELAY);
      expect(failures).toEqual([]);
    } finally {
      connection.close();
    }
  });

  test('timerDelay and the system scheduler cut a delay to what a timer holds', () => {
    expect(timerDelay(1e12)).toBe(MAX_TIMER_DELAY);
    expect(timerDelay(Infinity)).toBe(MAX_TIMER_DELAY);
    expect(timerDelay(-5)).toBe(0);
    expect(timerDelay(Number.NaN)).toBe(0);
    expect(timerDelay(1_500)).toBe(1_500);
    const handle = systemScheduler.setTimeout(() => undefined, 1e12, 'test');
    try {
      // Node cuts a timer set past the limit to 1 ms (and warns): the delay it holds shows which.
      expect((handle as NodeJS.Timeout & { _idleTimeout: number })._idleTimeout).toBe(MAX_TIMER_DELAY);
    } finally {
      systemScheduler.clearTimeout(handle);
    }
  });
});

describe('delta polling: empty deltas and partial answers to a fresh request', () => {
  test('a 200 with no events is "unchanged" (no fetched event), as the same message is on a stream', async () => {
    server.setFlag(flag('a'));
    const client = makeClient({ mode: 'delta', refreshInterval: 1000 });
    await client.start();
    expect(client.isEnabled('a')).toBe(true);
    const fetchedBefore = of('fetched').length;
    // An Edge that answers 200 `{ events: [] }` instead of 304 when nothing changed.
    server.reply(DELTA, { body: { events: [] }, etag: `"${server.eventId}"` });
    await scheduler.fireNext('fetch');
    await until(() => server.requestsTo(DELTA).length >= 2, 'the second poll');
    // The next poll is scheduled once the answer has been handled, whatever it was.
    await scheduler.next('fetch');
    await settle(20);
    expect(of('fetched')).toHaveLength(fetchedBefore);
    expect(client.status().lastFetch?.outcome).toBe('unchanged');
    expect(client.status().etag).toBe('"1"');
  });

  test('asked for a fresh state, a partial delta leaves the state untrusted: the next poll still asks for a hydration', async () => {
    server.setFlag(flag('a'));
    server.setFlag(flag('b'));
    const client = makeClient({ mode: 'delta' });
    await client.start();
    // Ids that do not follow: the state is untrusted, the next poll goes without If-None-Match.
    server.reply(DELTA, { body: { events: [{ type: 'feature-updated', eventId: 1, feature: flag('a', false) }] }, etag: '"3"' });
    await scheduler.fireNext('fetch');
    await until(() => errors().length > 0, 'the refusal');
    // That fresh request is answered with a partial delta instead of a hydration.
    server.reply(DELTA, { body: { events: [{ type: 'feature-updated', eventId: 5, feature: flag('c') }] }, etag: '"5"' });
    await scheduler.fireNext('fetch');
    expect((await server.waitForRequests(DELTA, 3)).headers['if-none-match']).toBeUndefined();
    await until(() => client.isEnabled('c'), 'the partial delta applied');
    await scheduler.fireNext('fetch');
    expect((await server.waitForRequests(DELTA, 4)).headers['if-none-match']).toBeUndefined();
    // The hydration that answers it makes the state whole: If-None-Match again after it.
    await until(() => client.status().lastFetch?.outcome === 'updated' && client.status().etag === `"${server.eventId}"`, 'rehydrated');
    await scheduler.fireNext('fetch');
    expect((await server.waitForRequests(DELTA, 5)).headers['if-none-match']).toBe(`"${server.eventId}"`);
  });

  test('a stream that reconnected for a fresh state and got a partial delta stays untrusted: the next reconnect sends no Last-Event-ID', async () => {
    server.setFlag(flag('a'));
    server.setFlag(flag('b'));
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForStreams(1);
    server.send('unleash-updated', { events: [{ type: 'feature-updated', eventId: 1, feature: flag('a', false) }] }, 1);
    // The reconnect for a fresh hydration is answered with a partial delta.
    server.reply(STREAMING, { body: { events: [{ type: 'feature-updated', eventId: 9, feature: flag('c') }] }, id: '9' });
    await scheduler.fireNext('stream-reconnect');
    expect((await server.waitForStreams(2)).lastEventId).toBeUndefined();
    await until(() => client.isEnabled('c'), 'the partial delta applied');
    server.dropStreams();
    await scheduler.fireNext('stream-reconnect');
    expect((await server.waitForStreams(3)).lastEventId).toBeUndefined();
    await until(() => client.status().etag === `${server.eventId}` && server.streams.length === 1, 'rehydrated');
    server.dropStreams();
    await scheduler.fireNext('stream-reconnect');
    expect((await server.waitForStreams(4)).lastEventId).toBe(`${server.eventId}`);
  });
});

describe('streaming: the fetch-mode header and the probe back-off', () => {
  test('a server that asks for streaming on every poll while its stream is broken gets one try per backoff period, and the error says polling goes on', async () => {
    server.setFlag(flag('a'));
    server.featuresFetchMode = 'streaming';
    // Refused at first (a failover with a retry), then every try opens and sends garbage.
    server.reply(STREAMING, 429, { body: 'not json' }, { body: 'not json' }, { body: 'not json' });
    const client = makeClient({ mode: 'streaming' });
    await client.start();
    await server.waitForRequests(FEATURES, 1);
    // The first poll's header asks, and nothing was refused since the failover: tried at once.
    await server.waitForRequests(STREAMING, 2);
    const refusals = (): string[] => errors().filter((m) => /unusable/.test(m));
    await until(() => refusals().length > 0, 'the try refused');
    expect(refusals()[0]).toMatch(/"unleash-connected" message is unusable \(payload is not valid JSON.*\); polling goes on, and streaming is tried again later$/);
    expect(errors().join('\n')).not.toMatch(/reconnecting/);
    const retry = await scheduler.next('stream-retry');
    expect(retry.delay).toBe(120_000);
    // Every poll asks again, within the backoff: no new try, no new error.
    for (let poll = 2; poll <= 4; poll++) {
      await scheduler.fireNext('fetch');
      await server.waitForRequests(FEATURES, poll);
      await scheduler.next('fetch');
      await settle(20);
    }
    expect(server.requestsTo(STREAMING)).toHaveLength(2);
    expect(refusals()).toHaveLength(1);
    expect(client.status().mode).toBe('polling');
    // Past the backoff, the header may ask again: one more try.
    scheduler.advance(120_000);
    await scheduler.fireNext('fetch');
    await server.waitForRequests(STREAMING, 3);
    await until(() => refusals().length === 2, 'the second try refused');
    expect(scheduler.pending('stream-retry').map((t) => t.delay)).toEqual([240_000]);
  });
});
