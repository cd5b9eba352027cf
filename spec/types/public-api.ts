/**
 * Compile-time checks of the public types (run by `npm run typecheck`, part of `npm test`):
 * correct use compiles, and each `@ts-expect-error` line proves a misuse does not.
 */
import {
  BaseCache,
  BootstrapError,
  CacheWarning,
  ConfigError,
  HttpError,
  MemoryCache,
  PayloadError,
  Strategy,
  SwitchyardError,
  SwitchyardErrorCode,
  UnleashClient,
  UnleashEvents,
  type AllFlags,
  type Context,
  type EvaluationSeriesContext,
  type FeatureDefinition,
  type Hook,
  type FleetCoordinator,
  type FleetStatus,
  type HttpOptions,
  type ImpactCounter,
  type FetchMode,
  type UpdateMode,
  type Variant,
} from '../../lib/index';
import { OpenTelemetryHook } from '../../lib/opentelemetry';
import { RedisCache, RedisFleet, type RedisFleetOptions } from '../../redis/index';
import { Agent as HttpsAgent } from 'node:https';

export async function correctUse(): Promise<void> {
  const client = new UnleashClient({ url: 'http://127.0.0.1:1/api', appName: 'types', cache: new MemoryCache(), customHeaders: { Authorization: 't' } });
  await client.start();
  const on: boolean = client.isEnabled('f', { userId: 'u', properties: { plan: 'pro' } }, (name, ctx) => name === 'x' && ctx?.userId === 'u');
  const variant: Variant = client.getVariant('f');
  const enabled: boolean = variant.feature_enabled;
  client.on(UnleashEvents.FETCHED, (event) => event.features.length);
  client.on('error', (event) => event.error.message);
  client.on(UnleashEvents.MODE, (event) => `${event.previous ?? 'none'} -> ${event.mode}: ${event.reason}`);
  // A mode event carries one of the three FetchMode values (never 'offline'): an exhaustive
  // switch over FetchMode compiles.
  client.on('mode', (event) => {
    const before: FetchMode | undefined = event.previous;
    const current: FetchMode = event.mode;
    switch (current) {
      case 'polling':
      case 'delta':
      case 'streaming':
        return before;
      default: {
        const never: never = current;
        return never;
      }
    }
  });
  const mode: FetchMode = 'streaming';
  const streaming = new UnleashClient({ url: 'http://127.0.0.1:1/api', appName: 'types', mode, streamReadTimeout: 90_000 });
  const now: UpdateMode = streaming.status().mode;
  void now;
  void on;
  void enabled;
  await client.destroy();
}

export function misuse(): void {
  // @ts-expect-error appName is required
  new UnleashClient({ url: 'http://127.0.0.1:1/api' });
  new UnleashClient({ appName: 'a', offline: true, maxBodySize: 8 * 1024 * 1024 });
  // @ts-expect-error maxBodySize is a number of bytes, not a size string
  new UnleashClient({ appName: 'a', offline: true, maxBodySize: '8MB' });
  void new MemoryCache().bootstrapFromUrl('http://127.0.0.1:1/flags.json', { maxBodySize: 1024 });
  const client = new UnleashClient({ appName: 'a', offline: true });
  // @ts-expect-error the flag name must be a string
  client.isEnabled(42);
  // Numbers, bigints, booleans and Dates are read as their string form.
  client.isEnabled('f', { userId: 42, sessionId: 10n, properties: { beta: true, signedUp: new Date() } });
  // @ts-expect-error a context field of a type with no string form
  client.isEnabled('f', { userId: { id: 42 } });
  // @ts-expect-error a misspelt standard field (custom fields go in properties)
  client.isEnabled('f', { user_id: '42' });
  // @ts-expect-error properties hold values, not nested objects
  client.isEnabled('f', { properties: { address: { city: 'Oslo' } } });
  // @ts-expect-error variants are read-only results with a fixed shape
  const v: { name: number } = client.getVariant('f');
  void v;
  // @ts-expect-error unknown event type
  client.on('exploded', () => undefined);
  // @ts-expect-error the modes are polling, delta and streaming
  new UnleashClient({ url: 'http://127.0.0.1:1/api', appName: 'a', mode: 'push' });
  // @ts-expect-error offline is a status, not a mode to ask for (use the offline option)
  new UnleashClient({ url: 'http://127.0.0.1:1/api', appName: 'a', mode: 'offline' });
  // @ts-expect-error a fetched event has no `error`
  client.on('fetched', (event) => event.error);
}

export async function networking(): Promise<void> {
  const options: HttpOptions = { proxy: 'http://proxy.example.com:3128', ca: [Buffer.from('pem'), 'pem'], rejectUnauthorized: true };
  new UnleashClient({ url: 'https://127.0.0.1:1/api', appName: 'a', httpOptions: { ...options, agent: { https: new HttpsAgent() } } });
  new UnleashClient({ url: 'https://127.0.0.1:1/api', appName: 'a', httpOptions: { proxy: false } });
  await new MemoryCache().bootstrapFromUrl('https://127.0.0.1:1/flags.json', { httpOptions: { proxy: false } });
  // @ts-expect-error proxy is a URL or false, not true
  new UnleashClient({ url: 'https://127.0.0.1:1/api', appName: 'a', httpOptions: { proxy: true } });
  // @ts-expect-error agents are given per protocol
  new UnleashClient({ url: 'https://127.0.0.1:1/api', appName: 'a', httpOptions: { agent: new HttpsAgent() } });
}

// @ts-expect-error a strategy must implement isEnabled
export class Incomplete extends Strategy {}

export class Complete extends Strategy {
  constructor() {
    super('complete');
  }
  isEnabled(parameters: Record<string, string>, context: Context): boolean {
    return parameters.x === context.userId;
  }
}

// @ts-expect-error a cache must implement get, set and destroy
export class HalfCache extends BaseCache {
  get(): undefined {
    return undefined;
  }
}

/** The whole contract is get, set and destroy: `exists`, `mset` and the seeders are inherited. */
export class MinimalCache extends BaseCache {
  private readonly values = new Map<string, unknown>();
  get(key: string): unknown {
    return this.values.get(key);
  }
  set(key: string, value: unknown): void {
    this.values.set(key, value);
  }
  destroy(): void {
    this.values.clear();
  }
}

export async function minimalCacheUse(): Promise<void> {
  const cache = new MinimalCache();
  const stored: boolean = await cache.exists('features');
  await cache.bootstrapFromDict({ features: [] });
  const client = new UnleashClient({ appName: 'a', offline: true, cache });
  void stored;
  await client.destroy();
}

/** A cache reports what it recovered from through the protected `reportWarning`; anyone may listen. */
export class ReportingCache extends MinimalCache {
  override get(key: string): unknown {
    const heard: boolean = this.reportWarning(new CacheWarning('CACHE_READ_FAILED', key, 'x'));
    void heard;
    return super.get(key);
  }
}

export function cacheWarnings(cache: ReportingCache): void {
  const off: () => void = cache.onWarning((warning) => warning.code === 'CACHE_CORRUPT');
  off();
  // @ts-expect-error only the cache itself reports warnings
  cache.reportWarning(new CacheWarning('CACHE_CORRUPT', 'x', 'y'));
  // @ts-expect-error a warning carries only the cache codes
  new CacheWarning('HTTP_STATUS', 'x', 'y');
}

export function errorHandling(err: unknown): SwitchyardErrorCode | undefined {
  const code: SwitchyardErrorCode = SwitchyardErrorCode.HTTP_TIMEOUT;
  // @ts-expect-error the codes are one closed set: the old lowercase ones are gone
  const old: SwitchyardErrorCode = 'timeout';
  // @ts-expect-error the code object is read-only
  SwitchyardErrorCode.HTTP_TIMEOUT = code;
  // @ts-expect-error the base class is abstract: every error is one of its subclasses
  new SwitchyardError('HTTP_TIMEOUT', 'x');
  void old;
  const all: SwitchyardError[] = [
    new ConfigError('url', 'x'),
    new HttpError('HTTP_STATUS', 'http://h/api', 'x', 503),
    new PayloadError('PAYLOAD_INVALID', 'x'),
    new BootstrapError('FILE_NOT_FOUND', 'flags.json', 'x'),
    new CacheWarning('CACHE_CORRUPT', '/tmp/c.json', 'x'),
  ];
  void all;
  // @ts-expect-error each subclass takes only its own codes
  new HttpError('FILE_NOT_FOUND', 'http://h/api', 'x');
  if (err instanceof HttpError) {
    const status: number | undefined = err.status;
    void status;
    // @ts-expect-error an HttpError never carries a file code
    if (err.code === 'FILE_NOT_FOUND') return undefined;
  }
  if (err instanceof SwitchyardError) {
    // @ts-expect-error `code` is a string union, not any
    const wrong: number = err.code;
    void wrong;
    return err.code;
  }
  return undefined;
}

/** Hooks, impact metrics, all flags and the OpenTelemetry hook (issue 15). */
export async function observability(): Promise<void> {
  const hook: Hook = { name: 'h', beforeEvaluation: (series) => ({ flag: series.flag }), afterEvaluation: (_s, data, result) => void [data.flag, result.reason.kind] };
  const client = new UnleashClient({ appName: 'types', offline: true, hooks: [hook, new OpenTelemetryHook({ metrics: false, contextId: false })], sdkFlavor: 'w', sdkFlavorVersion: '1' });
  const remove: () => void = client.addHook({ afterEvaluation: () => undefined });
  remove();
  // @ts-expect-error a hook's methods receive series data, not a string
  client.addHook({ beforeEvaluation: (_series: EvaluationSeriesContext, data: string) => ({ data }) });
  // @ts-expect-error hooks is an array
  new UnleashClient({ appName: 'types', offline: true, hooks: hook });
  const all: AllFlags = client.getAllFlags({ userId: 'u' }, { countMetrics: true, enabledOnly: true });
  const first: boolean | undefined = all.toggles[0]?.variant.feature_enabled;
  // @ts-expect-error getAllFlags options are an object
  client.getAllFlags({}, true);
  const definitions: FeatureDefinition[] = client.getFlags();
  const flushed: Promise<void> = client.flushMetrics();
  const counter: ImpactCounter = client.impactMetrics.defineCounter('c', 'help');
  counter.inc(2);
  client.impactMetrics.defineHistogram('h', 'help', [0.1, 1]).observe(0.5);
  client.impactMetrics.updateGauge('g', 1);
  // @ts-expect-error a gauge value is a number
  client.impactMetrics.updateGauge('g', '1');
  // @ts-expect-error the client's impact metrics are not replaceable
  client.impactMetrics = client.impactMetrics;
  await flushed;
  void [first, definitions];
}

/** Fleet mode and the Redis cache: what compiles and what does not. */
export async function fleetUse(): Promise<FleetStatus | undefined> {
  const fleet: FleetCoordinator = new RedisFleet({ redis: 'redis://127.0.0.1:6379', prefix: 'app:prod:', lockTtl: 10_000 });
  const client = new UnleashClient({ url: 'http://127.0.0.1:1/api', appName: 'types', fleet });
  const cached = new UnleashClient({ url: 'http://127.0.0.1:1/api', appName: 'types', cache: new RedisCache({ redis: 'redis://127.0.0.1:6379' }) });
  void cached;
  // @ts-expect-error the Redis source is a URL or an ioredis client, not a port
  new RedisCache({ redis: 6379 });
  // @ts-expect-error lockTtl is milliseconds, not a duration string
  const bad: RedisFleetOptions = { redis: 'redis://127.0.0.1:6379', lockTtl: '10s' };
  void bad;
  // @ts-expect-error a fleet is a coordinator, not a URL
  new UnleashClient({ url: 'http://127.0.0.1:1/api', appName: 'types', fleet: 'redis://127.0.0.1:6379' });
  const status = client.status().fleet;
  // @ts-expect-error the role is one of three
  if (status?.role === 'boss') return undefined;
  return status;
}
