/**
 * Reading fields from an evaluation context. A field is looked up at the top level
 * (userId, sessionId, remoteAddress, environment, appName, currentTime, or any other key)
 * and then in `properties`. Missing, null and empty values all count as absent, as in the
 * official SDKs.
 */
import type { Context } from './types';

/** Reads one field as a string, or `undefined` when the context lacks it. */
export type FieldGetter = (context: Context) => string | undefined;

function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return undefined;
}

const getters = new Map<string, FieldGetter>();

/** A getter for `name`, shared by every constraint and strategy that reads that field. */
export function fieldGetter(name: string): FieldGetter {
  let getter = getters.get(name);
  if (!getter) {
    getter = (context) => {
      const top = asString(context[name]);
      if (top !== undefined) return top;
      const props = context.properties;
      return props === undefined || props === null ? undefined : asString(props[name]);
    };
    if (getters.size < 10_000) getters.set(name, getter);
  }
  return getter;
}

/** Context lookups by name, for code that reads a field only once (overrides, explain). */
export function readField(context: Context, name: string): string | undefined {
  return fieldGetter(name)(context);
}
