/**
 * What a detailed evaluation records while it walks a flag. The fast path passes `null`
 * and records nothing; `evaluate` passes a trace and builds its reason from what the
 * walk recorded, so the reason describes the very draws (random buckets included) that
 * decided the value.
 */

/**
 * Where a rollout strategy put a context.
 *
 * @group Evaluation results
 */
export interface RolloutDetail {
  /**
   * The stickiness used: a context field name, `random`, or for `default` stickiness
   * `default→userId`, `default→sessionId` or `default→random`.
   */
  stickiness: string;
  /** The context value that was hashed; absent for random buckets or a missing field. */
  value?: string;
  /** The 1–100 bucket, or `undefined` when the context lacked the stickiness field. */
  bucket?: number;
  /** The rollout percentage (0–100); the strategy is on when `bucket <= threshold`. */
  threshold: number;
}

/**
 * How a variant was chosen.
 *
 * @group Evaluation results
 */
export interface VariantDetail {
  /** `strategy`: the matching strategy's own variants; `feature`: the flag's variants. */
  from: 'strategy' | 'feature';
  /** Set when an override picked the variant: the context field it matched. */
  override?: string;
  /** The stickiness used (`default`, `random` or a context field). */
  stickiness: string;
  /** The context value hashed; absent for a random pick. */
  value?: string;
  /** The 1–totalWeight target the weights were walked to; absent for an override. */
  target?: number;
  /** The sum of the variants' weights. */
  totalWeight: number;
}

/** The facts of one strategy that did not match. */
export interface StrategyMissFacts {
  /** The strategy's 0-based position in the flag. */
  index: number;
  /** The position, in the strategy's constraints (own first, then its segments'), of the first that failed; -1: none failed. */
  failedConstraint: number;
  /** For rollouts that declined: where the context landed. */
  rollout: RolloutDetail | undefined;
  /** Set when a custom strategy threw (or answered something other than a boolean). */
  error: string | undefined;
}

/** A mutable record of one detailed evaluation. Made per `evaluate` call. */
export class EvaluationTrace {
  /** The current strategy's first failing constraint (-1: none). */
  failedConstraint = -1;
  /** The current strategy's rollout detail. */
  rollout: RolloutDetail | undefined = undefined;
  /** The current strategy's error. */
  error: string | undefined = undefined;
  /** Strategies that did not match, in order. */
  readonly misses: StrategyMissFacts[] = [];
  /** The first dependency that failed: its position and why. */
  dependency: { index: number; why: string } | undefined = undefined;
  /** How the variant was chosen, when one was. */
  variant: VariantDetail | undefined = undefined;

  /** Files the current strategy's facts as a miss and clears them for the next one. */
  missed(index: number): void {
    this.misses.push({ index, failedConstraint: this.failedConstraint, rollout: this.rollout, error: this.error });
    this.clear();
  }

  /** Clears the current strategy's facts. */
  clear(): void {
    this.failedConstraint = -1;
    this.rollout = undefined;
    this.error = undefined;
  }
}
