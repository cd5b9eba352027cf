/**
 * An OpenFeature server provider backed by an `UnleashClient` (`switchyard-flags/openfeature`).
 *
 * ```ts
 * import { OpenFeature } from '@openfeature/server-sdk';
 * import { UnleashClient } from 'switchyard-flags';
 * import { SwitchyardProvider } from 'switchyard-flags/openfeature';
 *
 * await OpenFeature.setProviderAndWait(new SwitchyardProvider(new UnleashClient({ url, appName })));
 * const enabled = await OpenFeature.getClient().getBooleanValue('new-checkout', false, { targetingKey: userId });
 * ```
 *
 * Each OpenFeature call is exactly one `client.evaluate`: the value, the variant and the
 * reason come from the same walk of the flag, and metrics and impressions are counted
 * once, as for one `getVariant`. Boolean evaluations answer `enabled`; string, number and
 * object evaluations read the variant's payload (`string`/`csv`, `number`, `json`), and a
 * string evaluation of a variant without a payload answers the variant's name.
 *
 * @module switchyard-flags/openfeature
 * @sortStrategy kind, alphabetical
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type EvaluationContextValue,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { UnleashClient } from './client';
import type { EvaluationResult } from './engine/evaluation';
import type { Context, Variant } from './types';
import { SDK_VERSION } from './version';
import { standardReasonOf } from './standard-reason';

/** The `sdkFlavor` the provider reports: this package's subpath. */
const SDK_FLAVOR = 'switchyard-flags/openfeature';

/** What the provider needs of a client: an `UnleashClient`. */
export type ProviderClient = Pick<UnleashClient, 'start' | 'destroy' | 'evaluate' | 'hasFlags' | 'on'>;

const TOP_LEVEL = new Set(['userId', 'sessionId', 'remoteAddress', 'environment', 'appName', 'currentTime']);

function asText(value: EvaluationContextValue): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * Maps an OpenFeature evaluation context to an Unleash context: `targetingKey` becomes
 * `userId` (an explicit `userId` wins), the Unleash top-level fields stay at the top level,
 * and every other attribute becomes a string property.
 */
export function toUnleashContext(context: EvaluationContext): Context {
  const out: Context = {};
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) {
    if (key === 'targetingKey') continue;
    if (key === 'properties' && value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      for (const [k, v] of Object.entries(value)) {
        const text = asText(v as EvaluationContextValue);
        if (text !== undefined) properties[k] = text;
      }
      continue;
    }
    const text = key === 'currentTime' && value instanceof Date ? value.toISOString() : asText(value);
    if (text === undefined) continue;
    if (TOP_LEVEL.has(key)) (out as Record<string, unknown>)[key] = text;
    else properties[key] = text;
  }
  if (out.userId === undefined && typeof context.targetingKey === 'string' && context.targetingKey !== '') {
    out.userId = context.targetingKey;
  }
  if (Object.keys(properties).length > 0) out.properties = properties;
  return out;
}

/** Flag metadata: the switchyard reason behind each answer, for logs and hooks. */
function metadata(e: EvaluationResult): Record<string, string | number | boolean> {
  const r = e.reason;
  const out: Record<string, string | number | boolean> = { reason: r.kind };
  if (r.kind === 'STRATEGY_MATCH') {
    out.strategy = r.name;
    out.strategyIndex = r.index;
    if (r.rollout?.bucket !== undefined) {
      out.bucket = r.rollout.bucket;
      out.threshold = r.rollout.threshold;
    }
  } else if (r.kind === 'DEPENDENCY_FAILED') {
    out.parent = r.parent;
  }
  return out;
}

/** The OpenFeature reason for an explanation (the mapping the OpenTelemetry hook shares). */
function reasonOf(e: EvaluationResult): string {
  return StandardResolutionReasons[standardReasonOf(e)];
}

type Decode<T> = (variant: Variant) => { value: T } | { error: ErrorCode; message: string };

/** The OpenFeature provider. Pass it a client; it starts the client and destroys it on close. */
export class SwitchyardProvider implements Provider {
  /** Identifies the provider to OpenFeature. */
  readonly metadata = {
    /** Always 'switchyard'. */
    name: 'switchyard'
  } as const;
  readonly runsOn = 'server' as const;
  /** Provider events: configuration changes on every new payload, errors as they happen. */
  readonly events = new OpenFeatureEventEmitter();
  private readonly unsubscribe: (() => void)[] = [];

  /** @param client the client answers come from; the provider owns it (`initialize` starts it, `onClose` destroys it). */
  constructor(readonly client: ProviderClient) {
    // Registration and metrics say the client runs under this provider (`sdkFlavor`), as
    // the official provider does for the official SDK. A client of another shape has no setter.
    (client as Partial<Pick<UnleashClient, 'setSdkFlavor'>>).setSdkFlavor?.(SDK_FLAVOR, SDK_VERSION);
  }

  /**
   * Starts the client. When it got no flags, fails (so the provider reports an error) with
   * the reason: the first fetch error (a 401, a timeout, a refused connection), else the
   * first error of the client, as `cause` and in the message.
   */
  async initialize(): Promise<void> {
    this.unsubscribe.push(
      this.client.on('fetched', (event) => {
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [...event.flagNames] });
      }),
      this.client.on('error', (event) => {
        this.events.emit(ProviderEvents.Error, { message: event.error.message });
      }),
    );
    let firstError: Error | undefined;
    let firstFetchError: Error | undefined;
    const stopListening = this.client.on('error', (event) => {
      firstError ??= event.error;
      if (event.origin === 'fetch') firstFetchError ??= event.error;
    });
    try {
      await this.client.start();
    } finally {
      stopListening();
    }
    if (this.client.hasFlags) return;
    const cause = firstFetchError ?? firstError;
    if (cause === undefined) {
      throw new Error('switchyard: no flags could be loaded: the server did not answer within the timeout, and there is no cache or bootstrap (or the client is offline with an empty cache)');
    }
    throw new Error(`switchyard: no flags could be loaded: ${cause.message}`, { cause });
  }

  /** Destroys the client (flushing its metrics). */
  async onClose(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await this.client.destroy();
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    const e = this.evaluateOnce(flagKey, context);
    if ('details' in e) return { ...e.details, value: defaultValue };
    return { value: e.enabled, reason: reasonOf(e), flagMetadata: metadata(e), ...(e.variant.enabled ? { variant: e.variant.name } : {}) };
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return this.resolveVariant<string>(flagKey, defaultValue, context, (variant) => {
      const payload = variant.payload;
      if (payload === undefined) return { value: variant.name };
      if (payload.type === 'string' || payload.type === 'csv') return { value: payload.value };
      return { error: ErrorCode.TYPE_MISMATCH, message: `variant "${variant.name}" has a ${payload.type} payload, not a string` };
    });
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return this.resolveVariant<number>(flagKey, defaultValue, context, (variant) => {
      const payload = variant.payload;
      if (payload === undefined || payload.type !== 'number') {
        return { error: ErrorCode.TYPE_MISMATCH, message: `variant "${variant.name}" has no number payload` };
      }
      const n = Number(payload.value);
      return payload.value.trim() === '' || !Number.isFinite(n)
        ? { error: ErrorCode.PARSE_ERROR, message: `variant "${variant.name}" payload is not a number` }
        : { value: n };
    });
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return this.resolveVariant<T>(flagKey, defaultValue, context, (variant) => {
      const payload = variant.payload;
      if (payload === undefined || payload.type !== 'json') {
        return { error: ErrorCode.TYPE_MISMATCH, message: `variant "${variant.name}" has no json payload` };
      }
      try {
        return { value: JSON.parse(payload.value) as T };
      } catch {
        return { error: ErrorCode.PARSE_ERROR, message: `variant "${variant.name}" payload is not valid JSON` };
      }
    });
  }

  /**
   * The one evaluation behind an OpenFeature call, or the error details when there is no
   * answer to give (no flags yet, an unknown flag, a failed evaluation).
   */
  private evaluateOnce(flagKey: string, context: EvaluationContext): EvaluationResult | { details: Omit<ResolutionDetails<never>, 'value'> } {
    if (!this.client.hasFlags) {
      return { details: { reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.PROVIDER_NOT_READY, errorMessage: 'switchyard has no flags yet' } };
    }
    const e = this.client.evaluate(flagKey, toUnleashContext(context));
    if (e.reason.kind === 'FLAG_NOT_FOUND') {
      return { details: { reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND, errorMessage: `flag "${flagKey}" not found` } };
    }
    if (e.reason.kind === 'ERROR') {
      return { details: { reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.GENERAL, errorMessage: e.reason.message } };
    }
    return e;
  }

  private async resolveVariant<T>(flagKey: string, defaultValue: T, context: EvaluationContext, decode: Decode<T>): Promise<ResolutionDetails<T>> {
    const e = this.evaluateOnce(flagKey, context);
    if ('details' in e) return { ...e.details, value: defaultValue };
    const variant = e.variant;
    const flagMetadata = metadata(e);
    if (!variant.enabled) {
      // Off, or on without variants: the caller's default is the answer.
      const reason = variant.feature_enabled ? StandardResolutionReasons.DEFAULT : reasonOf(e);
      return { value: defaultValue, reason, flagMetadata };
    }
    const decoded = decode(variant);
    if ('error' in decoded) {
      return { value: defaultValue, variant: variant.name, reason: StandardResolutionReasons.ERROR, errorCode: decoded.error, errorMessage: decoded.message, flagMetadata };
    }
    return { value: decoded.value, variant: variant.name, reason: reasonOf(e), flagMetadata };
  }
}
