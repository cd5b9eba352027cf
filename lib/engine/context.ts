/**
 * Reading fields from an evaluation context. A field is looked up at the top level
 * (userId, sessionId, remoteAddress, environment, appName, currentTime, or any other key)
 * and then in `properties`. Values that are not strings are their string form, as in
 * every Unleash SDK (`userId: 42` is the user `"42"`): numbers, bigints and booleans by
 * `String`, a Date by its ISO string. Missing, null, empty and unreadable values (an
 * invalid Date, an object, a symbol) all count as absent.
 *
 * These are plain functions taking the field name, not per-field closures: the compiled
 * flags call them from a single site, where V8 can inline them, and hold no closure per
 * constraint. A string value (the common case) is returned as is, without allocating.
 */
import { parseAddress, type Address } from './ip';
import type { Context } from '../types';

/**
 * A context as JavaScript may pass it: the type names the standard fields and puts the
 * rest in `properties`, but a top-level custom field (`{ tenant: 'acme' }`, as the official
 * SDKs allow) is still read, before `properties`.
 */
type Loose = Readonly<Record<string, unknown>>;

/** The string form of a context value, or `undefined` when it counts as absent. */
function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return undefined;
}

/**
 * A standard top-level field (userId, sessionId, remoteAddress), which strategies and
 * stickiness read without looking in `properties`, as the official SDKs do.
 */
export function readTopField(context: Context, name: 'userId' | 'sessionId' | 'remoteAddress'): string | undefined {
  const value = context[name];
  if (typeof value === 'string') return value === '' ? undefined : value;
  return value === undefined || value === null ? undefined : asString(value);
}

/**
 * Values of `appName` and `environment` for contexts that leave them out (the client's
 * options). Read only when the context has no value of its own: no context is copied to
 * fill them in.
 */
export interface ContextDefaults {
  /** Used when the context has no `appName`. */
  readonly appName?: string;
  /** Used when the context has no `environment`. */
  readonly environment?: string;
}

/** The default of field `name`, if it is one of the defaulted fields. */
function defaultOf(defaults: ContextDefaults | undefined, name: string): string | undefined {
  if (defaults === undefined) return undefined;
  return name === 'appName' ? defaults.appName : name === 'environment' ? defaults.environment : undefined;
}

/**
 * Context lookups by name: the top level first, then `properties`, then (for `appName`
 * and `environment`) the defaults.
 */
export function readField(context: Context, name: string, defaults?: ContextDefaults): string | undefined {
  const top = (context as Loose)[name];
  if (typeof top === 'string' && top !== '') return top;
  if (top !== undefined && top !== null) {
    const s = asString(top);
    if (s !== undefined) return s;
  }
  const props = context.properties;
  if (props !== undefined && props !== null) {
    const value = props[name];
    if (typeof value === 'string' && value !== '') return value;
    const s = value === undefined || value === null ? undefined : asString(value);
    if (s !== undefined) return s;
  }
  return defaultOf(defaults, name);
}

/**
 * `Number(readField(context, name).trim())`, or NaN when absent or blank, without turning
 * a number-typed value into a string and back.
 */
export function readNumber(context: Context, name: string, defaults?: ContextDefaults): number {
  // A number is its own numeric value: Number(String(n)) is n for every number.
  const top = (context as Loose)[name];
  if (typeof top === 'number') return top;
  if (top !== undefined && top !== null) {
    const s = asString(top);
    if (s !== undefined) return parseNumber(s);
  }
  const props = context.properties;
  if (props !== undefined && props !== null) {
    const value = props[name];
    if (typeof value === 'number') return value;
    const s = value === undefined || value === null ? undefined : asString(value);
    if (s !== undefined) return parseNumber(s);
  }
  return parseNumber(defaultOf(defaults, name));
}

/** `Number` of trimmed text; NaN for absent or blank text (where `Number('')` would be 0). */
export function parseNumber(text: string | undefined): number {
  if (text === undefined) return NaN;
  const trimmed = text.trim();
  return trimmed === '' ? NaN : Number(trimmed);
}

// One-entry memo of the last address parsed: a request checks the same remoteAddress
// against every IN_CIDR constraint and remoteAddress strategy it meets.
let lastAddressText = '';
let lastAddress: Address | undefined;

/** `parseAddress(text)`, remembered for the last text seen. Do not mutate the result. */
export function addressOf(text: string): Address | undefined {
  if (text !== lastAddressText) {
    lastAddress = parseAddress(text);
    lastAddressText = text;
  }
  return lastAddress;
}
