/**
 * The client's options and their checking. Missing required options throw at
 * construction, naming the option; odd values of the others are replaced with a sane one
 * and reported as `config` warnings, never a failure deep inside a timer.
 */
import type { FlagSource } from './test-data';
import { hostname } from 'node:os';
import type { BaseCache } from '../cache/base-cache';
import type { Strategy } from '../strategies/strategy';
import type { EventCallback } from './events';
import type { FleetCoordinator } from './fleet-link';
import { MAX_TIMER_DELAY, type Scheduler } from './scheduler';
import type { Context } from './types';
import type { Hook } from './hooks';
import { SwitchyardError } from './errors';
import { checkHttpOptions, type HttpOptions } from './network';
import { DEFAULT_MAX_BODY_SIZE, MAX_BODY_SIZE_CEILING } from './http';

/**
 * A tag filter: the client only fetches flags carrying one of the tags.
 *
 * @group Client
 */
export interface TagFilter {
  /** The tag type, e.g. `simple`. */
  name: string;
  /** The tag value, e.g. `mobile`. */
  value: string;
}

/**
 * Decides the result for a flag the client does not know (or before it has flags).
 *
 * @group Client
 */
export type FallbackFunction = (name: string, context: Context) => boolean;

/**
 * Headers added to every request, e.g. `{ Authorization: clientToken }`.
 *
 * @group Client
 */
export type CustomHeaders = Record<string, string>;

/**
 * How the client is asked to learn of flag changes (the `mode` option): `polling`
 * (`/client/features` on a timer), `delta` (`/client/delta` on a timer) or `streaming`
 * (Server-Sent Events from `/client/streaming`, failing over to polling and back).
 *
 * @group Client
 */
export type FetchMode = 'polling' | 'delta' | 'streaming';

/** The default read timeout of a stream, in milliseconds: two keep-alives (every 30 s) missed. */
export const DEFAULT_STREAM_READ_TIMEOUT = 60_000;

/**
 * Options of `new UnleashClient(...)`.
 *
 * @group Client
 */
export interface UnleashConfig {
  /** The Unleash API URL, ending in `/api`. Required unless `offline`. */
  url?: string;
  /** Your application's name, sent to Unleash and used as the default context `appName`. Required. */
  appName: string;
  /** Identifies this instance in Unleash. Default: `<hostname>-<pid>`. */
  instanceId?: string;
  /** The default context `environment`. Default `default`. */
  environment?: string;
  /** Only fetch flags of this project. */
  projectName?: string;
  /** Only fetch flags whose name starts with this. */
  namePrefix?: string;
  /** Only fetch flags with one of these tags. */
  tags?: TagFilter[];
  /** Headers for every request, typically `{ Authorization: clientToken }`. */
  customHeaders?: CustomHeaders;
  /** Called before every request; its headers are added over `customHeaders` (e.g. a rotating token). */
  customHeadersFunction?: () => Promise<CustomHeaders> | CustomHeaders;
  /** Milliseconds between flag fetches. Default 15 000; 0 fetches once. */
  refreshInterval?: number;
  /**
   * How the client learns of flag changes. Default `polling`.
   * - `polling`: `GET {url}/client/features` every `refreshInterval`.
   * - `delta`: `GET {url}/client/delta` every `refreshInterval`, with the last event id as
   *   ETag: only what changed comes back (Unleash Enterprise and Enterprise Edge).
   * - `streaming`: Server-Sent Events from `{url}/client/streaming`, changes pushed as they
   *   happen (Unleash Enterprise and Enterprise Edge). Fails over to polling when the
   *   server refuses it or keeps failing, and returns to it once the server accepts again
   *   (see the README, "Delta polling and streaming").
   */
  mode?: FetchMode;
  /**
   * Milliseconds a stream (`mode: 'streaming'`) may stay silent, keep-alives included,
   * before it is reconnected. Unleash sends a keep-alive every 30 s. Default 60 000; at
   * least 1 000, at most 2 147 483 647 (2^31 - 1, the longest a Node timer holds; a larger
   * value is cut to it, with a warning).
   */
  streamReadTimeout?: number;
  /** Milliseconds between metrics reports. Default 60 000; 0 disables metrics. */
  metricsInterval?: number;
  /** Sends no usage metrics. Default false. */
  disableMetrics?: boolean;
  /** Does not register the client with Unleash at start. Default false. */
  disableRegistration?: boolean;
  /** Milliseconds any one request may take, body included. Default 10 000. */
  timeout?: number;
  /**
   * Proxy, TLS trust and agents for every request (fetches, registration, metrics).
   * Default: a proxy only when `HTTP_PROXY`/`HTTPS_PROXY` (minus `NO_PROXY`) ask for one.
   */
  httpOptions?: HttpOptions;
  /**
   * The most bytes of response body read, counted after decompression (flags, and the
   * replies to metrics and registration). A larger body aborts the request with an
   * `HTTP_BODY_TOO_LARGE` error and the last good flags keep serving. Default 40 MiB
   * (the 50 000-flag benchmark body is about 35 MiB); at most 512 MiB.
   */
  maxBodySize?: number;
  /** Where the last good flags are kept. Default: a `FileCache` in the OS temp directory, keyed by `appName`. */
  cache?: BaseCache;
  /** Your own strategies, by their `name`. */
  customStrategies?: Strategy[];
  /** The result for unknown flags when `isEnabled` gets no fallback. Default: false. */
  fallbackFunction?: FallbackFunction;
  /** Receives every event (ready, fetched, impression, error, warning). */
  eventCallback?: EventCallback;
  /** No network at all: flags come from the cache (or its bootstrap) only. Default false. */
  offline?: boolean;
  /**
   * Something that pushes flags to the client, such as `TestData` in tests. Each payload it
   * pushes is applied like a fetched one (`fetched` fires). With a flag source and no
   * `cache`, the client keeps its flags in memory rather than in a file.
   */
  flagSource?: FlagSource;
  /**
   * Called around every `isEnabled`, `getVariant` and `evaluate` call, in order (see
   * `Hook`); more can be added with `client.addHook`. A hook that throws is reported once
   * as a `warning` event and never changes the answer.
   */
  hooks?: Hook[];
  /**
   * The name of a wrapper built on this client (such as an OpenFeature provider), sent as
   * `sdkFlavor` in the registration and metrics bodies, as the official Node SDK does.
   * Left out of the bodies when not set. `SwitchyardProvider` sets it itself.
   */
  sdkFlavor?: string;
  /**
   * The wrapper's version, sent as `sdkFlavorVersion` beside `sdkFlavor`; without
   * `sdkFlavor` it is ignored with a warning (a version of nothing named).
   */
  sdkFlavorVersion?: string;
  /**
   * Makes this instance one of a fleet that fetches flags once for all its members, such as
   * `new RedisFleet({ redis, prefix })` from `switchyard-flags/redis`: one elected leader
   * fetches from Unleash, the others take its flags from the fleet's store. Without a
   * `cache`, the client uses the fleet's. One coordinator per client; `destroy()` releases it.
   */
  fleet?: FleetCoordinator;
  /**
   * The clock, timers and randomness. For tests only: lets them check backoff and
   * intervals without sleeping.
   * @internal
   */
  scheduler?: Scheduler;
}

/**
 * Thrown at construction when a required option is missing or unusable.
 *
 * @group Errors
 */
export class ConfigError extends SwitchyardError {
  /** Always `ConfigError`, so logs and `err.name` checks tell it from other errors. */
  override readonly name = 'ConfigError';
  /** Always `CONFIG_INVALID`. */
  declare readonly code: 'CONFIG_INVALID';

  constructor(
    /** The option concerned. */
    readonly option: string,
    message: string,
  ) {
    super('CONFIG_INVALID', message);
  }
}

/** Options after checking: every value usable. */
export interface ResolvedConfig {
  /** The API URL without trailing slashes, or `undefined` when offline. */
  url: string | undefined;
  appName: string;
  instanceId: string;
  environment: string;
  projectName: string | undefined;
  namePrefix: string | undefined;
  tags: TagFilter[];
  customHeaders: CustomHeaders;
  customHeadersFunction: (() => Promise<CustomHeaders> | CustomHeaders) | undefined;
  refreshInterval: number;
  mode: FetchMode;
  streamReadTimeout: number;
  metricsInterval: number;
  disableMetrics: boolean;
  disableRegistration: boolean;
  timeout: number;
  httpOptions: HttpOptions;
  maxBodySize: number;
  customStrategies: Strategy[];
  fallbackFunction: FallbackFunction | undefined;
  offline: boolean;
  sdkFlavor: string | undefined;
  sdkFlavorVersion: string | undefined;
}

export const DEFAULT_REFRESH_INTERVAL = 15_000;
export const DEFAULT_METRICS_INTERVAL = 60_000;
export const DEFAULT_TIMEOUT = 10_000;
/**
 * The shortest refresh or metrics interval accepted. Below it the value is far more
 * likely to be seconds typed where milliseconds are meant than a real wish, and polling
 * every few milliseconds would hammer the server.
 */
export const MIN_INTERVAL = 1_000;
/**
 * A `timeout` below this is honoured, with a warning: no real request completes that fast,
 * and the value is more likely seconds typed where milliseconds are meant.
 */
export const SHORT_TIMEOUT = 100;

// RFC 7230 token characters for header names; values must not hold CR, LF or NUL.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function interval(
  name: string,
  value: unknown,
  fallback: number,
  warnings: string[],
): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    warnings.push(`${name} must be a non-negative number of milliseconds; using the default ${fallback}`);
    return fallback;
  }
  if (value === 0) return 0;
  if (value < MIN_INTERVAL) {
    warnings.push(
      `${name} ${value} is below the minimum of ${MIN_INTERVAL} ms (it is in milliseconds, not seconds); using ${MIN_INTERVAL}`,
    );
    return MIN_INTERVAL;
  }
  return Math.round(value);
}

/** Checks headers, dropping (and naming, never quoting) the unusable ones. */
export function checkHeaders(option: string, headers: unknown, warnings: string[]): CustomHeaders {
  const out: CustomHeaders = {};
  if (headers === undefined || headers === null) return out;
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    warnings.push(`${option} must be an object of header names to string values; it was ignored`);
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    if (!HEADER_NAME.test(name)) {
      warnings.push(`${option}: "${name.slice(0, 40)}" is not a valid header name; it was ignored`);
      continue;
    }
    const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    if (text === undefined || !HEADER_VALUE.test(text)) {
      // The value is likely a token: name the header only.
      warnings.push(`${option}: the value of header "${name}" is not a valid header value; it was ignored`);
      continue;
    }
    out[name] = text;
  }
  return out;
}

function checkUrl(value: unknown): string {
  if (value === undefined || value === null || value === '') {
    throw new ConfigError('url', 'UnleashClient: the "url" option is required (the Unleash API URL, e.g. https://unleash.example.com/api), unless "offline" is true');
  }
  if (typeof value !== 'string') throw new ConfigError('url', 'UnleashClient: the "url" option must be a string');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    // Do not echo the value: a token pasted into the wrong option would end up in logs.
    throw new ConfigError('url', 'UnleashClient: the "url" option is not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    // The scheme is not echoed either: `project:env.secret` parses with the scheme `project:`.
    throw new ConfigError('url', 'UnleashClient: the "url" option must be an http or https URL (e.g. https://unleash.example.com/api)');
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError('url', 'UnleashClient: the "url" option must not have a query or fragment');
  }
  return parsed.toString().replace(/\/+$/, '');
}

/**
 * Checks options: throws `ConfigError` for a missing `appName` or `url`, returns the
 * resolved options and a warning for each value it had to replace.
 */
export function resolveConfig(options: UnleashConfig): { config: ResolvedConfig; warnings: string[] } {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', 'UnleashClient: options are required ({ url, appName, ... })');
  }
  const warnings: string[] = unknownOptionWarnings(options);
  if (!nonEmptyString(options.appName)) {
    throw new ConfigError('appName', 'UnleashClient: the "appName" option is required (a non-empty string naming your application)');
  }
  const offline = options.offline === true;
  const url = offline ? undefined : checkUrl(options.url);

  let instanceId = `${hostname()}-${process.pid}`;
  if (options.instanceId !== undefined) {
    if (nonEmptyString(options.instanceId)) instanceId = options.instanceId;
    else warnings.push(`instanceId must be a non-empty string; using ${instanceId}`);
  }
  let environment = 'default';
  if (options.environment !== undefined) {
    if (nonEmptyString(options.environment)) environment = options.environment;
    else warnings.push('environment must be a non-empty string; using "default"');
  }
  const optionalString = (name: 'projectName' | 'namePrefix' | 'sdkFlavor' | 'sdkFlavorVersion'): string | undefined => {
    const value = options[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string') return value;
    warnings.push(`${name} must be a string; it was ignored`);
    return undefined;
  };

  const tags: TagFilter[] = [];
  if (options.tags !== undefined && options.tags !== null) {
    if (!Array.isArray(options.tags)) warnings.push('tags must be an array of { name, value }; it was ignored');
    else
      options.tags.forEach((tag, i) => {
        if (tag !== null && typeof tag === 'object' && nonEmptyString(tag.name) && typeof tag.value === 'string') {
          tags.push({ name: tag.name, value: tag.value });
        } else warnings.push(`tags[${i}] must be { name, value } with string values; it was ignored`);
      });
  }

  let customHeadersFunction: ResolvedConfig['customHeadersFunction'];
  if (options.customHeadersFunction !== undefined && options.customHeadersFunction !== null) {
    if (typeof options.customHeadersFunction === 'function') customHeadersFunction = options.customHeadersFunction;
    else warnings.push('customHeadersFunction must be a function; it was ignored');
  }

  let timeout = DEFAULT_TIMEOUT;
  if (options.timeout !== undefined && options.timeout !== null) {
    // Any positive value is honoured as given, sub-second ones included.
    if (typeof options.timeout === 'number' && Number.isFinite(options.timeout) && options.timeout > 0) timeout = options.timeout;
    else warnings.push(`timeout must be a positive number of milliseconds; using the default ${DEFAULT_TIMEOUT}`);
    if (timeout < SHORT_TIMEOUT) {
      warnings.push(`timeout ${timeout} ms is very short (it is in milliseconds, not seconds): most requests will time out; it is used as given`);
    }
  }

  const http = checkHttpOptions('httpOptions', options.httpOptions, warnings);
  if (http.problem !== undefined) throw new ConfigError('httpOptions', `UnleashClient: ${http.problem}`);
  let maxBodySize = DEFAULT_MAX_BODY_SIZE;
  if (options.maxBodySize !== undefined && options.maxBodySize !== null) {
    const value = options.maxBodySize;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
      warnings.push(`maxBodySize must be a positive number of bytes; using the default ${DEFAULT_MAX_BODY_SIZE}`);
    } else if (value > MAX_BODY_SIZE_CEILING) {
      warnings.push(`maxBodySize ${value} is above the most a body can be parsed at (${MAX_BODY_SIZE_CEILING} bytes); using ${MAX_BODY_SIZE_CEILING}`);
      maxBodySize = MAX_BODY_SIZE_CEILING;
    } else maxBodySize = Math.floor(value);
  }

  const customStrategies: Strategy[] = [];
  if (options.customStrategies !== undefined && options.customStrategies !== null) {
    if (!Array.isArray(options.customStrategies)) warnings.push('customStrategies must be an array of Strategy instances; it was ignored');
    else
      options.customStrategies.forEach((s, i) => {
        if (s !== null && typeof s === 'object' && nonEmptyString(s.name) && typeof s.isEnabled === 'function') customStrategies.push(s);
        else warnings.push(`customStrategies[${i}] is not a Strategy (a name and an isEnabled method); it was ignored`);
      });
  }

  let fallbackFunction: FallbackFunction | undefined;
  if (options.fallbackFunction !== undefined && options.fallbackFunction !== null) {
    if (typeof options.fallbackFunction === 'function') fallbackFunction = options.fallbackFunction;
    else warnings.push('fallbackFunction must be a function; it was ignored');
  }
  if (options.eventCallback !== undefined && options.eventCallback !== null && typeof options.eventCallback !== 'function') {
    warnings.push('eventCallback must be a function; it was ignored');
  }

  let mode: FetchMode = 'polling';
  if (options.mode !== undefined && options.mode !== null) {
    if (options.mode === 'polling' || options.mode === 'delta' || options.mode === 'streaming') mode = options.mode;
    else warnings.push(`mode must be 'polling', 'delta' or 'streaming'; using 'polling'`);
  }
  let streamReadTimeout = interval('streamReadTimeout', options.streamReadTimeout, DEFAULT_STREAM_READ_TIMEOUT, warnings);
  if (streamReadTimeout === 0) {
    warnings.push(`streamReadTimeout must be positive; using the default ${DEFAULT_STREAM_READ_TIMEOUT}`);
    streamReadTimeout = DEFAULT_STREAM_READ_TIMEOUT;
  } else if (streamReadTimeout > MAX_TIMER_DELAY) {
    warnings.push(`streamReadTimeout ${streamReadTimeout} is above the longest a timer can wait (${MAX_TIMER_DELAY} ms, about 24.8 days); using ${MAX_TIMER_DELAY}`);
    streamReadTimeout = MAX_TIMER_DELAY;
  }

  const config: ResolvedConfig = {
    url,
    appName: options.appName,
    instanceId,
    environment,
    projectName: optionalString('projectName'),
    namePrefix: optionalString('namePrefix'),
    tags,
    customHeaders: checkHeaders('customHeaders', options.customHeaders, warnings),
    customHeadersFunction,
    refreshInterval: interval('refreshInterval', options.refreshInterval, DEFAULT_REFRESH_INTERVAL, warnings),
    mode,
    streamReadTimeout,
    metricsInterval: interval('metricsInterval', options.metricsInterval, DEFAULT_METRICS_INTERVAL, warnings),
    disableMetrics: options.disableMetrics === true,
    disableRegistration: options.disableRegistration === true,
    timeout,
    httpOptions: http.options,
    maxBodySize,
    customStrategies,
    fallbackFunction,
    offline,
    sdkFlavor: optionalString('sdkFlavor'),
    sdkFlavorVersion: optionalString('sdkFlavorVersion'),
  };
  if (config.sdkFlavorVersion !== undefined && config.sdkFlavor === undefined) {
    warnings.push('sdkFlavorVersion is the version of the wrapper sdkFlavor names; without sdkFlavor it was ignored');
    config.sdkFlavorVersion = undefined;
  }
  if (config.metricsInterval === 0) config.disableMetrics = true;
  return { config, warnings };
}

/**
 * Every option of `UnleashConfig`: `true` for those a typo may be corrected to. `satisfies`
 * keeps it in step with the interface: an option missing here (or here and not there)
 * does not compile.
 */
const KNOWN_OPTIONS = {
  url: true,
  appName: true,
  instanceId: true,
  environment: true,
  projectName: true,
  namePrefix: true,
  tags: true,
  customHeaders: true,
  customHeadersFunction: true,
  refreshInterval: true,
  mode: true,
  streamReadTimeout: true,
  metricsInterval: true,
  disableMetrics: true,
  disableRegistration: true,
  timeout: true,
  httpOptions: true,
  maxBodySize: true,
  cache: true,
  customStrategies: true,
  fallbackFunction: true,
  eventCallback: true,
  offline: true,
  flagSource: true,
  hooks: true,
  sdkFlavor: true,
  sdkFlavorVersion: true,
  fleet: true,
  // Internal, for tests: accepted, never suggested.
  scheduler: false,
} as const satisfies Record<keyof UnleashConfig, boolean>;

/** Unknown keys reported one by one; past this, one line counts the rest. */
const MAX_UNKNOWN_REPORTED = 10;

/**
 * The edit distance between two strings (optimal string alignment: insertions, deletions,
 * substitutions and swaps of neighbours each cost 1), for suggesting an option name.
 */
export function editDistance(a: string, b: string): number {
  // rows[i][j]: the distance between the first i characters of a and the first j of b.
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!;
    const above = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The known option `key` most likely means (case aside), if any: one that contains it
 * (`project`, `strategies`) or that it contains (`environmentName`), else one within a few
 * typing slips of it (`refreshIntervall`, `enviornment`).
 */
export function closestOption(key: string): string | undefined {
  const lower = key.toLowerCase();
  const names = Object.entries(KNOWN_OPTIONS).flatMap(([name, suggest]) => (suggest ? [name] : []));
  const nearest = (candidates: string[]): { name: string; distance: number } | undefined => {
    let best: { name: string; distance: number } | undefined;
    for (const name of candidates) {
      const distance = editDistance(lower, name.toLowerCase());
      if (best === undefined || distance < best.distance) best = { name, distance };
    }
    return best;
  };
  if (lower.length >= 4) {
    const within = nearest(names.filter((name) => name.toLowerCase().includes(lower)));
    if (within !== undefined) return within.name;
    const around = nearest(names.filter((name) => name.length >= 4 && lower.includes(name.toLowerCase())));
    if (around !== undefined) return around.name;
  }
  const best = nearest(names);
  if (best === undefined) return undefined;
  // Short names tolerate one slip, long ones more.
  const tolerance = best.name.length <= 4 ? 1 : best.name.length <= 10 ? 2 : 4;
  return best.distance <= tolerance ? best.name : undefined;
}

/**
 * A warning for each key of `options` that is not an option (a typo such as
 * `refreshIntervall` would otherwise be ignored without a word), naming the closest option.
 */
export function unknownOptionWarnings(options: object): string[] {
  const unknown = Object.keys(options).filter((key) => !Object.hasOwn(KNOWN_OPTIONS, key));
  const warnings = unknown.slice(0, MAX_UNKNOWN_REPORTED).map((key) => {
    const shown = key.length > 60 ? `${key.slice(0, 60)}…` : key;
    const closest = closestOption(key);
    return `unknown option "${shown}" is ignored${closest === undefined ? '' : `; did you mean "${closest}"?`}`;
  });
  if (unknown.length > MAX_UNKNOWN_REPORTED) warnings.push(`${unknown.length - MAX_UNKNOWN_REPORTED} more unknown options are ignored`);
  return warnings;
}
