/**
 * The OpenTelemetry hook against the real OpenTelemetry SDK, read back through its
 * in-memory exporters: the `feature_flag.evaluation` span event of the semantic
 * conventions, and the evaluation counter.
 */
import { jest } from '@jest/globals';
import { context, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import { SwitchyardProvider } from '../../lib/openfeature';
import { OpenTelemetryHook, type OpenTelemetryHookOptions } from '../../lib/opentelemetry';
import { TestData, type FlagSource } from '../../lib/test-data';

const contextManager = new AsyncLocalStorageContextManager();
const spans = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('test');

beforeAll(() => {
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
});
afterAll(() => {
  context.disable();
});

function testData(): TestData {
  const td = new TestData();
  td.update(
    td.flag('default'),
    td.flag('off').off(),
    td.flag('beta').users('alice'),
    td.flag('half').rollout(50, { stickiness: 'userId' }),
    td.flag('all').rollout(100),
    td.flag('colour').rollout(100).variant('blue'),
    td.flag('child').dependsOn('off'),
  );
  return td;
}

const clients: UnleashClient[] = [];
let events: UnleashEvent[] = [];
beforeEach(() => {
  spans.reset();
  events = [];
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

/** The test flags, and `static`: on with no strategies (TestData always adds one). */
const flagSource: FlagSource = {
  subscribe(listener) {
    const payload = testData().payload();
    payload.features.push({ ...payload.features[0]!, name: 'static', strategies: [] });
    listener(payload);
    return () => undefined;
  },
};

async function client(options: OpenTelemetryHookOptions = {}): Promise<UnleashClient> {
  const c = new UnleashClient({ appName: 'otel', offline: true, flagSource, hooks: [new OpenTelemetryHook(options)], eventCallback: (e) => events.push(e) });
  clients.push(c);
  await c.start();
  return c;
}

/** Runs `fn` inside an active span and returns that span's events. */
function inSpan(fn: () => void): { name: string; attributes: Record<string, unknown> }[] {
  tracer.startActiveSpan('request', (span) => {
    fn();
    span.end();
  });
  const [span] = spans.getFinishedSpans();
  spans.reset();
  return span!.events.map((e) => ({ name: e.name, attributes: { ...e.attributes } }));
}

describe('OpenTelemetryHook', () => {
  test('records isEnabled, getVariant and evaluate as feature_flag.evaluation events on the active span', async () => {
    const c = await client();
    const recorded = inSpan(() => {
      c.isEnabled('beta', { userId: 'alice' });
      c.getVariant('colour', { sessionId: 's-9' });
      c.evaluate('off');
    });
    expect(recorded).toEqual([
      {
        name: 'feature_flag.evaluation',
        attributes: {
          'feature_flag.key': 'beta',
          'feature_flag.provider.name': 'switchyard',
          'feature_flag.result.reason': 'targeting_match',
          'feature_flag.result.value': true,
          'feature_flag.context.id': 'alice',
        },
      },
      {
        name: 'feature_flag.evaluation',
        attributes: {
          'feature_flag.key': 'colour',
          'feature_flag.provider.name': 'switchyard',
          'feature_flag.result.reason': 'targeting_match',
          'feature_flag.result.variant': 'blue',
          'feature_flag.context.id': 's-9',
        },
      },
      {
        name: 'feature_flag.evaluation',
        attributes: {
          'feature_flag.key': 'off',
          'feature_flag.provider.name': 'switchyard',
          'feature_flag.result.reason': 'disabled',
          'feature_flag.result.variant': 'disabled',
        },
      },
    ]);
  });

  test('an unknown flag is error.type flag_not_found with reason error; options rename the provider and leave out the context id', async () => {
    const c = await client({ providerName: 'unleash', contextId: false });
    const [event] = inSpan(() => void c.isEnabled('nope', { userId: 'alice' }, true));
    expect(event!.attributes).toEqual({
      'feature_flag.key': 'nope',
      'feature_flag.provider.name': 'unleash',
      'feature_flag.result.reason': 'error',
      'feature_flag.result.value': true,
      'error.type': 'flag_not_found',
    });
  });

  test.each([
    ['static', {}, 'static'],
    ['default', {}, 'targeting_match'],
    ['off', {}, 'disabled'],
    ['beta', { userId: 'alice' }, 'targeting_match'],
    ['beta', { userId: 'bob' }, 'targeting_match'],
    ['half', { userId: '1' }, 'split'],
    ['half', { userId: '3' }, 'split'],
    ['all', { userId: '1' }, 'targeting_match'],
    ['child', {}, 'targeting_match'],
    ['nope', {}, 'error'],
  ])('%s %j: reason %s, the OpenFeature provider reason in lower case', async (flag, ctx, reason) => {
    const c = await client();
    const [event] = inSpan(() => void c.isEnabled(flag, ctx));
    expect(event!.attributes['feature_flag.result.reason']).toBe(reason);
    const provider = new SwitchyardProvider(c);
    const detail = await provider.resolveBooleanEvaluation(flag, false, { ...ctx });
    expect(detail.reason!.toLowerCase()).toBe(reason);
  });

  test('a context id that cannot be turned into a string costs only that attribute, not the span event', async () => {
    const c = await client();
    const hostile = { toString: () => { throw new Error('no string for you'); } };
    const recorded = inSpan(() => {
      c.isEnabled('default', { userId: hostile as unknown as string });
      c.isEnabled('default', { userId: new Date(Number.NaN) as unknown as string });
      c.isEnabled('default', { userId: 'alice' });
    });
    expect(recorded).toHaveLength(3);
    expect(recorded.map((e) => e.attributes['feature_flag.context.id'])).toEqual([undefined, undefined, 'alice']);
    expect(recorded[0]!.attributes).toMatchObject({ 'feature_flag.key': 'default', 'feature_flag.result.value': true });
    expect(events.filter((e) => e.type === 'warning' || e.type === 'error')).toEqual([]);
  });

  test('options of the wrong type are ignored with a process warning, never a throw; a meter that cannot count is one too', async () => {
    // The package's precedent (FileCache): observe process.emitWarning without printing.
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const warned = (): string[] => spy.mock.calls.map((call) => String(call[0]));
    try {
      const bad = { metrics: 'yes', spanEvents: 'no', contextId: 1, providerName: 42, metricName: '' } as unknown as OpenTelemetryHookOptions;
      const c = await client(bad);
      const throwingMeter = { createCounter: () => { throw new Error('meter closed'); } } as unknown as OpenTelemetryHookOptions['metrics'];
      expect(() => new OpenTelemetryHook({ metrics: throwingMeter })).not.toThrow();
      expect(() => new OpenTelemetryHook(null as unknown as OpenTelemetryHookOptions)).not.toThrow();
      // Defaults apply: span events on, the context id recorded, provider switchyard.
      const [event] = inSpan(() => void c.isEnabled('beta', { userId: 'alice' }));
      expect(event!.attributes).toMatchObject({ 'feature_flag.provider.name': 'switchyard', 'feature_flag.context.id': 'alice', 'feature_flag.result.value': true });
      expect(warned()).toEqual([
        expect.stringContaining('providerName must be a non-empty string'),
        expect.stringContaining('contextId must be a boolean'),
        expect.stringContaining('spanEvents must be a boolean'),
        expect.stringContaining('metrics must be a boolean or an OpenTelemetry Meter'),
        expect.stringContaining('could not create the counter "feature_flag.evaluation.count" (meter closed)'),
        expect.stringContaining('the options must be an object'),
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  test('without an active span, or with spanEvents off, nothing is recorded and nothing fails', async () => {
    const c = await client();
    expect(c.isEnabled('default')).toBe(true);
    expect(spans.getFinishedSpans()).toHaveLength(0);
    const quiet = await client({ spanEvents: false });
    expect(inSpan(() => void quiet.isEnabled('static'))).toEqual([]);
    expect(events.filter((e) => e.type === 'warning' || e.type === 'error')).toEqual([]);
  });

  test('counts evaluations on the meter given, by flag, result and reason, never by user', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meters = new MeterProvider({ readers: [reader] });
    try {
      const c = await client({ metrics: meters.getMeter('test') });
      c.isEnabled('beta', { userId: 'alice' });
      c.isEnabled('beta', { userId: 'alice' });
      c.isEnabled('beta', { userId: 'bob' });
      c.getVariant('colour', { userId: 'alice' });
      await reader.forceFlush();
      const metric = exporter.getMetrics().at(-1)!.scopeMetrics[0]!.metrics[0] as SumMetricData;
      expect(metric.descriptor).toMatchObject({ name: 'feature_flag.evaluation.count', unit: '{evaluation}' });
      const points = metric.dataPoints.map((p) => ({ value: p.value, attributes: p.attributes }));
      const base = { 'feature_flag.provider.name': 'switchyard', 'feature_flag.result.reason': 'targeting_match' };
      expect(points).toEqual(
        expect.arrayContaining([
          { value: 2, attributes: { ...base, 'feature_flag.key': 'beta', 'feature_flag.result.value': true } },
          { value: 1, attributes: { ...base, 'feature_flag.key': 'beta', 'feature_flag.result.value': false } },
          { value: 1, attributes: { ...base, 'feature_flag.key': 'colour', 'feature_flag.result.variant': 'blue' } },
        ]),
      );
      expect(points).toHaveLength(3);
    } finally {
      await meters.shutdown();
    }
  });

  test('the hook never changes an answer, even when the span API throws', async () => {
    const c = await client();
    const span = tracer.startSpan('broken');
    span.addEvent = () => {
      throw new Error('exporter exploded');
    };
    let answer: boolean | undefined;
    context.with(trace.setSpan(context.active(), span), () => {
      answer = c.isEnabled('default');
      answer = answer && c.isEnabled('default');
    });
    span.end();
    expect(answer).toBe(true);
    expect(events.filter((e) => e.type === 'warning' && e.message.includes('hook "opentelemetry"'))).toHaveLength(1);
  });
});
