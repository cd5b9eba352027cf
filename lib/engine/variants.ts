/**
 * Variant selection, compiled once per flag (feature variants) or per strategy (strategy
 * variants). Results are frozen objects built at compile time, so selecting one allocates
 * nothing; weights are read from the (immutable) definitions rather than copied.
 */
import { readField, readTopField } from './context';
import type { EvalEnv } from './constraints';
import { hashAfter, hashPrefix, VARIANT_SEED } from './hash';
import type { EvaluationTrace, VariantDetail } from './trace';
import type { Context, Variant, VariantDefinition } from '../types';

/** The variant answer for a flag that is off. */
export const DISABLED_VARIANT: Variant = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: false });
/** The variant answer for a flag that is on but has no variants. */
export const DISABLED_VARIANT_FEATURE_ON: Variant = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: true });


function result(def: VariantDefinition): Variant {
  if (!def.payload) return Object.freeze({ name: def.name, enabled: true, feature_enabled: true });
  // Results are shared, so their payload must be frozen: the engine's compact definitions
  // already hold frozen payloads (shared as is); anything else is copied.
  const payload = Object.isFrozen(def.payload) ? def.payload : Object.freeze({ type: def.payload.type, value: def.payload.value });
  return Object.freeze({ name: def.name, enabled: true, feature_enabled: true, payload });
}

/** One override: `values` of context field `field` get `variant`. */
class Override {
  constructor(
    readonly field: string,
    readonly values: readonly string[],
    readonly variant: Variant,
  ) {}
}

// How a selector finds the value it hashes.
const STICKY_DEFAULT = 0;
const STICKY_RANDOM = 1;
const STICKY_FIELD = 2;

/** A compiled variant list: picks a variant for an enabled flag. */
export class VariantSelector {
  // The murmur state after `"<groupId>:"` with the variant seed (see HashPrefix).
  private readonly h: number;
  private readonly carry: number;
  private readonly tail: number;

  constructor(
    private readonly defs: readonly VariantDefinition[],
    private readonly results: readonly Variant[],
    private readonly totalWeight: number,
    private readonly overrides: readonly Override[] | null,
    groupId: string,
    private readonly sticky: number,
    /** The stickiness name (`default`, `random` or the field), as explanations report it. */
    private readonly stickiness: string,
    private readonly env: EvalEnv,
    /** Whose variants these are: a strategy's or the flag's. */
    private readonly from: VariantDetail['from'],
  ) {
    const prefix = hashPrefix(groupId, VARIANT_SEED);
    this.h = prefix.h;
    this.carry = prefix.carry;
    this.tail = prefix.tail;
  }

  /** The value to hash: custom field, or userId, sessionId, remoteAddress; undefined: random. */
  private seed(context: Context): string | undefined {
    if (this.sticky === STICKY_FIELD) return readField(context, this.stickiness, this.env.defaults);
    if (this.sticky === STICKY_RANDOM) return undefined;
    return readTopField(context, 'userId') ?? readTopField(context, 'sessionId') ?? readTopField(context, 'remoteAddress');
  }

  private targetOf(value: string | undefined): number {
    if (value === undefined) return Math.floor(this.env.random() * this.totalWeight) + 1;
    return ((hashAfter(this.h, this.carry, this.tail, value) >>> 0) % this.totalWeight) + 1;
  }

  /** Picks a variant for an enabled flag; with a trace, records how. May throw on a hostile context. */
  select(context: Context, trace: EvaluationTrace | null): Variant {
    const overrides = this.overrides;
    if (overrides !== null) {
      for (let i = 0; i < overrides.length; i++) {
        const o = overrides[i]!;
        const v = readField(context, o.field, this.env.defaults);
        if (v !== undefined && o.values.includes(v)) {
          if (trace !== null) trace.variant = { from: this.from, override: o.field, stickiness: this.stickiness, value: v, totalWeight: this.totalWeight };
          return o.variant;
        }
      }
    }
    const value = this.seed(context);
    const target = this.targetOf(value);
    if (trace !== null) {
      const detail: VariantDetail = { from: this.from, stickiness: this.stickiness, target, totalWeight: this.totalWeight };
      if (value !== undefined) detail.value = value;
      trace.variant = detail;
    }
    const defs = this.defs;
    let sum = 0;
    for (let i = 0; i < defs.length; i++) {
      const weight = defs[i]!.weight;
      sum += weight;
      if (weight > 0 && sum >= target) return this.results[i]!;
    }
    return this.results[this.results.length - 1]!;
  }
}

/**
 * Compiles a variant list hashed in `groupId`, or returns `undefined` when no variant can
 * ever be chosen (no variants, or all weights 0).
 * `stickiness` is the first variant's, or `default` (userId, sessionId, remoteAddress,
 * then random). A custom stickiness field the context lacks falls back to random.
 */
export function compileVariants(
  defs: readonly VariantDefinition[],
  groupId: string,
  stickiness: string | undefined,
  env: EvalEnv,
  from: VariantDetail['from'],
): VariantSelector | undefined {
  let totalWeight = 0;
  for (const d of defs) totalWeight += d.weight;
  if (totalWeight <= 0) return undefined; // also no variants at all

  const results = defs.map(result);
  const found: Override[] = [];
  defs.forEach((d, i) => {
    for (const o of d.overrides ?? []) found.push(new Override(o.contextName, o.values ?? [], results[i]!));
  });
  // A copy of exactly its length: the list `push` grew keeps room for more.
  const overrides = found.length === 0 ? null : found.slice();
  const sticky = stickiness === undefined || stickiness === '' || stickiness === 'default' ? STICKY_DEFAULT : stickiness === 'random' ? STICKY_RANDOM : STICKY_FIELD;
  return new VariantSelector(defs, results, totalWeight, overrides, groupId, sticky, sticky === STICKY_DEFAULT ? 'default' : stickiness!, env, from);
}
