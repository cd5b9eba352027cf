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
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted: boolean;
  caseInsensitive: boolean;
  /** The segment the constraint belongs to, when it is a segment's. */
  segmentId?: number;
  /** The context value the constraint read (`undefined`: the context lacks the field). */
  contextValue: string | undefined;
}

/** Why one strategy did not turn the flag on. */
export type StrategyMiss =
  | { index: number; name: string; failure: 'UNKNOWN_STRATEGY' }
  | { index: number; name: string; failure: 'SEGMENT_MISSING'; segmentIds: number[] }
  | { index: number; name: string; failure: 'CONSTRAINT_FAILED'; constraint: ConstraintReport }
  | { index: number; name: string; failure: 'SEGMENT_FAILED'; segmentId: number; constraint: ConstraintReport }
  | { index: number; name: string; failure: 'STRATEGY_DECLINED'; rollout?: RolloutDetail };

/** The structured reason behind an answer. */
export type Reason =
  | { kind: 'FLAG_NOT_FOUND' }
  | { kind: 'DISABLED' }
  | { kind: 'DEPENDENCY_FAILED'; parent: string; why: string }
  /** A flag with no strategies is on for everyone. */
  | { kind: 'NO_STRATEGIES' }
  | { kind: 'STRATEGY_MATCH'; index: number; name: string; rollout?: RolloutDetail; variantSource: 'strategy' | 'feature' | 'none' }
  | { kind: 'NO_STRATEGY_MATCHED'; strategies: StrategyMiss[] }
  | { kind: 'ERROR'; message: string };

/** The answer for one flag and context, with its reason. */
export interface Explanation {
  flag: string;
  enabled: boolean;
  variant: Variant;
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
