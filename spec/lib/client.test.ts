/**
 * UnleashClient against a real HTTP server on 127.0.0.1, with a manual scheduler: every
 * delay (interval, backoff, jitter) is read off the timer the client set, never slept.
 */
import { jest } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheKeys } from '../../cache/base-cache';
import { cacheFileName, FileCache } from '../../cache/file-cache';
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { Engine, Snapshot } from '../../lib/engine';
import { EventHub, type UnleashEvent } from '../../lib/events';
import { HttpError } from '../../lib/http';
import { MetricsStore } from '../../lib/metrics';
import type { UnleashConfig } from '../../lib/options';
import { Poller } from '../../lib/poller';
import { parseClientPayload } from '../../lib/payload';
import { isDeferred } from '../../lib/engine/compact';
import { checkedFeatures, takenAsTheyAre } from '../support/checked';
import type { Context, FeaturesPayload, Variant } from '../../lib/types';
import { SDK_NAME, SPEC_VERSION } from '../../lib/version';
import { Strategy } from '../../strategies/strategy';
import { ManualScheduler } from '../support/manual-scheduler';
import { endlessBody, TestServer } from '../support/test-server';

const FEATURES = '/api/client/features';
const METRICS = '/api/client/metrics';
const REGISTER = '/api/client/register';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Flag = Record<string, unknown>;

function flag(name: string, extra: Flag = {}): Flag {
  return { name, enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }], impressionData: false, ...extra };
}

function body(...flags: Flag[]): { version: number; features: Flag[]; segments: unknown[] } {
  return { version: 2, features: flags, segments: [] };
}

const variantFlag = flag('colour', {
  variants: [{ name: 'blue', weight: 1000, stickiness: 'default', payload: { type: 'string', value: 'b' } }],
});

/** Collects events and lets a test wait for one. */
class Recorder {
  readonly events: UnleashEvent[] = [];
  private waiters: { match: (e: UnleashEvent) => boolean; resolve: (e: UnleashEvent) => void }[] = [];

  readonly callback = (event: UnleashEvent): void => {
    this.events.push(event);
    const hit = this.waiters.filter((w) => w.match(event));
    this.waiters = this.waiters.filter((w) => !hit.includes(w));
    for (const w of hit) w.resolve(event);
  };

  of<T extends UnleashEvent['type']>(type: T): Extract<UnleashEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<UnleashEvent, { type: T }>[];
  }

  errors(): Error[] {
    return this.of('error').map((e) => e.error);
  }

  next<T extends UnleashEvent['type']>(type: T, match: (e: Extract<UnleashEvent, { type: T }>) => boolean = () => true): Promise<Extract<UnleashEvent, { type: T }>> {
    const existing = this.of(type).find(match);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) =>
      this.waiters.push({ match: (e) => e.type === type && match(e as never), resolve: resolve as (e: UnleashEvent) => void }),
    );
  }
}

const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

let server: TestServer;
let scheduler: ManualScheduler;
let recorder: Recorder;
let clients: UnleashClient[];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

beforeEach(async () => {
  server = await TestServer.start();
  scheduler = new ManualScheduler();
  recorder = new Recorder();
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
    appName: 'test-app',
    instanceId: 'instance-1',
    customHeaders: { Authorization: 'client-secret-token' },
    cache: new MemoryCache(),
    disableMetrics: true,
    disableRegistration: true,
    scheduler,
    eventCallback: recorder.callback,
    ...options,
  });
  clients.push(client);
  return client;
}

describe('fetching', () => {
  test('sends the identity headers, custom headers and filters the wire notes list', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({
      projectName: 'checkout',
      namePrefix: 'web.',
      tags: [
        { name: 'simple', value: 'x' },
        { name: 'team', value: 'y' },
      ],
      customHeaders: {
        Authorization: 'client-secret-token',
        'Unleash-Connection-Id': 'spoofed',
        'UNLEASH-INTERVAL': '1',
        'X-Extra': 'yes',
      },
    });
    await client.start();
    const [request] = server.requestsTo(FEATURES);
    expect(request!.query.get('project')).toBe('checkout');
    expect(request!.query.get('namePrefix')).toBe('web.');
    expect(request!.query.getAll('tag')).toEqual(['simple:x', 'team:y']);
    expect(client.connectionId).toMatch(UUID_V4);
    expect(request!.headers).toMatchObject({
      authorization: 'client-secret-token',
      'x-extra': 'yes',
      'unleash-appname': 'test-app',
      'unleash-instanceid': 'instance-1',
      'unleash-connection-id': client.connectionId,
      'unleash-interval': '15000',
      'unleash-sdk': SDK_NAME,
      'unleash-client-spec': SPEC_VERSION,
    });
    expect(request!.headers['user-agent']).toMatch(/^switchyard\//);
    expect(request!.headers['if-none-match']).toBeUndefined();
  });

  test('the connection id is fixed per client and differs between clients', async () => {
    server.serveFeatures(body(flag('a')));
    const one = makeClient();
    const two = makeClient();
    await one.start();
    await two.start();
    await scheduler.fireNext('fetch');
    await server.waitForRequest('GET', FEATURES, 3);
    const ids = server.requestsTo(FEATURES).map((r) => r.headers['unleash-connection-id']);
    expect(ids).toEqual([one.connectionId, two.connectionId, expect.any(String)]);
    expect(one.connectionId).not.toBe(two.connectionId);
    expect([one.connectionId, two.connectionId]).toContain(ids[2]);
  });

  test('customHeadersFunction is called for every request and wins over customHeaders', async () => {
    server.serveFeatures(body(flag('a')));
    let calls = 0;
    const client = makeClient({
      customHeadersFunction: async () => ({ Authorization: `rotated-${++calls}` }),
    });
    await client.start();
    await scheduler.fireNext('fetch');
    const second = await server.waitForRequest('GET', FEATURES, 2);
    expect(server.requestsTo(FEATURES)[0]!.headers.authorization).toBe('rotated-1');
    expect(second.headers.authorization).toBe('rotated-2');
  });

  test('a throwing customHeadersFunction fails that fetch with an error event and backs off', async () => {
    const client = makeClient({
      customHeadersFunction: () => {
        throw new Error('vault unreachable');
      },
    });
    await client.start();
    expect(server.requests).toHaveLength(0);
    expect(recorder.errors()[0]!.message).toMatch(/customHeadersFunction failed.*vault unreachable/);
    expect((await scheduler.next('fetch')).delay).toBe(30_000);
  });

  test('start() resolves once READY; isEnabled serves the fetched flags; READY then FETCHED with the flags', async () => {
    server.serveFeatures(body(flag('on'), flag('off', { enabled: false })), '"v1"');
    const client = makeClient();
    await client.start();
    expect(client.isEnabled('on')).toBe(true);
    expect(client.isEnabled('off')).toBe(false);
    expect(recorder.events.map((e) => e.type)).toEqual(['mode', 'ready', 'fetched']);
    expect(recorder.of('ready')[0]).toEqual({ type: 'ready', from: 'server' });
    const fetched = recorder.of('fetched')[0]!;
    expect(fetched.etag).toBe('"v1"');
    expect(fetched.features.map((f) => f.name)).toEqual(['on', 'off']);
    expect(fetched.flagNames).toEqual(['on', 'off']);
  });

  test('FETCHED gives checked definitions (what the checking door gives) though the client checks each flag only when first needed', async () => {
    // Numbers where strings are typed, a rollout as a number, a variant weight as text.
    const odd = {
      name: 'odd',
      enabled: true,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: 100, stickiness: 'userId' }, constraints: [{ contextName: 'plan', operator: 'IN', values: [1, 'pro'] }] }],
      variants: [{ name: 'v', weight: '1000', stickiness: 'userId' }],
    };
    const text = JSON.stringify({ version: 2, features: [odd, flag('plain')] });
    server.serveFeatures(JSON.parse(text), '"v1"');
    const client = makeClient();
    await client.start();
    const fetched = recorder.of('fetched')[0]!;
    expect(fetched.flagNames).toEqual(['odd', 'plain']);
    const checked = parseClientPayload(text).payload;
    expect(checked.kind === 'full' && [...fetched.features]).toStrictEqual(checked.kind === 'full' && checked.features);
    expect(client.isEnabled('odd', { userId: 'u', properties: { plan: '1' } })).toBe(true);
    expect(client.getFlags()).toStrictEqual(fetched.features);
  });

  test('after a fetch, the cache gets the checked, compact definitions the client keeps, once they are checked', async () => {
    const flags = Array.from({ length: 3000 }, (_, i) => flag(`f${i}`, { strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'n', operator: 'NUM_GT', value: i }] }] }));
    server.serveFeatures(body(...flags), '"v1"');
    const cache = new MemoryCache();
    const client = makeClient({ cache });
    await client.start();
    // The check runs in slices after ready (3,000 flags: more than one slice).
    for (let i = 0; i < 200 && cache.get(CacheKeys.FEATURES) === undefined; i++) await new Promise((r) => setImmediate(r));
    const stored = cache.get(CacheKeys.FEATURES) as FeaturesPayload;
    expect(stored.features).toHaveLength(3000);
    expect(takenAsTheyAre(stored.features)).toBe(true);
    expect(cache.get(CacheKeys.ETAG)).toBe('"v1"');
    expect(JSON.parse(JSON.stringify(stored.features))).toEqual(client.getFlags());
  });

  test('destroy() right after start stores the fetched flags even while their check is still going on', async () => {
    const flags = Array.from({ length: 5000 }, (_, i) => flag(`f${i}`));
    server.serveFeatures(body(...flags), '"v1"');
    const cache = new MemoryCache();
    const client = makeClient({ cache });
    await client.start();
    await client.destroy();
    const stored = cache.get(CacheKeys.FEATURES) as FeaturesPayload;
    expect(stored.features.map((f) => f.name)).toEqual(flags.map((f) => f.name));
    // Written before the check finished: the last flags are still as the server sent them.
    expect(isDeferred(stored.features[4999]!)).toBe(true);
    // And what was stored loads back to the same flags.
    const again = makeClient({ cache, offline: true });
    await again.start();
    expect(again.getFlags()).toEqual(checkedFeatures(stored.features));
  });

  test('the client finds its flags in its own table: no snapshot builds a second index of every name', async () => {
    const get = jest.spyOn(Snapshot.prototype, 'get');
    try {
      server.serveFeatures(body(flag('a'), flag('b', { variants: [{ name: 'v', weight: 1000, weightType: 'variable' }] })), '"v1"');
      const client = makeClient();
      await client.start();
      expect(client.isEnabled('a', { userId: 'u' })).toBe(true);
      expect(client.getVariant('b', { userId: 'u' }).name).toBe('v');
      expect(client.evaluate('b', { userId: 'u' }).enabled).toBe(true);
      expect(client.getFlags().map((f) => f.name)).toEqual(['a', 'b']);
      expect(get).not.toHaveBeenCalled();
    } finally {
      get.mockRestore();
    }
  });

  describe('a MemoryCache the client started from', () => {
    const manyFlags = () => Array.from({ length: 3000 }, (_, i) => flag(`f${i}`, { strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'n', operator: 'NUM_GT', value: i }] }] }));
    const untilReplaced = async (cache: MemoryCache, held: unknown) => {
      for (let i = 0; i < 200 && cache.get(CacheKeys.FEATURES) === held; i++) await new Promise((r) => setImmediate(r));
    };

    test.each([
      ['a bootstrap', (cache: MemoryCache, text: string) => cache.bootstrapFromDict(text)],
      ['the cache of an earlier run', async (cache: MemoryCache, text: string) => {
        cache.set(CacheKeys.FEATURES, JSON.parse(text));
        cache.set(CacheKeys.ETAG, '"old"');
      }],
    ])('holds the compact definitions once they are checked, not the JSON it was given (from %s)', async (_, fill) => {
      const text = JSON.stringify(body(...manyFlags()));
      const cache = new MemoryCache();
      await fill(cache, text);
      const held = cache.get(CacheKeys.FEATURES);
      const etag = cache.get(CacheKeys.ETAG);
      const client = makeClient({ cache, offline: true });
      await client.start();
      await untilReplaced(cache, held);
      const stored = cache.get(CacheKeys.FEATURES) as FeaturesPayload;
      expect(stored).not.toBe(held);
      expect(takenAsTheyAre(stored.features)).toBe(true);
      // The ETag key is left as it was; the definitions are the ones the client serves.
      expect(cache.get(CacheKeys.ETAG)).toBe(etag);
      expect(JSON.parse(JSON.stringify(stored.features))).toEqual(client.getFlags());
      const checked = parseClientPayload(text).payload;
      expect(checked.kind === 'full' && stored.features).toStrictEqual(checked.kind === 'full' && checked.features);
      // And they load back to the same flags.
      const again = makeClient({ cache, offline: true });
      await again.start();
      expect(again.getFlags()).toEqual(client.getFlags());
    });

    test('a flag pushed into the stored list later is read like any hand-built one by the next client', async () => {
      const cache = new MemoryCache();
      await cache.bootstrapFromDict(JSON.stringify(body(flag('a'))));
      const held = cache.get(CacheKeys.FEATURES);
      const first = makeClient({ cache, offline: true });
      await first.start();
      await untilReplaced(cache, held);
      (cache.get(CacheKeys.FEATURES) as FeaturesPayload).features.push({ name: 'h', enabled: true } as FeaturesPayload['features'][number]);
      const next = makeClient({ cache, offline: true });
      await next.start();
      expect(next.isEnabled('h')).toBe(true);
      expect(next.evaluate('h').reason.kind).toBe('NO_STRATEGIES');
    });

    test('is left alone when something else wrote to it meanwhile', async () => {
      const cache = new MemoryCache();
      await cache.bootstrapFromDict(JSON.stringify(body(...manyFlags())));
      const client = makeClient({ cache, offline: true });
      await client.start();
      const theirs = { version: 2, features: [] };
      cache.set(CacheKeys.FEATURES, theirs);
      for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
      expect(cache.get(CacheKeys.FEATURES)).toBe(theirs);
      expect(client.getFlags()).toHaveLength(3000);
    });
  });

  test('ETag round trip: If-None-Match goes out, 304 keeps the flags and fires no FETCHED', async () => {
    server.serveFeatures(body(flag('a')), '"etag-1"');
    const client = makeClient();
    await client.start();
    const timer = await scheduler.next('fetch');
    expect(timer.delay).toBe(15_000);
    scheduler.fire(timer);
    const second = await server.waitForRequest('GET', FEATURES, 2);
    expect(second.headers['if-none-match']).toBe('"etag-1"');
    await scheduler.next('fetch');
    expect(client.isEnabled('a')).toBe(true);
    expect(recorder.of('fetched')).toHaveLength(1);
    expect(recorder.of('ready')).toHaveLength(1);
  });

  test('a 200 with the same body is not recompiled: no FETCHED, and a new ETag is adopted', async () => {
    server.reply('GET', FEATURES, { body: body(flag('a')), headers: { etag: '"e1"' } }, { body: body(flag('a')), headers: { etag: '"e2"' } }, { body: body(flag('a')) });
    const client = makeClient();
    await client.start();
    await scheduler.fireNext('fetch');
    await server.waitForRequest('GET', FEATURES, 2);
    await scheduler.next('fetch');
    expect(recorder.of('fetched')).toHaveLength(1);
    expect(client.isEnabled('a')).toBe(true);
    await scheduler.fireNext('fetch');
    const third = await server.waitForRequest('GET', FEATURES, 3);
    expect(third.headers['if-none-match']).toBe('"e2"');
  });

  test('a new 200 replaces the flags and fires FETCHED again, READY only once', async () => {
    server.reply('GET', FEATURES, { body: body(flag('a')) }, { body: body(flag('b')) });
    const client = makeClient();
    await client.start();
    await scheduler.fireNext('fetch');
    await recorder.next('fetched', (e) => e.features[0]?.name === 'b');
    expect(client.isEnabled('a')).toBe(false);
    expect(client.isEnabled('b')).toBe(true);
    expect(recorder.of('ready')).toHaveLength(1);
    expect(recorder.of('fetched')).toHaveLength(2);
  });

  test.each([401, 403])('%i stops polling with an error naming the status and never the token', async (status) => {
    server.reply('GET', FEATURES, { status });
    const client = makeClient();
    await client.start();
    const [error] = recorder.errors();
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(status);
    expect(error!.message).toContain(String(status));
    expect(error!.message).toMatch(/polling stopped/);
    expect(error!.message).not.toContain('client-secret-token');
    expect(scheduler.pending('fetch')).toHaveLength(0);
    expect(client.isEnabled('anything')).toBe(false);
  });

  test('401 after flags were served keeps serving the last good flags', async () => {
    server.reply('GET', FEATURES, { body: body(flag('a')) }, { status: 401 });
    const client = makeClient();
    await client.start();
    await scheduler.fireNext('fetch');
    await recorder.next('error');
    expect(client.isEnabled('a')).toBe(true);
    expect(scheduler.pending('fetch')).toHaveLength(0);
  });

  test.each([404, 429, 500, 502, 503, 504])('%i backs off (interval × (1 + failures)) and recovers', async (status) => {
    server.reply('GET', FEATURES, { status }, { status }, { status });
    server.serveFeatures(body(flag('a')));
    const client = makeClient();
    await client.start();
    expect(client.isEnabled('a')).toBe(false);
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const timer = await scheduler.next('fetch');
      delays.push(timer.delay);
      scheduler.fire(timer);
      await server.waitForRequest('GET', FEATURES, i + 2);
    }
    // Success reduces the failure count by one, not to zero.
    delays.push((await scheduler.next('fetch')).delay);
    expect(delays).toEqual([30_000, 45_000, 60_000, 45_000]);
    expect(client.isEnabled('a')).toBe(true);
    expect(recorder.errors().map((e) => (e as HttpError).status)).toEqual([status, status, status]);
    expect(recorder.of('ready')).toEqual([{ type: 'ready', from: 'server' }]);
  });

  test('backoff is capped at 10 failures', async () => {
    server.setDefault('GET', FEATURES, { status: 500 });
    const client = makeClient();
    await client.start();
    let last = 0;
    for (let i = 0; i < 12; i++) {
      const timer = await scheduler.next('fetch');
      last = timer.delay;
      scheduler.fire(timer);
      await server.waitForRequest('GET', FEATURES, i + 2);
    }
    expect(last).toBe(15_000 * 11);
    expect((await scheduler.next('fetch')).delay).toBe(15_000 * 11);
  });

  test('a dropped connection and a timeout back off like a 5xx', async () => {
    server.reply('GET', FEATURES, { drop: true }, { hold: true });
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ timeout: 200 });
    await client.start();
    expect((recorder.errors()[0] as HttpError).code).toBe('HTTP_NETWORK');
    const timer = await scheduler.next('fetch');
    expect(timer.delay).toBe(30_000);
    scheduler.fire(timer);
    await recorder.next('error', (e) => (e.error as HttpError).code === 'HTTP_TIMEOUT');
    expect((await scheduler.next('fetch')).delay).toBe(45_000);
    server.dropHeld();
  });

  test('a malformed body keeps the last good flags, emits an error and backs off', async () => {
    server.reply('GET', FEATURES, { body: body(flag('a')) }, { body: '{"features": oops' }, { body: { features: 'nope' } });
    const client = makeClient();
    await client.start();
    await scheduler.fireNext('fetch');
    await recorder.next('error');
    expect((await scheduler.next('fetch')).delay).toBe(30_000);
    await scheduler.fireNext('fetch');
    await server.waitForRequest('GET', FEATURES, 3);
    expect((await scheduler.next('fetch')).delay).toBe(45_000);
    expect(recorder.errors().map((e) => (e as HttpError).code)).toEqual(['PAYLOAD_NOT_JSON', 'PAYLOAD_INVALID']);
    expect(recorder.errors()[1]!.message).toMatch(/features/);
    expect(client.isEnabled('a')).toBe(true);
  });

  describe('a url without /api: a 403, a 404 or a body that is not JSON says so', () => {
    const html = '<!doctype html><html><head><title>Unleash</title></head><body><div id="app"></div></body></html>';
    type Answer = { status: number; body?: string; headers?: Record<string, string> };
    const answers: [string, Answer, string, boolean][] = [
      ['403', { status: 403 }, 'HTTP_STATUS', true],
      ['404', { status: 404, body: 'Not Found' }, 'HTTP_STATUS', false],
      ['an HTML page with 200', { status: 200, body: html, headers: { 'content-type': 'text/html' } }, 'PAYLOAD_NOT_JSON', false],
    ];

    test.each(answers)('%s', async (_label, answer, code, fatal) => {
      server.reply('GET', '/client/features', answer);
      const client = makeClient({ url: server.origin });
      await client.start();
      const [error] = recorder.errors() as HttpError[];
      expect(error).toBeInstanceOf(HttpError);
      expect(error!.code).toBe(code);
      expect(error!.message).toContain(`The url option does not end with "/api", where Unleash serves the client API: it should probably be ${server.origin}/api`);
      if (fatal) expect(error!.message).toMatch(/\/api\. If the url is right, check the client API token/);
      expect(scheduler.pending('fetch')).toHaveLength(fatal ? 0 : 1);
    });

    test.each(answers)('%s from a url ending with /api: no hint', async (_label, answer, code) => {
      server.reply('GET', FEATURES, answer);
      const client = makeClient();
      await client.start();
      const [error] = recorder.errors() as HttpError[];
      expect(error!.code).toBe(code);
      expect(error!.message).not.toContain('/api"');
      if (answer.status === 403) expect(error!.message).toMatch(/polling stopped\. Check the client API token/);
    });

    test.each([
      ['401', { status: 401 }],
      ['500', { status: 500 }],
      ['JSON of the wrong shape', { status: 200, body: '{"flags":[]}', headers: { 'content-type': 'application/json' } }],
    ])('%s from a url without /api: no hint, the cause is elsewhere', async (_label, answer) => {
      server.reply('GET', '/client/features', answer);
      const client = makeClient({ url: server.origin });
      await client.start();
      expect(recorder.errors()[0]!.message).not.toContain('/api"');
    });

    test('the suggestion keeps a base path and never shows credentials', async () => {
      server.reply('GET', '/unleash/client/features', { status: 404 });
      const client = makeClient({ url: `http://user:s3cret-pass@${server.origin.slice('http://'.length)}/unleash/` });
      await client.start();
      const [error] = recorder.errors();
      expect(error!.message).toContain(`it should probably be ${server.origin}/unleash/api`);
      expect(error!.message).not.toContain('s3cret');
    });
  });

  test('a body larger than maxBodySize is an error naming the limit; the last good flags keep serving and polling backs off', async () => {
    server.reply('GET', FEATURES, { body: body(flag('a')) }, endlessBody(), { body: 'x'.repeat(2000) });
    const client = makeClient({ maxBodySize: 1000 });
    await client.start();
    await scheduler.fireNext('fetch');
    const { error } = await recorder.next('error');
    expect(error).toMatchObject({ code: 'HTTP_BODY_TOO_LARGE' });
    expect(error.message).toBe(
      `GET ${server.url}/client/features: the response body exceeds the limit of 1000 bytes; the request was aborted. ` +
        'Keeping the last good flags; raise the maxBodySize option if the flags really are that large',
    );
    expect(client.isEnabled('a')).toBe(true);
    const timer = await scheduler.next('fetch');
    expect(timer.delay).toBe(30_000);
    scheduler.fire(timer);
    await recorder.next('error', (e) => e.error !== error);
    expect(recorder.errors().map((e) => (e as HttpError).code)).toEqual(['HTTP_BODY_TOO_LARGE', 'HTTP_BODY_TOO_LARGE']);
    expect(client.isEnabled('a')).toBe(true);
  });

  test('jitter spreads the interval by up to ±10 %', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient();
    scheduler.randomValue = 0;
    await client.start();
    expect((await scheduler.next('fetch')).delay).toBe(13_500);
    scheduler.randomValue = 0.999999;
    await scheduler.fireNext('fetch');
    await server.waitForRequest('GET', FEATURES, 2);
    expect((await scheduler.next('fetch')).delay).toBe(16_500);
  });

  test('refreshInterval 0 fetches once', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ refreshInterval: 0 });
    await client.start();
    await settle();
    expect(server.requestsTo(FEATURES)).toHaveLength(1);
    expect(server.requestsTo(FEATURES)[0]!.headers['unleash-interval']).toBe('0');
    expect(scheduler.pending('fetch')).toHaveLength(0);
    expect(client.isEnabled('a')).toBe(true);
  });

  test('start() resolves when the first fetch fails with no data, and is the same promise when called again', async () => {
    server.reply('GET', FEATURES, { status: 500 });
    const client = makeClient();
    const first = client.start();
    expect(client.start()).toBe(first);
    await first;
    expect(recorder.of('ready')).toHaveLength(0);
    expect(server.requestsTo(FEATURES)).toHaveLength(1);
  });

  test('start() never hangs past the timeout when the server does not answer', async () => {
    server.setDefault('GET', FEATURES, { hold: true });
    const client = makeClient({ timeout: 250 });
    await client.start();
    expect((recorder.errors()[0] as HttpError).code).toBe('HTTP_TIMEOUT');
    server.dropHeld();
  });

  test('a delta body applies onto the current flags', async () => {
    server.reply(
      'GET',
      FEATURES,
      { body: body(flag('a'), flag('b')) },
      { body: { events: [{ type: 'feature-removed', eventId: 2, featureName: 'a' }, { type: 'feature-updated', eventId: 3, feature: flag('c') }] } },
    );
    const client = makeClient();
    await client.start();
    await scheduler.fireNext('fetch');
    const fetched = await recorder.next('fetched', (e) => e.features.some((f) => f.name === 'c'));
    expect(fetched.features.map((f) => f.name).sort()).toEqual(['b', 'c']);
    expect(client.isEnabled('a')).toBe(false);
    expect(client.isEnabled('c')).toBe(true);
  });
});

describe('caches and bootstrap', () => {
  test.each([
    ['a delta that starts with a hydration', { events: [{ type: 'hydration', eventId: 1, features: [flag('cached')], segments: [] }] }, true, []],
    ['a delta without a hydration, served with a warning', { events: [{ type: 'feature-updated', eventId: 1, feature: flag('cached') }] }, true, [/does not start with a hydration/]],
    ['a delta with no events, refused', { events: [] }, false, [/the cached flags are unusable \(a delta body with no events holds no flags\)/]],
  ])('a cached body that is %s follows the bootstrap rule', async (_name, cached, served, warnings) => {
    const cache = new MemoryCache();
    cache.set(CacheKeys.FEATURES, cached);
    const client = makeClient({ offline: true, url: undefined, cache });
    await client.start();
    expect(client.isEnabled('cached')).toBe(served);
    const seen = recorder.of('warning').filter((w) => w.origin === 'cache').map((w) => w.message);
    for (const w of warnings) expect(seen).toEqual(expect.arrayContaining([expect.stringMatching(w)]));
  });

  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-client-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the payload and ETag are written after a fetch and reused across a restart', async () => {
    server.serveFeatures(body(flag('cached')), '"e7"');
    const first = makeClient({ cache: new FileCache({ appName: 'test-app', directory: dir }) });
    await first.start();
    await first.destroy();
    const file = JSON.parse(await readFile(join(dir, 'switchyard-test-app.json'), 'utf8'));
    expect(file.entries[CacheKeys.ETAG]).toBe('"e7"');
    expect(file.entries[CacheKeys.FEATURES].features[0].name).toBe('cached');

    // The restarted client serves from the cache at once, and revalidates with the ETag.
    server.setDefault('GET', FEATURES, { hold: true });
    const second = makeClient({ cache: new FileCache({ appName: 'test-app', directory: dir }) });
    await second.start();
    expect(recorder.of('ready').at(-1)).toEqual({ type: 'ready', from: 'cache' });
    expect(second.isEnabled('cached')).toBe(true);
    const revalidation = await server.waitForRequest('GET', FEATURES, 2);
    expect(revalidation.headers['if-none-match']).toBe('"e7"');
    server.dropHeld();
  });

  test('the cache keeps serving while the server is down', async () => {
    const cache = new MemoryCache();
    await cache.mset({ [CacheKeys.FEATURES]: body(flag('kept')), [CacheKeys.ETAG]: '"old"' });
    server.setDefault('GET', FEATURES, { status: 503 });
    const client = makeClient({ cache });
    await client.start();
    expect(client.isEnabled('kept')).toBe(true);
    await recorder.next('error');
    expect(client.isEnabled('kept')).toBe(true);
  });

  test('a FileCache the user built reports a corrupt file as a warning event, not through process.emitWarning', async () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const path = join(dir, 'switchyard-test-app.json');
      await writeFile(path, '{ this is not json');
      server.serveFeatures(body(flag('fresh')));
      const client = makeClient({ cache: new FileCache({ appName: 'test-app', directory: dir }) });
      await client.start();
      expect(client.isEnabled('fresh')).toBe(true);
      const warning = recorder.of('warning').find((w) => /not valid JSON/.test(w.message));
      expect(warning).toMatchObject({ type: 'warning', origin: 'cache' });
      expect(warning!.message).toContain(path);
      expect(spy).not.toHaveBeenCalled();
      await client.destroy();
      expect(JSON.parse(await readFile(path, 'utf8')).entries.features.features[0].name).toBe('fresh');
    } finally {
      spy.mockRestore();
    }
  });

  describe('a cache file the client cannot use is replaced by the next good fetch', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const cached = JSON.stringify({ version: 2, features: [flag('stale')] });
    test.each([
      ['corrupt', '{"format":"switchyard-cache","version":1,"entries":{"features":', /not valid JSON/],
      ['foreign', JSON.stringify({ appName: 'someone-else', features: [flag('stale')] }), /not a switchyard cache file/],
      ['nested 100 000 levels deep', `{"format":"switchyard-cache","version":1,"entries":{"etag":"\\"old\\"","features":${deep}}}`, /nested too deeply/],
      ['of an unsupported version', `{"format":"switchyard-cache","version":2,"entries":{"etag":"\\"old\\"","features":${cached}}}`, /format version 2/],
    ])('%s', async (_label, text, warning) => {
      const path = join(dir, 'switchyard-test-app.json');
      await writeFile(path, text);
      server.serveFeatures(body(flag('fresh')), '"fresh-1"');
      const client = makeClient({ cache: new FileCache({ appName: 'test-app', directory: dir }) });
      await client.start();
      expect(recorder.of('ready')).toEqual([{ type: 'ready', from: 'server' }]);
      // Nothing unusable was sent back as an ETag.
      expect(server.requestsTo(FEATURES)[0]!.headers['if-none-match']).toBeUndefined();
      expect(client.isEnabled('fresh')).toBe(true);
      expect(client.isEnabled('stale')).toBe(false);
      expect(recorder.of('warning').some((w) => w.origin === 'cache' && warning.test(w.message))).toBe(true);
      expect(recorder.errors()).toEqual([]);
      await client.destroy();

      const healed = JSON.parse(await readFile(path, 'utf8'));
      expect(healed).toMatchObject({ format: 'switchyard-cache', version: 1, entries: { etag: '"fresh-1"' } });
      expect(healed.entries.features.features.map((f: Flag) => f.name)).toEqual(['fresh']);
      // A restart serves the healed file at once and revalidates with its ETag.
      server.setDefault('GET', FEATURES, { status: 304 });
      const restarted = makeClient({ cache: new FileCache({ appName: 'test-app', directory: dir }) });
      await restarted.start();
      expect(recorder.of('ready').at(-1)).toEqual({ type: 'ready', from: 'cache' });
      expect(restarted.isEnabled('fresh')).toBe(true);
      expect((await server.waitForRequest('GET', FEATURES, 2)).headers['if-none-match']).toBe('"fresh-1"');
    });

    test('a foreign file is kept beside the cache, byte for byte', async () => {
      const path = join(dir, 'switchyard-test-app.json');
      const foreign = '{"this":"is someone else\'s file"}\n';
      await writeFile(path, foreign);
      server.serveFeatures(body(flag('fresh')));
      const client = makeClient({ cache: new FileCache({ appName: 'test-app', directory: dir }) });
      await client.start();
      await client.destroy();
      const copies = (await readdir(dir)).filter((name) => name.startsWith('switchyard-test-app.json.foreign-'));
      expect(copies).toHaveLength(1);
      expect(await readFile(join(dir, copies[0]!), 'utf8')).toBe(foreign);
      expect(recorder.of('warning').some((w) => w.origin === 'cache' && w.message.includes(copies[0]!))).toBe(true);
    });
  });

  test('the default cache reports the same way', async () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const appName = `client-default-cache-${process.pid}`;
    const path = join(tmpdir(), cacheFileName(appName));
    try {
      await writeFile(path, 'not json either');
      server.serveFeatures(body(flag('fresh')));
      const client = makeClient({ appName, cache: undefined });
      await client.start();
      await client.destroy();
      expect(recorder.of('warning').filter((w) => w.origin === 'cache' && w.message.includes(path))).toHaveLength(1);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      await rm(path, { force: true });
    }
  });

  test('unusable cached flags are a warning, and the client fetches without an ETag', async () => {
    const cache = new MemoryCache();
    await cache.mset({ [CacheKeys.FEATURES]: { features: 'broken' }, [CacheKeys.ETAG]: '"stale"' });
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ cache });
    await client.start();
    expect(recorder.of('warning').some((w) => w.origin === 'cache')).toBe(true);
    expect(server.requestsTo(FEATURES)[0]!.headers['if-none-match']).toBeUndefined();
    expect(recorder.of('ready')).toEqual([{ type: 'ready', from: 'server' }]);
  });

  test('a cache that throws on read is an error event, not a failed start', async () => {
    class BrokenCache extends MemoryCache {
      override get(): unknown {
        throw new Error('disk on fire');
      }
    }
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ cache: new BrokenCache() });
    await client.start();
    expect(client.isEnabled('a')).toBe(true);
    expect(recorder.of('error').some((e) => e.origin === 'cache')).toBe(true);
  });

  test('bootstrap from a file serves flags while the server is down', async () => {
    const path = join(dir, 'bootstrap.json');
    await writeFile(path, JSON.stringify(body(flag('boot'))));
    const cache = new MemoryCache();
    await cache.bootstrapFromFile(path);
    server.setDefault('GET', FEATURES, { status: 503 });
    const client = makeClient({ cache });
    await client.start();
    expect(recorder.of('ready')).toEqual([{ type: 'ready', from: 'bootstrap' }]);
    expect(client.isEnabled('boot')).toBe(true);
    await recorder.next('error');
    expect(client.isEnabled('boot')).toBe(true);
  });

  test('bootstrap from a loopback URL serves flags while the server is unreachable', async () => {
    const published = await TestServer.start();
    try {
      published.setDefault('GET', '/flags.json', { body: body(flag('from-url')) });
      const cache = new MemoryCache();
      await cache.bootstrapFromUrl(`${published.origin}/flags.json`);
      const down = await TestServer.start();
      const url = down.url;
      await down.close();
      const client = makeClient({ cache, url });
      await client.start();
      expect(client.isEnabled('from-url')).toBe(true);
      await recorder.next('error', (e) => (e.error as HttpError).code === 'HTTP_NETWORK');
      expect(client.isEnabled('from-url')).toBe(true);
    } finally {
      await published.close();
    }
  });

  test('a bootstrapped client fetching with success replaces the bootstrap and writes the cache', async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromDict(body(flag('boot')));
    server.serveFeatures(body(flag('live')), '"live-1"');
    const client = makeClient({ cache });
    await client.start();
    expect(client.isEnabled('boot')).toBe(true);
    expect((await server.waitForRequest('GET', FEATURES)).headers['if-none-match']).toBeUndefined();
    await recorder.next('fetched');
    expect(client.isEnabled('boot')).toBe(false);
    expect(client.isEnabled('live')).toBe(true);
    await client.destroy();
    expect(cache.get(CacheKeys.ETAG)).toBe('"live-1"');
    expect((cache.get(CacheKeys.FEATURES) as FeaturesPayload).features.map((f) => f.name)).toEqual(['live']);
  });

  test('offline: no request at all, flags from the bootstrapped cache, url not needed', async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromDict(body(flag('offline-flag')));
    const client = new UnleashClient({ appName: 'test-app', offline: true, cache, scheduler, eventCallback: recorder.callback });
    clients.push(client);
    await client.start();
    expect(client.isEnabled('offline-flag')).toBe(true);
    await client.destroy();
    expect(server.requests).toHaveLength(0);
    expect(scheduler.pending()).toHaveLength(0);
  });

  test('offline with an empty cache warns and answers fallbacks', async () => {
    const client = new UnleashClient({ appName: 'test-app', offline: true, cache: new MemoryCache(), scheduler, eventCallback: recorder.callback });
    clients.push(client);
    await client.start();
    expect(recorder.of('warning').some((w) => /offline/.test(w.message))).toBe(true);
    expect(client.isEnabled('x', undefined, true)).toBe(true);
  });
});

describe('events', () => {
  const impressive = flag('imp', { impressionData: true, variants: [{ name: 'v1', weight: 1000, stickiness: 'default' }] });

  test('impression events carry the kind, context with defaults, result, variant and a unique id', async () => {
    server.serveFeatures(body(impressive, flag('quiet')));
    const client = makeClient({ environment: 'staging' });
    await client.start();
    expect(client.isEnabled('imp', { userId: 'u1' })).toBe(true);
    expect(client.getVariant('imp', { userId: 'u1' }).name).toBe('v1');
    client.isEnabled('quiet');
    client.getVariant('quiet');
    const impressions = recorder.of('impression');
    expect(impressions).toHaveLength(2);
    expect(impressions[0]).toEqual({
      type: 'impression',
      eventType: 'isEnabled',
      eventId: expect.stringMatching(UUID_V4),
      featureName: 'imp',
      context: { userId: 'u1', appName: 'test-app', environment: 'staging' },
      enabled: true,
    });
    expect(impressions[1]).toMatchObject({ eventType: 'getVariant', featureName: 'imp', enabled: true, variant: 'v1' });
    expect(impressions[0]!.eventId).not.toBe(impressions[1]!.eventId);
  });

  test('no impression for unknown flags or flags without impressionData', async () => {
    server.serveFeatures(body(flag('quiet')));
    const client = makeClient();
    await client.start();
    client.isEnabled('quiet');
    client.isEnabled('unknown');
    client.getVariant('unknown');
    expect(recorder.of('impression')).toHaveLength(0);
  });

  test('listeners added with on() receive events, and off() removes them', async () => {
    server.serveFeatures(body(impressive));
    const client = new UnleashClient({ url: server.url, appName: 'test-app', cache: new MemoryCache(), disableMetrics: true, disableRegistration: true, scheduler });
    clients.push(client);
    const seen: string[] = [];
    const handler = (e: { featureName: string }): void => {
      seen.push(e.featureName);
    };
    client.on('impression', handler);
    const ready = new Promise((resolve) => client.on('ready', resolve));
    await client.start();
    await ready;
    client.isEnabled('imp');
    client.off('impression', handler);
    client.isEnabled('imp');
    expect(seen).toEqual(['imp']);
  });

  test('a throwing eventCallback is reported and never breaks evaluation or polling', async () => {
    server.serveFeatures(body(impressive));
    const events: UnleashEvent[] = [];
    const client = makeClient({
      eventCallback: (event) => {
        events.push(event);
        if (event.type === 'impression' || event.type === 'fetched') throw new Error('listener bug');
      },
    });
    await client.start();
    expect(client.isEnabled('imp')).toBe(true);
    const errors = events.filter((e) => e.type === 'error');
    expect(errors.length).toBe(2);
    expect(errors.every((e) => e.type === 'error' && e.origin === 'callback' && /listener bug/.test(e.error.message))).toBe(true);
    // Polling carried on after the throwing FETCHED listener.
    expect((await scheduler.next('fetch')).delay).toBe(15_000);
  });

  test('config warnings reach listeners added right after construction', async () => {
    const client = new UnleashClient({ url: server.url, appName: 'a', refreshInterval: 15, cache: new MemoryCache(), scheduler });
    clients.push(client);
    const warnings: string[] = [];
    client.on('warning', (w) => warnings.push(w.message));
    await settle(1);
    expect(warnings.some((w) => /refreshInterval/.test(w))).toBe(true);
  });
});

describe('fallbacks and context', () => {
  test('unknown flag: per-call value, per-call function, fallbackFunction, then false', async () => {
    server.serveFeatures(body(flag('known')));
    const calls: [string, Context][] = [];
    const client = makeClient({
      environment: 'prod',
      fallbackFunction: (name, context) => {
        calls.push([name, context]);
        return name.startsWith('yes');
      },
    });
    await client.start();
    expect(client.isEnabled('missing', undefined, true)).toBe(true);
    expect(client.isEnabled('missing', { userId: 'u' }, (name, ctx) => name === 'missing' && ctx.userId === 'u')).toBe(true);
    expect(client.isEnabled('yes-please')).toBe(true);
    expect(client.isEnabled('nope')).toBe(false);
    expect(calls[0]).toEqual(['yes-please', { appName: 'test-app', environment: 'prod' }]);
    // A known flag ignores every fallback.
    expect(client.isEnabled('known', undefined, false)).toBe(true);
    const plain = makeClient();
    expect(plain.isEnabled('missing')).toBe(false);
  });

  test('before any data, evaluations answer the fallback and warn once', () => {
    const client = makeClient();
    expect(client.isEnabled('a', undefined, true)).toBe(true);
    expect(client.isEnabled('a')).toBe(false);
    expect(client.getVariant('a')).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
    const warnings = recorder.of('warning').filter((w) => w.origin === 'evaluation');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/before start\(\)/);
  });

  test('getVariant: unknown flag answers the given fallback, else the disabled variant', async () => {
    server.serveFeatures(body(variantFlag));
    const client = makeClient();
    await client.start();
    const fallback = { name: 'fb', enabled: true, feature_enabled: false };
    expect(client.getVariant('missing', undefined, fallback)).toBe(fallback);
    expect(client.getVariant('missing')).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
    expect(client.getVariant('colour', { userId: 'x' })).toEqual({
      name: 'blue',
      enabled: true,
      feature_enabled: true,
      payload: { type: 'string', value: 'b' },
    });
  });

  test('getVariant: the fallback replaces the disabled variant of a known flag too, with feature_enabled telling off from on', async () => {
    server.serveFeatures(body(variantFlag, flag('off', { enabled: false }), flag('no-variants'), flag('declines', { strategies: [{ name: 'userWithId', parameters: { userIds: 'vip' }, constraints: [] }] })));
    const client = makeClient({ disableMetrics: false });
    await client.start();
    const fallback = Object.freeze({ name: 'fb', enabled: true, feature_enabled: false, payload: { type: 'string', value: 'x' } });
    expect(client.getVariant('off', {}, fallback)).toBe(fallback);
    expect(client.getVariant('declines', { userId: 'someone' }, fallback)).toBe(fallback);
    expect(client.getVariant('no-variants', {}, fallback)).toEqual({ ...fallback, feature_enabled: true });
    expect(Object.isFrozen(client.getVariant('no-variants', {}, fallback))).toBe(true);
    // A real variant wins over the fallback.
    expect(client.getVariant('colour', { userId: 'x' }, fallback).name).toBe('blue');
    // Without a fallback, the built-in disabled variant, as before.
    expect(client.getVariant('no-variants')).toEqual({ name: 'disabled', enabled: false, feature_enabled: true });
    // A malformed fallback is the disabled variant, with feature_enabled still telling the truth.
    expect(client.getVariant('no-variants', {}, { nope: 1 } as unknown as Variant)).toEqual({ name: 'disabled', enabled: false, feature_enabled: true });
    await scheduler.fireNext('metrics');
    const metrics = (await server.waitForRequest('POST', METRICS)).json() as { bucket: { toggles: Record<string, unknown> } };
    expect(metrics.bucket.toggles).toMatchObject({
      off: { yes: 0, no: 1, variants: { fb: 1 } },
      'no-variants': { yes: 4, no: 0, variants: { fb: 2, disabled: 2 } },
    });
  });

  test('a throwing fallback function answers false and reports an error', async () => {
    server.serveFeatures(body());
    const client = makeClient({
      fallbackFunction: () => {
        throw new Error('fallback bug');
      },
    });
    await client.start();
    expect(client.isEnabled('x')).toBe(false);
    expect(recorder.of('error').find((e) => e.origin === 'evaluation')?.error.message).toMatch(/fallback bug/);
  });

  test('the client fills appName and environment into the context; the caller can override them', async () => {
    server.serveFeatures(
      body(
        flag('prod-only', {
          strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'environment', operator: 'IN', values: ['production'] }] }],
        }),
        flag('app-only', {
          strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'appName', operator: 'IN', values: ['test-app'] }] }],
        }),
      ),
    );
    const client = makeClient({ environment: 'production' });
    await client.start();
    expect(client.isEnabled('prod-only')).toBe(true);
    expect(client.isEnabled('prod-only', { userId: 'u' })).toBe(true);
    expect(client.isEnabled('prod-only', { environment: 'development' })).toBe(false);
    expect(client.isEnabled('app-only', { userId: 'u' })).toBe(true);
    expect(client.isEnabled('app-only', { appName: 'other' })).toBe(false);
  });

  test("the caller's context is never copied to fill in defaults, unless a custom strategy is in use", async () => {
    server.serveFeatures(
      body(
        flag('prod-only', { strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'environment', operator: 'IN', values: ['production'] }] }] }),
        flag('by-env', { strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'environment' }, constraints: [] }] }),
      ),
    );
    const client = makeClient({ environment: 'production' });
    await client.start();
    // A spread copy enumerates the keys: count it.
    let copies = 0;
    const context = new Proxy({ userId: 'u' } as Context, {
      ownKeys(target) {
        copies++;
        return Reflect.ownKeys(target);
      },
    });
    expect(client.isEnabled('prod-only', context)).toBe(true);
    client.isEnabled('by-env', context);
    client.getVariant('by-env', context);
    expect(copies).toBe(0);
  });

  test('custom strategies see the filled-in context and are registered', async () => {
    class EnvStrategy extends Strategy {
      constructor() {
        super('env-is');
      }
      isEnabled(parameters: Record<string, string>, context: Context): boolean {
        return context.environment === parameters.env;
      }
    }
    server.serveFeatures(body(flag('custom', { strategies: [{ name: 'env-is', parameters: { env: 'qa' }, constraints: [] }] })));
    const client = makeClient({ environment: 'qa', customStrategies: [new EnvStrategy()], disableRegistration: false });
    await client.start();
    expect(client.isEnabled('custom', { userId: 'u' })).toBe(true);
    // Absent means what the engine means: undefined, null or empty.
    expect(client.isEnabled('custom', { environment: null, appName: 'given' })).toBe(true);
    expect(client.isEnabled('custom', { environment: '' })).toBe(true);
    expect(client.isEnabled('custom', { environment: 'prod' })).toBe(false);
    const registration = (await server.waitForRequest('POST', REGISTER)).json() as { strategies: string[] };
    expect(registration.strategies).toEqual(expect.arrayContaining(['default', 'flexibleRollout', 'env-is']));
  });

  test('a context that is not an object is treated as no context', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient();
    await client.start();
    expect(client.isEnabled('a', 'user-1' as unknown as Context)).toBe(true);
    expect(client.isEnabled('a', null as unknown as Context)).toBe(true);
  });
});

describe('metrics and registration', () => {
  test('registration at start, then a metrics POST every interval with per-flag and per-variant counts', async () => {
    server.serveFeatures(body(flag('a'), flag('off', { enabled: false }), variantFlag));
    const client = makeClient({ disableMetrics: false, disableRegistration: false, metricsInterval: 30_000, environment: 'prod' });
    await client.start();
    const registration = await server.waitForRequest('POST', REGISTER);
    expect(registration.json()).toMatchObject({
      appName: 'test-app',
      instanceId: 'instance-1',
      connectionId: client.connectionId,
      sdkVersion: SDK_NAME,
      interval: 30_000,
      started: new Date(scheduler.now()).toISOString(),
      platformName: 'node',
      specVersion: SPEC_VERSION,
    });
    expect(registration.headers.authorization).toBe('client-secret-token');
    client.isEnabled('a');
    client.isEnabled('a');
    client.isEnabled('off');
    client.getVariant('colour', { userId: '1' });
    client.getVariant('off');
    client.isEnabled('never-heard-of', undefined, true);
    const timer = await scheduler.next('metrics');
    expect(timer.delay).toBe(30_000);
    scheduler.fire(timer);
    const metrics = (await server.waitForRequest('POST', METRICS)).json() as { bucket: { toggles: unknown }; environment: string };
    expect(metrics.environment).toBe('prod');
    expect(metrics.bucket.toggles).toEqual({
      a: { yes: 2, no: 0, variants: {} },
      off: { yes: 0, no: 2, variants: { disabled: 1 } },
      colour: { yes: 1, no: 0, variants: { blue: 1 } },
      'never-heard-of': { yes: 1, no: 0, variants: {} },
    });
  });

  test('counts survive new flags: kept for a flag dropped before the report, carried over for one still served', async () => {
    server.reply('GET', FEATURES, { body: body(flag('a'), flag('b')) }, { body: body(flag('a'), flag('c')) }, { body: body(flag('a'), flag('b'), flag('c')) });
    const client = makeClient({ disableMetrics: false });
    await client.start();
    client.isEnabled('a');
    client.isEnabled('b');
    client.isEnabled('c'); // unknown for now
    await scheduler.fireNext('fetch');
    await recorder.next('fetched', (e) => e.features.some((f) => f.name === 'c'));
    client.isEnabled('a');
    client.isEnabled('c');
    client.isEnabled('b'); // unknown now
    await scheduler.fireNext('fetch');
    await recorder.next('fetched', (e) => e.features.length === 3);
    client.isEnabled('b');
    await scheduler.fireNext('metrics');
    const metrics = (await server.waitForRequest('POST', METRICS)).json() as { bucket: { toggles: unknown } };
    expect(metrics.bucket.toggles).toEqual({
      a: { yes: 2, no: 0, variants: {} },
      b: { yes: 2, no: 1, variants: {} },
      c: { yes: 1, no: 1, variants: {} },
    });
  });

  test('a failed metrics POST keeps its counts for the next one', async () => {
    server.serveFeatures(body(flag('a')));
    server.reply('POST', METRICS, { status: 500 });
    const client = makeClient({ disableMetrics: false });
    await client.start();
    client.isEnabled('a');
    await scheduler.fireNext('metrics');
    await recorder.next('error', (e) => e.origin === 'metrics');
    client.isEnabled('a');
    await scheduler.fireNext('metrics');
    const second = (await server.waitForRequest('POST', METRICS, 2)).json() as { bucket: { toggles: unknown } };
    expect(second.bucket.toggles).toEqual({ a: { yes: 2, no: 0, variants: {} } });
  });

  test('a registration or metrics POST is never followed to another origin, nor turned into a GET by a 303', async () => {
    const other = await TestServer.start();
    try {
      server.serveFeatures(body(flag('a')));
      server.reply('POST', REGISTER, { status: 303, headers: { location: '/api/client/registered' } });
      server.reply('POST', METRICS, { status: 307, headers: { location: `${other.url}/client/metrics` } });
      const client = makeClient({ disableMetrics: false, disableRegistration: false, customHeaders: { 'x-api-key': 'client-secret-token' } });
      await client.start();
      const registerError = (await recorder.next('error', (e) => e.origin === 'register')).error as HttpError;
      expect(registerError).toMatchObject({ code: 'HTTP_STATUS', status: 303 });
      expect(registerError.message).toMatch(/a POST is never re-sent as a GET/);
      client.isEnabled('a');
      await scheduler.fireNext('metrics');
      const metricsError = (await recorder.next('error', (e) => e.origin === 'metrics')).error as HttpError;
      expect(metricsError).toMatchObject({ code: 'HTTP_STATUS', status: 307 });
      expect(metricsError.message).toContain(`to ${other.url}/client/metrics, another origin`);
      expect(other.requests).toEqual([]);
      expect(server.requests.filter((r) => r.method === 'GET').map((r) => r.path)).toEqual([FEATURES]);
      // The counts of the refused report go out with the next one.
      await scheduler.fireNext('metrics');
      const sent = (await server.waitForRequest('POST', METRICS, 2)).json() as { bucket: { toggles: unknown } };
      expect(sent.bucket.toggles).toEqual({ a: { yes: 1, no: 0, variants: {} } });
    } finally {
      await other.close();
    }
  });

  test('destroy() sends what is pending; disableMetrics sends nothing and does not register metrics timers', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ disableMetrics: false });
    await client.start();
    client.isEnabled('a');
    await client.destroy();
    const [request] = server.requestsTo(METRICS);
    expect((request!.json() as { bucket: { toggles: unknown } }).bucket.toggles).toEqual({ a: { yes: 1, no: 0, variants: {} } });

    const quiet = makeClient();
    await quiet.start();
    quiet.isEnabled('a');
    expect(scheduler.pending('metrics')).toHaveLength(0);
    await quiet.destroy();
    expect(server.requestsTo(METRICS)).toHaveLength(1);
    expect(server.requestsTo(REGISTER)).toHaveLength(0);
  });
});

describe('destroy', () => {
  test('is idempotent, leaves no timer and sends nothing afterwards; evaluations keep working', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ disableMetrics: false, disableRegistration: false });
    await client.start();
    await server.waitForRequest('POST', REGISTER);
    const first = client.destroy();
    expect(client.destroy()).toBe(first);
    await first;
    expect(scheduler.pending()).toHaveLength(0);
    const count = server.requests.length;
    expect(client.isEnabled('a')).toBe(true);
    await settle();
    expect(server.requests).toHaveLength(count);
  });

  test('while a fetch is in flight: resolves, and the request failing later reaches nobody', async () => {
    server.setDefault('GET', FEATURES, { hold: true });
    const client = makeClient();
    const starting = client.start();
    await server.waitForRequest('GET', FEATURES);
    await client.destroy();
    await starting;
    const errorsBefore = recorder.errors().length;
    server.dropHeld();
    await settle(10);
    expect(recorder.errors()).toHaveLength(errorsBefore);
    expect(scheduler.pending()).toHaveLength(0);
  });

  test('while a metrics POST is in flight: waits for it, then flushes, and a later failure reaches nobody', async () => {
    server.serveFeatures(body(flag('a')));
    server.reply('POST', METRICS, { hold: true });
    const client = makeClient({ disableMetrics: false, timeout: 300 });
    await client.start();
    client.isEnabled('a');
    await scheduler.fireNext('metrics');
    await server.waitForRequest('POST', METRICS);
    client.isEnabled('a');
    const destroying = client.destroy();
    server.dropHeld();
    await destroying;
    // The dropped POST's count was merged back and sent with the final flush.
    const final = server.requestsTo(METRICS)[1]!.json() as { bucket: { toggles: unknown } };
    expect(final.bucket.toggles).toEqual({ a: { yes: 2, no: 0, variants: {} } });
    expect(scheduler.pending()).toHaveLength(0);
  });

  test('while registration is in flight: resolves without waiting for the server', async () => {
    server.serveFeatures(body(flag('a')));
    server.setDefault('POST', REGISTER, { hold: true });
    const client = makeClient({ disableRegistration: false });
    await client.start();
    await server.waitForRequest('POST', REGISTER);
    await client.destroy();
    server.dropHeld();
    await settle(10);
    expect(recorder.of('error').filter((e) => e.origin === 'register')).toHaveLength(0);
  });

  test('destroy before start: start() afterwards does nothing', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient();
    await client.destroy();
    await client.start();
    expect(server.requests).toHaveLength(0);
    expect(recorder.of('warning').some((w) => /destroyed/.test(w.message))).toBe(true);
  });

  test('start() after start() and destroy() says the client stays stopped, and sends nothing more', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient();
    await client.start();
    await client.destroy();
    const before = server.requests.length;
    await client.start();
    expect(server.requests).toHaveLength(before);
    expect(recorder.of('warning').filter((w) => /destroyed client, which stays stopped/.test(w.message))).toHaveLength(1);
  });

  test('destroy right after start (before the cache was read) sends nothing', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ disableRegistration: false, disableMetrics: false });
    const starting = client.start();
    await client.destroy();
    await starting;
    await settle();
    expect(server.requests).toHaveLength(0);
    expect(scheduler.pending()).toHaveLength(0);
  });
});

describe('explain and hasFlags', () => {
  test('explain tells why, with client defaults, and counts nothing', async () => {
    server.serveFeatures(
      body(
        flag('prod-only', {
          impressionData: true,
          strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'environment', operator: 'IN', values: ['production'] }] }],
        }),
      ),
    );
    const client = makeClient({ environment: 'production', disableMetrics: false });
    expect(client.hasFlags).toBe(false);
    await client.start();
    expect(client.hasFlags).toBe(true);
    expect(client.explain('prod-only')).toMatchObject({ flag: 'prod-only', enabled: true, reason: { kind: 'STRATEGY_MATCH' } });
    expect(client.explain('prod-only', { environment: 'dev' })).toMatchObject({ enabled: false, reason: { kind: 'NO_STRATEGY_MATCHED' } });
    expect(client.explain('missing').reason).toEqual({ kind: 'FLAG_NOT_FOUND' });
    expect(recorder.of('impression')).toHaveLength(0);
    await client.destroy();
    expect(server.requestsTo(METRICS)).toHaveLength(0);
  });
});

describe('status', () => {
  test('tells readiness, source, age, ETag, mode and the last fetch, and follows a failure', async () => {
    server.serveFeatures(body(flag('a'), flag('b')), '"v1"');
    const client = makeClient({ refreshInterval: 1000 });
    expect(client.status()).toEqual({
      ready: false,
      source: undefined,
      flagCount: 0,
      updatedAt: undefined,
      ageMs: undefined,
      etag: undefined,
      mode: 'polling',
      lastFetch: undefined,
      destroyed: false,
    });
    const startedAt = scheduler.now();
    await client.start();
    expect(client.status()).toEqual({
      ready: true,
      source: 'server',
      flagCount: 2,
      updatedAt: startedAt,
      ageMs: 0,
      etag: '"v1"',
      mode: 'polling',
      lastFetch: { at: startedAt, outcome: 'updated' },
      destroyed: false,
    });
    server.setDefault('GET', FEATURES, { status: 503 });
    const failedAt = (await scheduler.fireNext('fetch')).due;
    await recorder.next('error');
    const status = client.status();
    expect(status).toMatchObject({ ready: true, source: 'server', flagCount: 2, updatedAt: startedAt, ageMs: failedAt - startedAt, etag: '"v1"' });
    expect(status.lastFetch).toMatchObject({ at: failedAt, outcome: 'failed' });
    expect(status.lastFetch?.error).toMatch(/503/);
    // A copy: changing it changes nothing in the client.
    status.lastFetch!.outcome = 'updated';
    expect(client.status().lastFetch?.outcome).toBe('failed');
    await client.destroy();
    expect(client.status().destroyed).toBe(true);
  });

  test('an offline client from a bootstrap says so', async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromDict(body(flag('a')));
    const client = new UnleashClient({ appName: 'test-app', offline: true, cache, scheduler });
    clients.push(client);
    await client.start();
    expect(client.status()).toMatchObject({ ready: true, source: 'bootstrap', mode: 'offline', flagCount: 1, lastFetch: undefined });
  });
});

describe('evaluate', () => {
  test('counts metrics and fires an impression exactly as one getVariant does, with the same answer', async () => {
    const colours = flag('colours', {
      impressionData: true,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'g' }, constraints: [] }],
      variants: [
        { name: 'red', weight: 500, stickiness: 'userId' },
        { name: 'blue', weight: 500, stickiness: 'userId' },
      ],
    });
    server.serveFeatures(body(colours, flag('plain')));
    const client = makeClient({ disableMetrics: false });
    await client.start();
    const expected = { yes: 0, no: 0, variants: {} as Record<string, number> };
    for (let i = 0; i < 40; i++) {
      const context = { userId: `user-${i}` };
      const r = client.evaluate('colours', context);
      const v = client.getVariant('colours', context);
      expect(r.variant).toBe(v);
      expect(r.enabled).toBe(client.isEnabled('colours', context));
      expect(r.reason.kind).toBe(r.enabled ? 'STRATEGY_MATCH' : 'NO_STRATEGY_MATCHED');
      // evaluate + getVariant count as two getVariant calls; isEnabled adds a yes/no.
      const yes = r.enabled ? 3 : 0;
      expected.yes += yes;
      expected.no += 3 - yes;
      expected.variants[v.name] = (expected.variants[v.name] ?? 0) + 2;
    }
    const impressions = recorder.of('impression');
    expect(impressions).toHaveLength(120);
    expect(impressions.filter((e) => e.eventType === 'getVariant')).toHaveLength(80);
    expect(impressions[0]).toMatchObject({ eventType: 'getVariant', featureName: 'colours', context: { userId: 'user-0', appName: 'test-app' } });
    expect(client.evaluate('plain')).toEqual({ flag: 'plain', enabled: true, variant: { name: 'disabled', enabled: false, feature_enabled: true }, reason: { kind: 'STRATEGY_MATCH', index: 0, name: 'default', variantFrom: 'none' } });
    expect(client.evaluate('nope')).toEqual({ flag: 'nope', enabled: false, variant: { name: 'disabled', enabled: false, feature_enabled: false }, reason: { kind: 'FLAG_NOT_FOUND' } });
    await scheduler.fireNext('metrics');
    const metrics = (await server.waitForRequest('POST', METRICS)).json() as { bucket: { toggles: Record<string, unknown> } };
    expect(metrics.bucket.toggles).toEqual({
      colours: expected,
      plain: { yes: 1, no: 0, variants: { disabled: 1 } },
      nope: { yes: 0, no: 1, variants: { disabled: 1 } },
    });
  });

  test('an unknown flag answers the fallbackFunction option', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ fallbackFunction: (name) => name.startsWith('yes-') });
    await client.start();
    expect(client.evaluate('yes-please')).toMatchObject({ enabled: true, variant: { feature_enabled: true }, reason: { kind: 'FLAG_NOT_FOUND' } });
    expect(client.evaluate('no-thanks')).toMatchObject({ enabled: false, reason: { kind: 'FLAG_NOT_FOUND' } });
  });

  test('a hostile context is the ERROR reason, never a throw', async () => {
    server.serveFeatures(body(flag('a', { strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'x', operator: 'IN', values: ['1'] }] }] })));
    const client = makeClient();
    await client.start();
    const hostile = { get properties(): Record<string, string> { throw new Error('nope'); } } as Context;
    expect(client.evaluate('a', hostile)).toMatchObject({ enabled: false, reason: { kind: 'ERROR' } });
    expect(client.isEnabled('a', hostile)).toBe(false);
  });
});

describe('a cache that never answers', () => {
  class HangingCache extends MemoryCache {
    override get(): Promise<unknown> {
      return new Promise(() => undefined);
    }
  }

  test('start() moves on at the deadline and fetches', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ cache: new HangingCache() });
    const starting = client.start();
    scheduler.fire(await scheduler.next('deadline'));
    await starting;
    // The deadline has passed, so start() does not wait for the fetch either.
    await recorder.next('fetched');
    expect(client.isEnabled('a')).toBe(true);
  });

  test('destroy() ends a start() that is waiting for it', async () => {
    const client = makeClient({ cache: new HangingCache() });
    const starting = client.start();
    await scheduler.next('deadline');
    await client.destroy();
    await starting;
    expect(server.requests).toHaveLength(0);
    expect(scheduler.pending()).toHaveLength(0);
  });
});

describe('a throw anywhere in a poll, a metrics report or a cache write', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** Fails one step of the next poll once: each returns how to make it throw. */
  const steps: [string, () => void][] = [
    [
      'hashing the body',
      () =>
        jest.spyOn(Poller.prototype as unknown as { digest(body: Buffer): string }, 'digest').mockImplementationOnce(() => {
          throw new RangeError('injected: the hash failed');
        }),
    ],
    [
      'parsing the body',
      () =>
        jest.spyOn(Poller.prototype as unknown as { parse(body: Buffer): unknown }, 'parse').mockImplementationOnce(() => {
          throw new TypeError('injected: the parse failed');
        }),
    ],
    [
      'loading the engine',
      () =>
        jest.spyOn(Engine.prototype, 'prepare').mockImplementationOnce(() => {
          throw new Error('injected: the engine failed');
        }),
    ],
    [
      'indexing the new flags',
      () =>
        jest.spyOn(MetricsStore.prototype, 'adoptServed').mockImplementationOnce(() => {
          throw new Error('injected: adopting the counters failed');
        }),
    ],
    [
      'emitting the fetched event (inside the event hub)',
      () => {
        const emit = EventHub.prototype.emit;
        jest.spyOn(EventHub.prototype, 'emit').mockImplementation(function (this: EventHub, event) {
          if (event.type === 'fetched') throw new Error('injected: the hub failed');
          emit.call(this, event);
        });
      },
    ],
  ];

  test.each(steps)('%s: an error event, and the next poll is scheduled and works', async (_step, inject) => {
    server.serveFeatures(body(flag('a')));
    inject();
    const client = makeClient();
    await client.start();
    expect(recorder.of('error')).toHaveLength(1);
    expect(recorder.errors()[0]!.message).toMatch(/injected/);
    expect(scheduler.pending('fetch')).toHaveLength(1);
    jest.restoreAllMocks();
    server.serveFeatures(body(flag('a'), flag('b')));
    await scheduler.fireNext('fetch');
    await recorder.next('fetched', (e) => e.features.length === 2);
    expect(client.isEnabled('b')).toBe(true);
    // Scheduled once the new flags are served (the poller waits for the apply to settle).
    await scheduler.next('fetch');
    expect(scheduler.pending('fetch')).toHaveLength(1);
    expect(unhandled).toEqual([]);
  });

  test('a listener that throws on the fetched event: an error event, and polling goes on', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient();
    client.on('fetched', () => {
      throw new Error('injected: listener bug');
    });
    await client.start();
    expect(recorder.of('error').map((e) => e.origin)).toEqual(['callback']);
    expect(client.isEnabled('a')).toBe(true);
    expect(scheduler.pending('fetch')).toHaveLength(1);
  });

  const failing = (methods: { set?: () => void; mset?: () => Promise<void> }): UnleashConfig['cache'] =>
    ({ get: (): undefined => undefined, set: (): void => undefined, destroy: (): void => undefined, ...methods }) as unknown as UnleashConfig['cache'];
  test.each([
    ['set throws', failing({ set: () => { throw new Error('injected: set threw'); } })],
    ['mset throws synchronously', failing({ mset: () => { throw new Error('injected: mset threw'); } })],
    ['mset rejects', failing({ mset: () => Promise.reject(new Error('injected: mset rejected')) })],
  ])('a cache whose %s: an error event, the flags serve and polling goes on', async (_how, cache) => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ cache });
    await client.start();
    const { origin, error } = await recorder.next('error');
    expect(origin).toBe('cache');
    expect(error.message).toMatch(/injected/);
    expect(client.isEnabled('a')).toBe(true);
    expect(scheduler.pending('fetch')).toHaveLength(1);
  });

  test('a metrics report that throws before sending: an error event, the next report is scheduled and keeps the counts', async () => {
    server.serveFeatures(body(flag('a')));
    const client = makeClient({ disableMetrics: false });
    await client.start();
    client.isEnabled('a');
    jest.spyOn(MetricsStore.prototype, 'take').mockImplementationOnce(() => {
      throw new Error('injected: take failed');
    });
    await scheduler.fireNext('metrics');
    const { error } = await recorder.next('error', (e) => e.origin === 'metrics');
    expect(error.message).toMatch(/injected/);
    expect(scheduler.pending('metrics')).toHaveLength(1);
    client.isEnabled('a');
    await scheduler.fireNext('metrics');
    const sent = (await server.waitForRequest('POST', METRICS)).json() as { bucket: { toggles: unknown } };
    expect(sent.bucket.toggles).toEqual({ a: { yes: 2, no: 0, variants: {} } });
  });
});
