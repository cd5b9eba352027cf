/**
 * The client's door leaves each flag of a full body (and of a delta's hydration) deferred (lib/engine/compact.ts): the
 * server's JSON, checked and compacted by the engine when first needed. These helpers do
 * that check, so a test can compare what the engine will use.
 */
import { isDeferred } from '../../lib/engine/compact';
import { Engine } from '../../lib/engine/engine';
import { parseFeature } from '../../lib/payload';
import type { FeatureDefinition } from '../../lib/types';

/** Each flag as the engine checks it (`parseFeature` of a deferred flag; others as they are). */
export function checkedFeatures(features: readonly FeatureDefinition[]): FeatureDefinition[] {
  return features.map((f) => (isDeferred(f) ? parseFeature(f)! : f));
}

/** A parse or bootstrap result with its flags checked (`checkedFeatures`), a delta's hydrations' too. */
export function checkedResult<T extends { payload: object }>(result: T): T {
  const payload = result.payload as { features?: readonly FeatureDefinition[]; events?: readonly { type: string; features?: readonly FeatureDefinition[] }[] };
  if (payload.events !== undefined) {
    const events = payload.events.map((e) => (e.type === 'hydration' && e.features !== undefined ? { ...e, features: checkedFeatures(e.features) } : e));
    return { ...result, payload: { ...payload, events } };
  }
  if (payload.features === undefined) return result;
  return { ...result, payload: { ...payload, features: checkedFeatures(payload.features) } };
}

/**
 * Whether an engine loading `features` (a list as a snapshot or the door gives it) keeps
 * every definition as it is, i.e. they are compact already (lib/engine/compact.ts) and
 * none is deferred: the engine neither copies nor checks them again.
 */
export function takenAsTheyAre(features: readonly FeatureDefinition[]): boolean {
  if (features.some((f) => isDeferred(f))) return false;
  const snapshot = new Engine().load({ kind: 'full', version: 2, features: features as FeatureDefinition[], segments: [] });
  return features.every((f) => snapshot.get(f.name)!.definition === f);
}
