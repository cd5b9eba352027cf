/**
 * Variant selection, compiled once per flag (feature variants) or per strategy (strategy
 * variants). Results are frozen objects built at compile time, so selecting one allocates
 * nothing.
 */
import { fieldGetter, type FieldGetter } from './context';
import type { EvalEnv } from './constraints';
import { hashPrefix, variantTarget } from './hash';
import type { Context, Variant, VariantDefinition } from './types';

/** The variant answer for a flag that is off. */
export const DISABLED_VARIANT: Variant = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: false });
/** The variant answer for a flag that is on but has no variants. */
export const DISABLED_VARIANT_FEATURE_ON: Variant = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: true });

/** A compiled variant list. */
export interface VariantSelector {
  /** Picks a variant for an enabled flag. */
  select(context: Context): Variant;
  /** The stickiness value and 1–total target, for explanations. */
  target(context: Context): { stickiness: string; value?: string; target: number; totalWeight: number };
}

function result(def: VariantDefinition): Variant {
  const v: Variant = { name: def.name, enabled: true, feature_enabled: true };
  if (def.payload) v.payload = Object.freeze({ type: def.payload.type, value: def.payload.value });
  return Object.freeze(v);
}

interface Override {
  get: FieldGetter;
  values: Set<string>;
  variant: Variant;
}

/**
 * Compiles a variant list hashed in `groupId`, or returns `undefined` when no variant can
 * ever be chosen (no variants, or all weights 0).
 * `stickiness` is the first variant's, or `default` (userId, sessionId, remoteAddress,
 * then random). A custom stickiness field the context lacks falls back to random.
 */
export function compileVariants(defs: readonly VariantDefinition[], groupId: string, stickiness: string | undefined, env: EvalEnv): VariantSelector | undefined {
  let totalWeight = 0;
  for (const d of defs) totalWeight += d.weight;
  if (defs.length === 0 || totalWeight <= 0) return undefined;

  const variants = defs.map(result);
  const weights = defs.map((d) => d.weight);
  const overrides: Override[] = [];
  defs.forEach((d, i) => {
    for (const o of d.overrides ?? []) {
      overrides.push({ get: fieldGetter(o.contextName), values: new Set(o.values), variant: variants[i]! });
    }
  });
  const prefix = hashPrefix(groupId);
  const sticky = stickiness === undefined || stickiness === '' ? 'default' : stickiness;
  const customGet = sticky === 'default' || sticky === 'random' ? undefined : fieldGetter(sticky);

  const seed = (context: Context): string | undefined => {
    if (customGet !== undefined) return customGet(context);
    if (sticky === 'random') return undefined;
    const { userId, sessionId, remoteAddress } = context;
    if (typeof userId === 'string' && userId !== '') return userId;
    if (typeof sessionId === 'string' && sessionId !== '') return sessionId;
    if (typeof remoteAddress === 'string' && remoteAddress !== '') return remoteAddress;
    return undefined;
  };
  const targetOf = (value: string | undefined): number =>
    value === undefined ? Math.floor(env.random() * totalWeight) + 1 : variantTarget(prefix, value, totalWeight);
  const pick = (target: number): Variant => {
    let sum = 0;
    for (let i = 0; i < variants.length; i++) {
      sum += weights[i]!;
      if (weights[i]! > 0 && sum >= target) return variants[i]!;
    }
    return variants[variants.length - 1]!;
  };

  return {
    select: (context) => {
      for (let i = 0; i < overrides.length; i++) {
        const o = overrides[i]!;
        const v = o.get(context);
        if (v !== undefined && o.values.has(v)) return o.variant;
      }
      return pick(targetOf(seed(context)));
    },
    target: (context) => {
      const value = seed(context);
      return { stickiness: sticky, ...(value === undefined ? {} : { value }), target: targetOf(value), totalWeight };
    },
  };
}
