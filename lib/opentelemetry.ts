/**
 * An evaluation hook recording every flag evaluation for OpenTelemetry
 * (`switchyard-flags/opentelemetry`; needs `@opentelemetry/api` 1.x installed).
 *
 * ```ts
 * import { UnleashClient } from 'switchyard-flags';
 * import { OpenTelemetryHook } from 'switchyard-flags/opentelemetry';
 *
 * const client = new UnleashClient({ url, appName, hooks: [new OpenTelemetryHook({ metrics: true })] });
 * ```
 *
 * Each evaluation becomes a `feature_flag.evaluation` event on the active span, with the
 * attributes of the OpenTelemetry semantic conventions for feature flags (events,
 * release candidate): `feature_flag.key`, `feature_flag.provider.name`,
 * `feature_flag.result.reason`, `feature_flag.result.variant` (getVariant, evaluate) or
 * `feature_flag.result.value` (isEnabled, whose answer has no variant),
 * `feature_flag.context.id`, and `error.type` / `error.message` for an unknown flag or a
 * failed evaluation. With `metrics`, a counter counts evaluations by flag, variant and reason.
 *
 * @module switchyard-flags/opentelemetry
 * @sortStrategy kind, alphabetical
 */
import { metrics as otelMetrics, trace, type Attributes, type Counter, type Meter } from '@opentelemetry/api';
import type { EvaluationResult } from './engine/evaluation';
import type { EvaluationSeriesContext, EvaluationSeriesData, Hook } from './hooks';
import { standardReasonOf } from './standard-reason';
import { SDK_VERSION } from './version';

/**
 * Options of `new OpenTelemetryHook(...)`. A value of the wrong type is ignored (its
 * default applies) with a Node process warning (`process.emitWarning`), as the hook is
 * built before any client it could report through; the constructor never throws.
 */
export interface OpenTelemetryHookOptions {
  /** `feature_flag.provider.name`. Default `switchyard`. */
  providerName?: string;
  /**
   * Record `feature_flag.context.id` (the context's `userId`, else its `sessionId`) on the
   * span event. Default true; set false when user ids must not reach your traces. Never a
   * metric attribute (one series per user would be unbounded).
   */
  contextId?: boolean;
  /** Add a `feature_flag.evaluation` event to the active span. Default true. */
  spanEvents?: boolean;
  /**
   * Count evaluations: `true` uses the global meter provider's meter `switchyard-flags`, a
   * `Meter` is used as given. Default false.
   */
  metrics?: boolean | Meter;
  /**
   * The counter's name. Default `feature_flag.evaluation.count` (unit `{evaluation}`); the
   * semantic conventions define no feature-flag metric, so this one is switchyard's.
   */
  metricName?: string;
}

/** The `error.type` values of the semantic conventions that apply. */
function errorTypeOf(result: EvaluationResult): string | undefined {
  if (result.reason.kind === 'FLAG_NOT_FOUND') return 'flag_not_found';
  if (result.reason.kind === 'ERROR') return 'general';
  return undefined;
}

/**
 * The context's `userId`, else `sessionId`, as a string; undefined when absent or when it
 * cannot be turned into one (a `toString` that throws, a Symbol, an invalid Date), so that
 * one unreadable field costs only its own attribute, never the span event.
 */
function contextIdOf(series: EvaluationSeriesContext): string | undefined {
  try {
    const ctx = series.context;
    const id = ctx.userId ?? ctx.sessionId;
    if (id === undefined || id === null || id === '') return undefined;
    const text = id instanceof Date ? id.toISOString() : String(id);
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Reports an ignored option (see `OpenTelemetryHookOptions`). */
function ignored(option: string, expected: string): void {
  process.emitWarning(`OpenTelemetryHook: ${option} must be ${expected}; it was ignored`);
}

/** `value` when it is a boolean; else the default, warning unless it was left out. */
function booleanOption(option: string, value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (value !== undefined) ignored(option, 'a boolean');
  return fallback;
}

/** The evaluation counter the `metrics` and `metricName` options ask for, if any. Never throws. */
function counterOf(options: OpenTelemetryHookOptions): Counter | undefined {
  const { metrics, metricName } = options as { metrics?: unknown; metricName?: unknown };
  let meter: Meter | undefined;
  if (metrics === true) meter = otelMetrics.getMeter('switchyard-flags', SDK_VERSION);
  else if (metrics !== null && typeof metrics === 'object' && typeof (metrics as { createCounter?: unknown }).createCounter === 'function') meter = metrics as Meter;
  else if (metrics !== undefined && metrics !== false) ignored('metrics', 'a boolean or an OpenTelemetry Meter');
  if (meter === undefined) return undefined;
  let name = 'feature_flag.evaluation.count';
  if (typeof metricName === 'string' && metricName !== '') name = metricName;
  else if (metricName !== undefined) ignored('metricName', 'a non-empty string');
  try {
    return meter.createCounter(name, { description: 'Feature flag evaluations, by flag, variant and reason', unit: '{evaluation}' });
  } catch (err) {
    process.emitWarning(`OpenTelemetryHook: the meter could not create the counter "${name}" (${err instanceof Error ? err.message.slice(0, 120) : 'unknown error'}); evaluations are not counted`);
    return undefined;
  }
}

/**
 * Records every evaluation of the client it is added to (the `hooks` option or
 * `client.addHook`) as OpenTelemetry span events and, optionally, a counter. Only reads the
 * result: it never changes an answer, and with no active span (or a span that is not
 * recording) it adds nothing.
 */
export class OpenTelemetryHook implements Hook {
  /** Names the hook in warnings. */
  readonly name = 'opentelemetry';
  private readonly providerName: string;
  private readonly contextId: boolean;
  private readonly spanEvents: boolean;
  private readonly counter: Counter | undefined;

  constructor(options: OpenTelemetryHookOptions = {}) {
    if (options === null || typeof options !== 'object') {
      if (options !== undefined) ignored('the options', 'an object');
      options = {};
    }
    const providerName: unknown = options.providerName;
    if (providerName !== undefined && (typeof providerName !== 'string' || providerName === '')) ignored('providerName', 'a non-empty string');
    this.providerName = typeof providerName === 'string' && providerName !== '' ? providerName : 'switchyard';
    this.contextId = booleanOption('contextId', options.contextId, true);
    this.spanEvents = booleanOption('spanEvents', options.spanEvents, true);
    this.counter = counterOf(options);
  }

  /** Records the evaluation that just ended. */
  afterEvaluation(series: EvaluationSeriesContext, _data: EvaluationSeriesData, result: EvaluationResult): void {
    const reason = standardReasonOf(result).toLowerCase();
    const errorType = errorTypeOf(result);
    const attributes: Attributes = {
      'feature_flag.key': series.flag,
      'feature_flag.provider.name': this.providerName,
      'feature_flag.result.reason': reason,
    };
    // isEnabled answers a boolean with no variant: the conventions then want the value.
    if (series.method === 'isEnabled') attributes['feature_flag.result.value'] = result.enabled;
    else attributes['feature_flag.result.variant'] = result.variant.name;
    if (errorType !== undefined) attributes['error.type'] = errorType;
    this.counter?.add(1, attributes);

    if (!this.spanEvents) return;
    const span = trace.getActiveSpan();
    if (span === undefined || !span.isRecording()) return;
    const event: Attributes = { ...attributes };
    if (this.contextId) {
      const id = contextIdOf(series);
      if (id !== undefined) event['feature_flag.context.id'] = id;
    }
    if (result.reason.kind === 'ERROR') event['error.message'] = result.reason.message;
    span.addEvent('feature_flag.evaluation', event);
  }
}
