import fc from 'fast-check';
import { EventHub, type UnleashEvent } from '../../lib/events';
import { MAX_LISTED_VARIANTS, MAX_UNKNOWN_FLAGS, MetricsReporter, MetricsStore, ToggleCounter } from '../../lib/metrics';
import { Network } from '../../lib/network';
import { resolveConfig } from '../../lib/options';
import { UnleashApi } from '../../lib/unleash-api';
import { SDK_NAME, SPEC_VERSION } from '../../lib/version';
import { ManualScheduler } from '../support/manual-scheduler';
import { TestServer } from '../support/test-server';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');

/** A store reading the given flag table, as the client's is read. */
function storeWith(table: Map<string, ToggleCounter>, onWarning?: (m: string) => void): MetricsStore {
  const store = new MetricsStore(T0, onWarning);
  store.readFlagTable(() => table);
  return store;
}

/** The variant counts a counter reports, in its order. */
function variantsOf(counter: ToggleCounter): [string, number][] {
  const out: [string, number][] = [];
  counter.forEachVariant((name, n) => out.push([name, n]));
  return out;
}

describe('ToggleCounter', () => {
  // A counter keeps its first name in fields, a few more in a list, and past
  // MAX_LISTED_VARIANTS names a Map: every path must count like one Map in first-seen order.
  test('counts any sequence of variant names like a Map, in first-seen order, absorbed or not', () => {
    const names = fc.constantFrom(...Array.from({ length: MAX_LISTED_VARIANTS + 6 }, (_, i) => `v${i}`), 'disabled', '__proto__');
    fc.assert(
      fc.property(fc.array(fc.tuple(names, fc.integer({ min: 1, max: 5 }), fc.boolean()), { maxLength: 80 }), (steps) => {
        const counter = new ToggleCounter();
        const other = new ToggleCounter();
        const expected = new Map<string, number>();
        for (const [name, n, viaAbsorb] of steps) {
          if (viaAbsorb) {
            other.addVariant(name, n);
            counter.absorb(other);
          } else {
            for (let i = 0; i < n; i++) counter.variant(name);
          }
          expected.set(name, (expected.get(name) ?? 0) + n);
        }
        expect(variantsOf(counter)).toEqual([...expected]);
        expect(variantsOf(other)).toEqual([]);
        expect(counter.counted).toBe(steps.length > 0);
        counter.reset();
        expect(variantsOf(counter)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('past MAX_LISTED_VARIANTS names it keeps counting each one', () => {
    const counter = new ToggleCounter();
    const total = MAX_LISTED_VARIANTS * 3;
    for (let round = 0; round < 3; round++) for (let i = 0; i < total; i++) counter.variant(`v${i}`);
    expect(variantsOf(counter)).toEqual(Array.from({ length: total }, (_, i) => [`v${i}`, 3]));
  });
});

describe('MetricsStore', () => {
  test('reports yes/no and variant counts, then starts from zero', () => {
    const a = new ToggleCounter();
    const store = storeWith(new Map([['a', a], ['b', new ToggleCounter()]]));
    a.yes += 2;
    a.no += 1;
    a.variant('blue');
    a.variant('blue');
    a.variant('disabled');
    const bucket = store.take(T0 + 5000)!;
    expect(bucket.start).toBe('2024-05-01T12:00:00.000Z');
    expect(bucket.stop).toBe('2024-05-01T12:00:05.000Z');
    expect(JSON.parse(JSON.stringify(bucket.toggles))).toEqual({ a: { yes: 2, no: 1, variants: { blue: 2, disabled: 1 } } });
    // The table's counter is zeroed in place and keeps counting after the report.
    expect(a.yes).toBe(0);
    expect(a.counted).toBe(false);
    expect(store.take(T0 + 6000)).toBeUndefined();
  });

  test('an empty window is not reported and stays open', () => {
    const store = new MetricsStore(T0);
    expect(store.take(T0 + 1000)).toBeUndefined();
    store.countUnknown('x', true);
    expect(store.take(T0 + 2000)!.start).toBe(new Date(T0).toISOString());
  });

  test('restore merges a failed bucket back, keeping the earliest start', () => {
    const a = new ToggleCounter();
    const store = storeWith(new Map([['a', a]]));
    a.yes = 3;
    a.variant('v1');
    const failed = store.take(T0 + 1000)!;
    a.no = 1;
    a.variant('v1');
    store.restore(failed);
    const next = store.take(T0 + 2000)!;
    expect(next.start).toBe(new Date(T0).toISOString());
    expect(JSON.parse(JSON.stringify(next.toggles))).toEqual({ a: { yes: 3, no: 1, variants: { v1: 2 } } });
  });

  test(`counts at most ${MAX_UNKNOWN_FLAGS} distinct unknown names per report, and warns once`, () => {
    const warnings: string[] = [];
    const store = new MetricsStore(T0, (m) => warnings.push(m));
    for (let i = 0; i < MAX_UNKNOWN_FLAGS + 50; i++) store.countUnknown(`flag-${i}`, false);
    // Names already counted keep counting.
    expect(store.countUnknown('flag-0', true)).toBe(true);
    expect(store.countUnknown('another', true)).toBe(false);
    expect(warnings).toHaveLength(1);
    const bucket = store.take(T0 + 1)!;
    expect(Object.keys(bucket.toggles)).toHaveLength(MAX_UNKNOWN_FLAGS);
    expect(bucket.toggles['flag-0']).toEqual({ yes: 1, no: 1, variants: {} });
    // The next window has room again.
    expect(store.countUnknown('another', true)).toBe(true);
  });

  test('refuses unusable unknown names', () => {
    const store = new MetricsStore(T0);
    expect(store.countUnknown('', true)).toBe(false);
    expect(store.countUnknown('x'.repeat(1000), true)).toBe(false);
    expect(store.countUnknown(42 as unknown as string, true)).toBe(false);
    expect(store.take(T0 + 1)).toBeUndefined();
  });

  test('flag and variant names like __proto__ stay plain keys', () => {
    const store = new MetricsStore(T0);
    store.countUnknown('__proto__', true, '__proto__');
    const bucket = store.take(T0 + 1)!;
    expect(JSON.stringify(bucket.toggles)).toBe('{"__proto__":{"yes":1,"no":0,"variants":{"__proto__":1}}}');
  });

  test('counts of flags the client stops serving are kept for one report, then dropped', () => {
    const table = new Map<string, ToggleCounter>();
    const store = storeWith(table);
    const gone = new ToggleCounter();
    gone.yes = 1;
    store.keep('gone', gone);
    store.keep('idle', new ToggleCounter());
    expect(JSON.parse(JSON.stringify(store.take(T0 + 1)!.toggles))).toEqual({ gone: { yes: 1, no: 0, variants: {} } });
    expect(store.take(T0 + 2)).toBeUndefined();
  });

  test('counts kept or counted while unknown move into a flag once it is served, and are reported once', () => {
    const table = new Map<string, ToggleCounter>();
    const store = storeWith(table);
    store.countUnknown('soon', true, 'disabled');
    const served = new ToggleCounter();
    served.no = 2;
    store.adopt('soon', served);
    table.set('soon', served);
    expect(JSON.parse(JSON.stringify(store.take(T0 + 1)!.toggles))).toEqual({ soon: { yes: 1, no: 2, variants: { disabled: 1 } } });
  });

  test('a name both in the table and kept is reported as one sum', () => {
    const a = new ToggleCounter();
    a.yes = 1;
    const store = storeWith(new Map([['a', a]]));
    const old = new ToggleCounter();
    old.no = 5;
    store.keep('a', old);
    expect(JSON.parse(JSON.stringify(store.take(T0 + 1)!.toggles))).toEqual({ a: { yes: 1, no: 5, variants: {} } });
  });
});

describe('MetricsReporter', () => {
  let server: TestServer;
  let scheduler: ManualScheduler;
  let events: UnleashEvent[];
  let store: MetricsStore;
  let reporter: MetricsReporter;

  const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  function build(interval = 60_000, timeout = 2_000): void {
    const { config } = resolveConfig({
      url: server.url,
      appName: 'metrics-app',
      instanceId: 'i-1',
      environment: 'production',
      metricsInterval: interval,
      timeout,
      customHeaders: { Authorization: 'token' },
    });
    const hub = new EventHub((e) => events.push(e));
    const network = new Network(new URL(config.url!), {}, {});
    const api = new UnleashApi({ ...config, url: config.url! }, 'conn-1', scheduler, (m) => hub.warn('config', m), network);
    store = new MetricsStore(scheduler.now());
    reporter = new MetricsReporter({
      store,
      api,
      scheduler,
      events: hub,
      appName: config.appName,
      instanceId: config.instanceId,
      environment: config.environment,
      interval,
      timeout,
    });
  }

  beforeEach(async () => {
    server = await TestServer.start();
    scheduler = new ManualScheduler(T0);
    events = [];
    build();
  });

  afterEach(async () => {
    await reporter.stop();
    await server.close();
  });

  test('sends the bucket format of the client API one interval after start, with identity headers', async () => {
    reporter.start();
    const a = new ToggleCounter();
    store.readFlagTable(() => new Map([['a', a]]));
    a.yes = 4;
    a.variant('red');
    const timer = await scheduler.next('metrics');
    expect(timer.delay).toBe(60_000);
    scheduler.fire(timer);
    const request = await server.waitForRequest('POST', '/api/client/metrics');
    expect(request.json()).toEqual({
      appName: 'metrics-app',
      instanceId: 'i-1',
      connectionId: 'conn-1',
      environment: 'production',
      bucket: {
        start: '2024-05-01T12:00:00.000Z',
        stop: '2024-05-01T12:01:00.000Z',
        toggles: { a: { yes: 4, no: 0, variants: { red: 1 } } },
      },
      platformName: 'node',
      platformVersion: process.versions.node,
      yggdrasilVersion: null,
      specVersion: SPEC_VERSION,
    });
    expect(request.headers).toMatchObject({
      authorization: 'token',
      'unleash-appname': 'metrics-app',
      'unleash-instanceid': 'i-1',
      'unleash-connection-id': 'conn-1',
      'unleash-interval': '60000',
      'unleash-sdk': SDK_NAME,
    });
  });

  test('an interval with nothing counted sends nothing', async () => {
    reporter.start();
    await scheduler.fireNext('metrics');
    // The next timer is set only after the (skipped) report settled.
    await scheduler.next('metrics');
    expect(server.requestsTo('/api/client/metrics')).toHaveLength(0);
  });

  test('a failed POST keeps its counts for the next one and backs off; success reduces the backoff', async () => {
    server.reply('POST', '/api/client/metrics', { status: 503 }, { drop: true });
    reporter.start();
    store.countUnknown('f', true);
    await scheduler.fireNext('metrics');
    await server.waitForRequest('POST', '/api/client/metrics', 1);
    const second = await scheduler.next('metrics');
    expect(second.delay).toBe(120_000);
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
    store.countUnknown('f', false);
    scheduler.fire(second);
    await server.waitForRequest('POST', '/api/client/metrics', 2);
    const third = await scheduler.next('metrics');
    expect(third.delay).toBe(180_000);
    store.countUnknown('g', true);
    scheduler.fire(third);
    const request = await server.waitForRequest('POST', '/api/client/metrics', 3);
    const body = request.json() as { bucket: { start: string; toggles: unknown } };
    expect(body.bucket.start).toBe(new Date(T0).toISOString());
    expect(body.bucket.toggles).toEqual({ f: { yes: 1, no: 1, variants: {} }, g: { yes: 1, no: 0, variants: {} } });
    expect((await scheduler.next('metrics')).delay).toBe(120_000);
  });

  test('401 stops reporting for good with an error naming the status', async () => {
    let disabled = false;
    build();
    (reporter as unknown as { options: { onDisabled: () => void } }).options.onDisabled = () => {
      disabled = true;
    };
    server.reply('POST', '/api/client/metrics', { status: 401 });
    reporter.start();
    store.countUnknown('f', true);
    await scheduler.fireNext('metrics');
    await server.waitForRequest('POST', '/api/client/metrics');
    await flush();
    await flush();
    expect(disabled).toBe(true);
    expect(scheduler.pending('metrics')).toHaveLength(0);
    const error = events.find((e) => e.type === 'error');
    expect(error?.type === 'error' && error.error.message).toContain('401');
    store.countUnknown('f', true);
    await reporter.stop();
    expect(server.requestsTo('/api/client/metrics')).toHaveLength(1);
  });

  test('stop() sends what is pending, clears the timer, and sends nothing after', async () => {
    reporter.start();
    store.countUnknown('pending', true);
    await reporter.stop();
    expect(scheduler.pending()).toHaveLength(0);
    const [request] = server.requestsTo('/api/client/metrics');
    expect((request!.json() as { bucket: { toggles: unknown } }).bucket.toggles).toEqual({ pending: { yes: 1, no: 0, variants: {} } });
    store.countUnknown('later', true);
    await reporter.stop();
    expect(server.requestsTo('/api/client/metrics')).toHaveLength(1);
  });

  test('stop() during a POST in flight waits for it, then sends the rest, within the timeout', async () => {
    build(60_000, 300);
    server.reply('POST', '/api/client/metrics', { hold: true });
    reporter.start();
    store.countUnknown('first', true);
    await scheduler.fireNext('metrics');
    await server.waitForRequest('POST', '/api/client/metrics');
    store.countUnknown('second', true);
    const stopping = reporter.stop();
    server.answerHeld({ status: 202 });
    await stopping;
    const requests = server.requestsTo('/api/client/metrics');
    expect(requests).toHaveLength(2);
    expect((requests[1]!.json() as { bucket: { toggles: unknown } }).bucket.toggles).toEqual({ second: { yes: 1, no: 0, variants: {} } });
  });

  test('stop() resolves even when the final POST hangs (bounded by the timeout)', async () => {
    build(60_000, 200);
    server.setDefault('POST', '/api/client/metrics', { hold: true });
    reporter.start();
    store.countUnknown('x', true);
    await reporter.stop();
    expect(events.some((e) => e.type === 'error' && e.origin === 'metrics')).toBe(true);
    server.dropHeld();
  });

  test('a reporter that never started sends nothing on stop()', async () => {
    store.countUnknown('x', true);
    await reporter.stop();
    expect(server.requests).toHaveLength(0);
  });

  test('register() posts the registration body once', async () => {
    await reporter.register(['default', 'flexibleRollout'], T0);
    await reporter.register(['default'], T0);
    const requests = server.requestsTo('/api/client/register');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.json()).toEqual({
      appName: 'metrics-app',
      instanceId: 'i-1',
      connectionId: 'conn-1',
      sdkVersion: SDK_NAME,
      strategies: ['default', 'flexibleRollout'],
      started: '2024-05-01T12:00:00.000Z',
      interval: 60_000,
      platformName: 'node',
      platformVersion: process.versions.node,
      yggdrasilVersion: null,
      specVersion: SPEC_VERSION,
    });
    expect(requests[0]!.headers['unleash-interval']).toBeUndefined();
  });

  test('a failed registration is an error event, never a rejection', async () => {
    server.reply('POST', '/api/client/register', { status: 400 });
    await expect(reporter.register([], T0)).resolves.toBeUndefined();
    const error = events.find((e) => e.type === 'error');
    expect(error).toMatchObject({ origin: 'register' });
    expect(error?.type === 'error' && error.error.message).toContain('400');
  });
});
