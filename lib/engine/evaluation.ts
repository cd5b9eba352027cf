/**
 * Evaluation results and their reasons. The reason is built from the `EvaluationTrace`
 * of the one walk that also decided the value (see flag.ts), so the two
 * cannot disagree. Pure: counts no metrics and fires no impressions.
 */
import { problemOf, type CompiledConstraint } from './constraints';
import { readField, type ContextDefaults } from './context';
import type { CompiledFlag } from './flag';
import type { Snapshot } from './engine';
import type { EvaluationTrace, RolloutDetail, StrategyMissFacts, VariantDetail } from './trace';
import type { ConstraintDefinition, Context, Variant } from '../types';
import { DISABLED_VARIANT } from './variants';

/**
 * A constraint as the explanation reports it, with the context value it saw.
 *
 * @group Evaluation results
 */
export interface ConstraintReport {
  /** The context field the constraint reads. */
  contextName: string;
  /** The operator as sent on the wire, unknown ones included. */
  operator: string;
  /** The list operands; omitted when the constraint has none. */
  values?: string[];
  /** The single operand (NUM_*, DATE_*, SEMVER_*, REGEX); omitted when absent. */
  value?: string;
  /** Whether the operator's answer is negated (false when absent on the wire). */
  inverted: boolean;
  /** Whether STR_* and REGEX compared case-insensitively (false when absent on the wire). */
  caseInsensitive: boolean;
  /** The segment the constraint belongs to, when it is a segment's. */
  segmentId?: number;
  /**
   * Set when the constraint can never hold, whatever `inverted` says (switchyard fails
   * closed): what is unusable, e.g. `NUM_EQ has no usable number ("abc")`, an unknown
   * operator, or a constraint malformed on the wire.
   */
  unusable?: string;
  /** The context value the constraint read (`undefined`: the context lacks the field). */
  contextValue: string | undefined;
}

/**
 * Why one strategy did not turn the flag on.
 *
 * @group Evaluation results
 */
export type StrategyMiss =
  | {
      /** The strategy's 0-based position in the flag's `strategies`. */
      index: number;
      /** The strategy's name. */
      name: string;
      /** No built-in or registered strategy has this name, so it is always off. */
      failure: 'UNKNOWN_STRATEGY'
    }
  | {
      /** The strategy's 0-based position in the flag's `strategies`. */
      index: number;
      /** The strategy's name. */
      name: string;
      /** The strategy refers to segments the payload does not define, so it is always off. */
      failure: 'SEGMENT_MISSING';
      /** The missing ids (`NaN` for a reference that could not be read). */
      segmentIds: number[]
    }
  | {
      /** The strategy's 0-based position in the flag's `strategies`. */
      index: number;
      /** The strategy's name. */
      name: string;
      /** One of the strategy's own constraints did not hold. */
      failure: 'CONSTRAINT_FAILED';
      /** The first constraint that failed; later ones were not checked. */
      constraint: ConstraintReport
    }
  | {
      /** The strategy's 0-based position in the flag's `strategies`. */
      index: number;
      /** The strategy's name. */
      name: string;
      /** A constraint of a referenced segment did not hold. */
      failure: 'SEGMENT_FAILED';
      /** The segment the failing constraint belongs to. */
      segmentId: number;
      /** The first constraint that failed; later ones were not checked. */
      constraint: ConstraintReport
    }
  | {
      /** The strategy's 0-based position in the flag's `strategies`. */
      index: number;
      /** The strategy's name. */
      name: string;
      /** Every constraint held, but the strategy itself said no (rollout bucket, user list, ...). */
      failure: 'STRATEGY_DECLINED';
      /** For rollout strategies: the bucket the context landed in and the threshold it missed. */
      rollout?: RolloutDetail
    }
  | {
      /** The strategy's 0-based position in the flag's `strategies`. */
      index: number;
      /** The strategy's name. */
      name: string;
      /** Every constraint held, but the custom strategy threw or did not answer a boolean; it counts as false. */
      failure: 'STRATEGY_ERROR';
      /** What went wrong, e.g. `threw TypeError: ...` or `returned a Promise ...`. */
      message: string
    };

/**
 * The structured reason behind an answer.
 *
 * @group Evaluation results
 */
export type Reason =
  | {
      /** The flag is not in the current flags (the client answers with its fallback). */
      kind: 'FLAG_NOT_FOUND'
    }
  | {
      /** The flag is switched off in this environment; no strategy was consulted. */
      kind: 'DISABLED'
    }
  | {
      /** A dependency did not hold, so the flag is off whatever its strategies say. */
      kind: 'DEPENDENCY_FAILED';
      /** The name of the first parent whose condition failed. */
      parent: string;
      /** Why, in words (e.g. `parent is disabled`, `parent flag not found`). */
      why: string
    }
  | {
      /** The flag has no strategies, so it is on for everyone. */
      kind: 'NO_STRATEGIES';
      /** How the variant was picked, when the flag has variants. */
      variantDetail?: VariantDetail
    }
  | {
      /** A strategy turned the flag on; later strategies were not consulted. */
      kind: 'STRATEGY_MATCH';
      /** The matching strategy's 0-based position in the flag's `strategies`. */
      index: number;
      /** The matching strategy's name. */
      name: string;
      /** For rollout strategies: the bucket the context landed in and the threshold. */
      rollout?: RolloutDetail;
      /**
       * Where the variant came from: the matching strategy's own variants, the flag's
       * variants, or `none` (no variants; the variant is `disabled`).
       */
      variantFrom: 'strategy' | 'feature' | 'none';
      /** How the variant was picked (override, or the hashed or random target), when there are variants. */
      variantDetail?: VariantDetail
    }
  | {
      /** The flag is enabled, but no strategy said yes. */
      kind: 'NO_STRATEGY_MATCHED';
      /** Why each strategy declined, in the flag's order. */
      strategies: StrategyMiss[]
    }
  | {
      /** Evaluating threw (e.g. a hostile context); the answer is off. */
      kind: 'ERROR';
      /** The error's message. */
      message: string
    };

/**
 * The answer for one flag and context with its reason, from one walk of the flag: the
 * reason describes the very buckets and draws that decided `enabled` and `variant`.
 *
 * @group Evaluation results
 */
export interface EvaluationResult {
  /** The flag name asked about. */
  flag: string;
  /** Whether the flag is on, as `isEnabled` answers (for a missing flag: the fallback's answer). */
  enabled: boolean;
  /**
   * The variant, as `getVariant` answers: `disabled` when the flag is off or has no
   * variants (`feature_enabled` then tells which). Frozen and shared.
   */
  variant: Variant;
  /** Why the answer is what it is. */
  reason: Reason;
}

/**
 * The value a constraint read, read again for its report, exactly as the walk read it (a
 * string or number context included: its own properties, then the defaults);
 * `undefined` when reading throws now (a getter that throws on a second read): a reason
 * never throws.
 */
function contextValueOf(context: Context, name: string, defaults: ContextDefaults): string | undefined {
  try {
    return readField(context, name, defaults);
  } catch {
    return undefined;
  }
}

function report(def: ConstraintDefinition, compiled: CompiledConstraint | undefined, context: Context, defaults: ContextDefaults, segmentId: number | undefined): ConstraintReport {
  const out: ConstraintReport = {
    contextName: def.contextName,
    operator: def.operator,
    inverted: def.inverted === true,
    caseInsensitive: def.caseInsensitive === true,
    contextValue: contextValueOf(context, def.contextName, defaults),
  };
  if (def.values !== undefined && def.values.length > 0) out.values = def.values;
  if (def.value !== undefined) out.value = def.value;
  const unusable = compiled === undefined ? undefined : problemOf(compiled);
  if (unusable !== undefined) out.unusable = unusable;
  if (segmentId !== undefined) out.segmentId = segmentId;
  return out;
}

/** Why strategy `facts.index` of `flag` did not match, from what the walk recorded. */
function missOf(flag: CompiledFlag, facts: StrategyMissFacts, context: Context): StrategyMiss {
  const { index } = facts;
  const def = flag.definition.strategies[index]!;
  const name = def.name;
  const { registry, segments } = flag.shared;
  if (registry.get(name) === undefined) return { index, name, failure: 'UNKNOWN_STRATEGY' };
  const missing = def.segments.filter((id) => !segments.has(id));
  if (missing.length > 0) return { index, name, failure: 'SEGMENT_MISSING', segmentIds: missing };
  if (facts.failedConstraint >= 0) {
    // The compiled constraints are the strategy's own, then each segment's, in order.
    const compiled = flag.strategyAt(index)?.constraints?.[facts.failedConstraint];
    let k = facts.failedConstraint;
    if (k < def.constraints.length) return { index, name, failure: 'CONSTRAINT_FAILED', constraint: report(def.constraints[k]!, compiled, context, flag.shared.env.defaults, undefined) };
    k -= def.constraints.length;
    for (const id of def.segments) {
      const own = segments.get(id)!.constraints;
      if (k < own.length) return { index, name, failure: 'SEGMENT_FAILED', segmentId: id, constraint: report(own[k]!, compiled, context, flag.shared.env.defaults, id) };
      k -= own.length;
    }
  }
  if (facts.error !== undefined) return { index, name, failure: 'STRATEGY_ERROR', message: facts.error };
  return facts.rollout === undefined ? { index, name, failure: 'STRATEGY_DECLINED' } : { index, name, failure: 'STRATEGY_DECLINED', rollout: facts.rollout };
}

/**
 * The reason for the walk `trace` recorded, which ended at strategy `index` (-1: off).
 * @internal called by `CompiledFlag.evaluate`.
 */
export function reasonOf(flag: CompiledFlag, index: number, trace: EvaluationTrace, context: Context): Reason {
  if (!flag.enabled) return { kind: 'DISABLED' };
  if (trace.dependency !== undefined) {
    return { kind: 'DEPENDENCY_FAILED', parent: flag.definition.dependencies[trace.dependency.index]!.feature, why: trace.dependency.why };
  }
  const variantDetail = trace.variant;
  if (index >= 0 && flag.definition.strategies.length === 0) {
    return variantDetail === undefined ? { kind: 'NO_STRATEGIES' } : { kind: 'NO_STRATEGIES', variantDetail };
  }
  if (index >= 0) {
    const reason: Reason = {
      kind: 'STRATEGY_MATCH',
      index,
      name: flag.definition.strategies[index]!.name,
      variantFrom: variantDetail?.from ?? 'none',
    };
    if (trace.rollout !== undefined) reason.rollout = trace.rollout;
    if (variantDetail !== undefined) reason.variantDetail = variantDetail;
    return reason;
  }
  return { kind: 'NO_STRATEGY_MATCHED', strategies: trace.misses.map((facts) => missOf(flag, facts, context)) };
}

/**
 * Evaluates `name` in `snapshot` with its reason, counting nothing (the engine has no
 * metrics). Never throws: a failure while evaluating is itself the reason (`ERROR`).
 */
export function evaluateIn(snapshot: Snapshot, name: string, context: Context | undefined): EvaluationResult {
  const flag = snapshot.get(name);
  if (flag === undefined) return { flag: name, enabled: false, variant: DISABLED_VARIANT, reason: { kind: 'FLAG_NOT_FOUND' } };
  return flag.evaluate(context ?? {});
}
