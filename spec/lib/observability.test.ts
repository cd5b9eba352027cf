/**
 * What the observability features put on the wire, read from the bodies a real loopback
 * server recorded: impact metrics inside the metrics POST (and given back when it fails),
 * flushMetrics, sdkFlavor in the registration and metrics bodies, hooks counting as the
 * calls they wrap, and getFlags.
 */
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import type { UnleashConfig } from '../../lib/options';
import { SwitchyardProvider } from '../../lib/openfeature';
import { SDK_VERSION } from '../../lib/version';
import { ManualScheduler } from '../support/manual-scheduler';
import { TestServer } from '../support/test-server';

const METRICS = '/api/client/metrics';
const REGISTER = '/api/client/register';

type Flag = Record<string, unknown>;
function flag(name: string, extra: Flag = {}): Flag {
  return { name, enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }], impressionData: false, ...extra };
}
const FLAGS = {
  version: 2,
  features: [
    flag('a'),
    flag('off', { enabled: false }),
    flag('colour', { variants: [{ name: 'blue', weight: 1000, stickiness: 'default' }], project: 'web', description: 'the colour' }),
  ],
  segments: [],
};

interface MetricsBody {
  bucket: { start: string; stop: string; toggles: Record<string, unknown> };
  impactMetrics?: { name: string; help: string; type: string; samples: Record<string, unknown>[] }[];
  sdkFlavor?: string;
  sdkFlavorVersion?: string;
}

let server: TestServer;
let scheduler: ManualScheduler;
let events: UnleashEvent[];
let clients: UnleashClient[];

beforeEach(async () => {
  server = await TestServer.start();
  server.serveFeatures(FLAGS);
  scheduler = new ManualScheduler();
  events = [];
  clients = [];
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await server.close();
});

function makeClient(options: Partial<UnleashConfig> = {}): UnleashClient {
  const client = new UnleashClient({
    url: server.url,
    appName: 'obs-app',
    instanceId: 'i-1',
    environment: 'staging',
    cache: new MemoryCache(),
    disableRegistration: true,
    scheduler,
    eventCallback: (e) => events.push(e),
    ...options,
  });
  clients.push(client);
  return client;
}

const metricsBodies = (): MetricsBody[] => server.requestsTo(METRICS).map((r) => r.json() as MetricsBody);

describe('impact metrics on the wire', () => {
  test('counters, gauges and histograms ride in the metrics POST with appName and environment labels; collecting resets them', async () => {
    const client = makeClient();
    await client.start();
    const m = client.impactMetrics;
    const counter = m.defineCounter('checkout_errors', 'Failed checkouts');
    expect(m.defineCounter('checkout_errors', 'again')).toBe(counter);
    m.defineGauge('queue_depth', 'Jobs waiting');
    m.defineHistogram('latency_seconds', 'Checkout latency', [0.1, 1]);
    m.incrementCounter('checkout_errors');
    counter.inc(2);
    m.incrementCounter('checkout_errors', Number.NaN);
    m.updateGauge('queue_depth', 7);
    m.updateGauge('queue_depth', Number.POSITIVE_INFINITY);
    for (const v of [0.05, 0.1, 0.5, 3]) m.observeHistogram('latency_seconds', v);
    m.observeHistogram('latency_seconds', Number.NaN);

    await client.flushMetrics();
    const labels = { appName: 'obs-app', environment: 'staging' };
    const [first] = metricsBodies();
    expect(first!.bucket.toggles).toEqual({});
    expect(first!.impactMetrics).toEqual([
      { name: 'checkout_errors', help: 'Failed checkouts', type: 'counter', samples: [{ labels, value: 3 }] },
      { name: 'queue_depth', help: 'Jobs waiting', type: 'gauge', samples: [{ labels, value: 7 }] },
      {
        name: 'latency_seconds',
        help: 'Checkout latency',
        type: 'histogram',
        samples: [{ labels, count: 4, sum: 3.65, buckets: [{ le: 0.1, count: 2 }, { le: 1, count: 3 }, { le: '+Inf', count: 4 }] }],
      },
    ]);

    // Idle: the counter and histogram send a zero sample, the gauge nothing.
    await client.flushMetrics();
    expect(metricsBodies()[1]!.impactMetrics).toEqual([
      { name: 'checkout_errors', help: 'Failed checkouts', type: 'counter', samples: [{ labels, value: 0 }] },
      {
        name: 'latency_seconds',
        help: 'Checkout latency',
        type: 'histogram',
        samples: [{ labels, count: 0, sum: 0, buckets: [{ le: 0.1, count: 0 }, { le: 1, count: 0 }, { le: '+Inf', count: 0 }] }],
      },
    ]);
  });

  test('a failed send gives everything back, histogram buckets included, merged with what came meanwhile; a newer gauge value wins', async () => {
    server.reply('POST', METRICS, { status: 503 });
    const client = makeClient();
    await client.start();
    const m = client.impactMetrics;
    m.defineCounter('errors', 'Errors');
    m.defineGauge('depth', 'Depth');
    m.defineHistogram('latency', 'Latency', [1]);
    m.incrementCounter('errors', 2);
    m.updateGauge('depth', 1);
    m.observeHistogram('latency', 0.5);
    m.observeHistogram('latency', 5);
    client.isEnabled('a');

    await client.flushMetrics();
    expect(events.some((e) => e.type === 'error' && e.origin === 'metrics')).toBe(true);
    m.incrementCounter('errors');
    m.updateGauge('depth', 9);
    m.observeHistogram('latency', 0.1);
    await client.flushMetrics();

    const [failed, second] = metricsBodies();
    expect(failed!.impactMetrics!.map((x) => x.samples[0])).toEqual([
      expect.objectContaining({ value: 2 }),
      expect.objectContaining({ value: 1 }),
      expect.objectContaining({ count: 2, sum: 5.5 }),
    ]);
    expect(second!.bucket.toggles).toEqual({ a: { yes: 1, no: 0, variants: {} } });
    // The window of the failed report is kept too.
    expect(second!.bucket.start).toBe(failed!.bucket.start);
    expect(second!.impactMetrics!.map((x) => x.samples[0])).toEqual([
      expect.objectContaining({ value: 3 }),
      expect.objectContaining({ value: 9 }),
      expect.objectContaining({ count: 3, sum: 5.6, buckets: [{ le: 1, count: 2 }, { le: '+Inf', count: 3 }] }),
    ]);
  });

  test('misuse is a warning, never a throw: bad names, no help, a name of another type, updates of undefined metrics', async () => {
    const client = makeClient();
    const m = client.impactMetrics;
    m.defineCounter('has space', 'x').inc();
    m.defineCounter('no_help', '').inc();
    m.defineGauge('dual', 'x');
    m.defineCounter('dual', 'x').inc();
    m.incrementCounter('missing');
    m.incrementCounter('missing');
    m.observeHistogram('dual', 1);
    const warnings = events.flatMap((e) => (e.type === 'warning' && e.origin === 'metrics' ? [e.message] : []));
    expect(warnings).toEqual([
      expect.stringContaining('"has space" was ignored'),
      expect.stringContaining('"no_help" needs a help text'),
      expect.stringContaining('"dual" is already a gauge'),
      expect.stringContaining('no counter "missing" is defined'),
      expect.stringContaining('no histogram "dual" is defined'),
    ]);
  });

  test('finite values that add up past Number.MAX_VALUE are sent as Number.MAX_VALUE (never null), with one warning per metric', async () => {
    server.reply('POST', METRICS, { status: 503 });
    const client = makeClient();
    await client.start();
    const m = client.impactMetrics;
    const counter = m.defineCounter('bytes_moved', 'Bytes moved');
    const histogram = m.defineHistogram('payload_bytes', 'Payload sizes', [1, 10]);
    const negative = m.defineHistogram('balance', 'Balance changes', [0]);
    for (let i = 0; i < 2; i++) {
      counter.inc(Number.MAX_VALUE);
      histogram.observe(Number.MAX_VALUE);
      negative.observe(-Number.MAX_VALUE);
    }
    await client.flushMetrics(); // 503: given back, and merged with what comes next
    counter.inc(Number.MAX_VALUE);
    histogram.observe(Number.MAX_VALUE);
    await client.flushMetrics();
    const bodies = server.requestsTo(METRICS).map((r) => r.body);
    expect(bodies).toHaveLength(2);
    for (const text of bodies) expect(text).not.toMatch(/"(value|sum|count)":null/);
    const samples = metricsBodies().map((b) => b.impactMetrics!.map((x) => x.samples[0]));
    for (const sent of samples) {
      expect(sent).toEqual([
        expect.objectContaining({ value: Number.MAX_VALUE }),
        expect.objectContaining({ sum: Number.MAX_VALUE }),
        expect.objectContaining({ sum: -Number.MAX_VALUE }),
      ]);
    }
    expect(samples[1]![1]).toMatchObject({ count: 3 });
    const warnings = events.flatMap((e) => (e.type === 'warning' && e.origin === 'metrics' ? [e.message] : []));
    expect(warnings.filter((w) => w.includes('Number.MAX_VALUE'))).toEqual([
      expect.stringContaining('counter "bytes_moved"'),
      expect.stringContaining('histogram "payload_bytes"'),
      expect.stringContaining('histogram "balance"'),
    ]);
  });

  test('each bad metric name is reported, not only the first of its type', async () => {
    const client = makeClient();
    const m = client.impactMetrics;
    m.defineCounter('has space', 'x');
    m.defineCounter('9starts_with_digit', 'x');
    m.defineCounter('has space', 'x');
    const warnings = events.flatMap((e) => (e.type === 'warning' && e.origin === 'metrics' ? [e.message] : []));
    expect(warnings).toEqual([expect.stringContaining('"has space" was ignored'), expect.stringContaining('"9starts_with_digit" was ignored')]);
  });

  test('no impact metric defined and nothing counted: no POST at all', async () => {
    const client = makeClient();
    await client.start();
    await client.flushMetrics();
    expect(server.requestsTo(METRICS)).toHaveLength(0);
  });
});

describe('flushMetrics', () => {
  test('sends at once and resolves when answered; never rejects; does nothing when metrics are off or after destroy', async () => {
    server.reply('POST', METRICS, { drop: true });
    const client = makeClient();
    await client.start();
    client.isEnabled('a');
    await expect(client.flushMetrics()).resolves.toBeUndefined(); // dropped connection: an error event
    client.isEnabled('a');
    await client.flushMetrics();
    expect(metricsBodies()[1]!.bucket.toggles).toEqual({ a: { yes: 2, no: 0, variants: {} } });
    // The timer's report was not needed for any of this.
    expect(scheduler.pending('metrics')).toHaveLength(1);

    await client.destroy();
    const sent = server.requestsTo(METRICS).length;
    client.isEnabled('a');
    await client.flushMetrics();
    expect(server.requestsTo(METRICS)).toHaveLength(sent);

    const quiet = makeClient({ disableMetrics: true });
    await quiet.start();
    quiet.isEnabled('a');
    await quiet.flushMetrics();
    expect(server.requestsTo(METRICS)).toHaveLength(sent);
  });
});

describe('hooks and metrics', () => {
  test('calls with a hook count exactly as calls without one', async () => {
    const run = (c: UnleashClient): void => {
      c.isEnabled('a');
      c.isEnabled('off');
      c.isEnabled('unknown', undefined, true);
      c.getVariant('colour', { userId: '1' });
      c.getVariant('off', undefined, { name: 'fb', enabled: true, feature_enabled: false });
      c.getVariant('unknown');
      c.evaluate('colour', { userId: '2' });
      c.evaluate('missing');
    };
    const plain = makeClient();
    await plain.start();
    run(plain);
    await plain.flushMetrics();
    const hooked = makeClient({ hooks: [{ beforeEvaluation: () => ({}) }] });
    await hooked.start();
    run(hooked);
    await hooked.flushMetrics();
    const [a, b] = metricsBodies();
    expect(a!.bucket.toggles).toEqual({
      a: { yes: 1, no: 0, variants: {} },
      off: { yes: 0, no: 2, variants: { fb: 1 } },
      colour: { yes: 2, no: 0, variants: { blue: 2 } },
      unknown: { yes: 1, no: 1, variants: { disabled: 1 } },
      missing: { yes: 0, no: 1, variants: { disabled: 1 } },
    });
    expect(b!.bucket.toggles).toEqual(a!.bucket.toggles);
  });
});

describe('sdkFlavor', () => {
  test('absent from both bodies unless set; the options set it; the OpenFeature provider names itself', async () => {
    const plain = makeClient({ disableRegistration: false });
    await plain.start();
    plain.isEnabled('a');
    await plain.flushMetrics();
    const bare = [(await server.waitForRequest('POST', REGISTER)).json(), metricsBodies()[0]] as Record<string, unknown>[];
    for (const b of bare) {
      expect(b).not.toHaveProperty('sdkFlavor');
      expect(b).not.toHaveProperty('sdkFlavorVersion');
    }

    const wrapped = makeClient({ disableRegistration: false, sdkFlavor: 'my-wrapper', sdkFlavorVersion: '2.0.0' });
    await wrapped.start();
    wrapped.isEnabled('a');
    await wrapped.flushMetrics();
    expect(server.requestsTo(REGISTER)[1]!.json()).toMatchObject({ sdkFlavor: 'my-wrapper', sdkFlavorVersion: '2.0.0', sdkVersion: `switchyard-flags:${SDK_VERSION}` });
    expect(metricsBodies()[1]).toMatchObject({ sdkFlavor: 'my-wrapper', sdkFlavorVersion: '2.0.0' });

    const provided = makeClient({ disableRegistration: false });
    const provider = new SwitchyardProvider(provided);
    await provider.initialize();
    provided.isEnabled('a');
    await provided.flushMetrics();
    expect(server.requestsTo(REGISTER)[2]!.json()).toMatchObject({ sdkFlavor: 'switchyard-flags/openfeature', sdkFlavorVersion: SDK_VERSION });
    expect(metricsBodies()[2]).toMatchObject({ sdkFlavor: 'switchyard-flags/openfeature', sdkFlavorVersion: SDK_VERSION });
    await provider.onClose();
  });

  test('sdkFlavorVersion without sdkFlavor is sent in neither body, with a warning', async () => {
    const c = makeClient({ disableRegistration: false, sdkFlavorVersion: '2.0.0' });
    await c.start();
    c.isEnabled('a');
    await c.flushMetrics();
    const bodies = [(await server.waitForRequest('POST', REGISTER)).json(), metricsBodies()[0]] as Record<string, unknown>[];
    for (const b of bodies) {
      expect(b).not.toHaveProperty('sdkFlavor');
      expect(b).not.toHaveProperty('sdkFlavorVersion');
    }
    expect(events.filter((e) => e.type === 'warning' && e.message.includes('sdkFlavorVersion'))).toHaveLength(1);
  });
});

describe('getFlags', () => {
  test('the definitions held, in the server order, as copies', async () => {
    const client = makeClient();
    expect(client.getFlags()).toEqual([]);
    await client.start();
    const flags = client.getFlags();
    expect(flags.map((f) => f.name)).toEqual(['a', 'off', 'colour']);
    expect(flags[2]).toMatchObject({ name: 'colour', enabled: true, project: 'web', description: 'the colour', variants: [{ name: 'blue', weight: 1000 }] });
    flags[0]!.enabled = false;
    flags[0]!.strategies.length = 0;
    expect(client.isEnabled('a')).toBe(true);
    expect(client.getFlags()[0]!.enabled).toBe(true);
  });
});
