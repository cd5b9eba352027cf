/**
 * Builders for the engine-level tables in spec/engine. They reach the engine only through
 * its stable surface (a wire payload, `parseClientPayload`, `Engine.load`, `Snapshot.get`),
 * so these tests keep working however the engine's files are arranged inside.
 */
import murmur from 'murmurhash3js-revisited';
import { Engine } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';

export type EngineSettings = NonNullable<ConstructorParameters<typeof Engine>[0]>;
export type Snapshot = ReturnType<Engine['load']>;
export type Flag = NonNullable<ReturnType<Snapshot['get']>>;
/** A context as tests write it: the standard fields, and custom fields at the top level too (read like properties at run time). */
export type Context = Parameters<Flag['isEnabled']>[0] & Record<string, unknown>;
export type Variant = ReturnType<Flag['getVariant']>;

/** Wire JSON, as the server sends it. */
export type Json = Record<string, unknown>;

/** A fixed clock for DATE_* rows: 2026-06-15T12:00:00Z. */
export const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

/** Compiles a wire body with `features` (and `segments`) into a snapshot. */
export function snapshotOf(features: Json[], segments: Json[] = [], settings: EngineSettings = {}): Snapshot {
  const { payload } = parseClientPayload({ version: 2, features, segments });
  return new Engine({ now: () => NOW, ...settings }).load(payload);
}

/** A wire feature, on, with `strategies`. */
export function feature(name: string, strategies: Json[], extra: Json = {}): Json {
  return { name, enabled: true, strategies, variants: [], ...extra };
}

/** Flag `f`: one `default` strategy guarded by `constraint`. */
export function constraintFlag(constraint: Json, settings: EngineSettings = {}): Flag {
  return snapshotOf([feature('f', [{ name: 'default', constraints: [constraint] }])], [], settings).get('f')!;
}

/** Flag `flagName` with one strategy `name` and its `parameters`. */
export function strategyFlag(name: string, parameters: Record<string, string>, settings: EngineSettings = {}, flagName = 'f'): Flag {
  return snapshotOf([feature(flagName, [{ name, parameters }])], [], settings).get(flagName)!;
}

/** Flag `flagName` with `variants` on an always-on strategy. */
export function variantFlag(variants: Json[], settings: EngineSettings = {}, flagName = 'f'): Flag {
  return snapshotOf([feature(flagName, [{ name: 'default' }], { variants })], [], settings).get(flagName)!;
}

function murmurOf(text: string, seed: number): number {
  return murmur.x86.hash32(Buffer.from(text, 'utf8'), seed);
}

/** The reference rollout bucket (1–100) of `id` in `groupId`, from the reference murmur package. */
export function bucketOf(groupId: string, id: string): number {
  return (murmurOf(`${groupId}:${id}`, 0) % 100) + 1;
}

/** The reference variant target (1–`total`) of `id` in `groupId`. */
export function variantTargetOf(groupId: string, id: string, total: number): number {
  return (murmurOf(`${groupId}:${id}`, 86028157) % total) + 1;
}

/** A user id of `group` whose reference bucket satisfies `wanted` (the first of `prefix-0`, `prefix-1`, …). */
export function idInBucket(groupId: string, wanted: (bucket: number) => boolean, prefix = 'user'): { id: string; bucket: number } {
  for (let i = 0; i < 100000; i++) {
    const id = `${prefix}-${i}`;
    const bucket = bucketOf(groupId, id);
    if (wanted(bucket)) return { id, bucket };
  }
  throw new Error('no id found');
}
