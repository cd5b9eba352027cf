/**
 * Explanations: why a flag answered what it did. A second walker over the same compiled
 * structures the fast path uses, so it can never disagree about the rules, and the fast
 * path pays nothing for it. Pure: it counts no metrics and fires no impressions.
 */
import { readField } from './context';
import type { CompiledConstraint } from './constraints';
import type { CompiledStrategy, FlagImpl, Snapshot } from './engine';
import type { Context, Variant } from './types';
import { DISABLED_VARIANT } from './variants';
import type { RolloutDetail } from '../strategies/strategy';

/** A constraint as the explanation reports it, with the context value it saw. */
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
  /** The context value the constraint read (`undefined`: the context lacks the field). */
  contextValue: string | undefined;
}

/** Why one strategy did not turn the flag on. */
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
    };

/** The structured reason behind an answer. */
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
      kind: 'NO_STRATEGIES'
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
      variantSource: 'strategy' | 'feature' | 'none'
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

/** The answer for one flag and context, with its reason. */
export interface Explanation {
  /** The flag name asked about. */
  flag: string;
  /** The answer `isEnabled` gives (for a missing flag, before any fallback). */
  enabled: boolean;
  /** The answer `getVariant` gives; `disabled` when the flag is off or has no variants. */
  variant: Variant;
  /** Why the answer is what it is. */
  reason: Reason;
}

function report(c: CompiledConstraint, context: Context): ConstraintReport {
  const d = c.definition;
  const out: ConstraintReport = {
    contextName: d.contextName,
    operator: d.operator,
    inverted: d.inverted === true,
    caseInsensitive: d.caseInsensitive === true,
    contextValue: readField(context, d.contextName),
  };
  if (d.values !== undefined && d.values.length > 0) out.values = d.values;
  if (d.value !== undefined) out.value = d.value;
  if (c.segmentId !== undefined) out.segmentId = c.segmentId;
  return out;
}

function miss(s: CompiledStrategy, context: Context): StrategyMiss {
  const { index, name } = s;
  if (!s.known) return { index, name, failure: 'UNKNOWN_STRATEGY' };
  if (s.missingSegments.length > 0) return { index, name, failure: 'SEGMENT_MISSING', segmentIds: [...s.missingSegments] };
  for (const c of s.constraints) {
    if (c.test(context)) continue;
    const constraint = report(c, context);
    return c.segmentId === undefined
      ? { index, name, failure: 'CONSTRAINT_FAILED', constraint }
      : { index, name, failure: 'SEGMENT_FAILED', segmentId: c.segmentId, constraint };
  }
  const rollout = s.logic.rollout?.(context);
  return rollout === undefined ? { index, name, failure: 'STRATEGY_DECLINED' } : { index, name, failure: 'STRATEGY_DECLINED', rollout };
}

function walk(flag: FlagImpl, context: Context): Explanation {
  const off = (reason: Reason): Explanation => ({ flag: flag.name, enabled: false, variant: DISABLED_VARIANT, reason });
  if (!flag.enabled) return off({ kind: 'DISABLED' });
  for (let i = 0; i < flag.dependencies.length; i++) {
    const why = flag.dependencyFailure(i, context);
    if (why !== undefined) return off({ kind: 'DEPENDENCY_FAILED', parent: flag.dependencies[i]!.feature, why });
  }
  if (flag.strategies.length === 0) {
    return { flag: flag.name, enabled: true, variant: flag.selectVariant(context), reason: { kind: 'NO_STRATEGIES' } };
  }
  const misses: StrategyMiss[] = [];
  for (const s of flag.strategies) {
    if (!s.matches(context)) {
      misses.push(miss(s, context));
      continue;
    }
    const variantSource = s.variants !== undefined ? 'strategy' : flag.variants !== undefined ? 'feature' : 'none';
    const rollout = s.logic.rollout?.(context);
    return {
      flag: flag.name,
      enabled: true,
      variant: flag.selectVariant(context),
      reason: { kind: 'STRATEGY_MATCH', index: s.index, name: s.name, variantSource, ...(rollout === undefined ? {} : { rollout }) },
    };
  }
  return off({ kind: 'NO_STRATEGY_MATCHED', strategies: misses });
}

/**
 * Explains the answer for `name` in `snapshot`. Never throws: a failure while evaluating
 * is itself the explanation (`ERROR`).
 */
export function explain(snapshot: Snapshot, name: string, context: Context): Explanation {
  const flag = snapshot.getImpl(name);
  if (flag === undefined) return { flag: name, enabled: false, variant: DISABLED_VARIANT, reason: { kind: 'FLAG_NOT_FOUND' } };
  try {
    return walk(flag, context ?? {});
  } catch (err) {
    return {
      flag: name,
      enabled: false,
      variant: DISABLED_VARIANT,
      reason: { kind: 'ERROR', message: err instanceof Error ? err.message : String(err) },
    };
  }
}
