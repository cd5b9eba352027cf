/**
 * The one mapping from switchyard's `Reason` to the standard reasons shared by OpenFeature
 * (`StandardResolutionReasons`, upper case) and the OpenTelemetry feature-flag semantic
 * conventions (`feature_flag.result.reason`, the same words in lower case), so the
 * OpenFeature provider and the OpenTelemetry hook never disagree on why.
 */
import type { EvaluationResult } from './engine/evaluation';

/** The standard reasons switchyard produces. */
export type StandardReason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'ERROR';

/**
 * The standard reason for an answer:
 * - `DISABLED`: the flag is off in this environment;
 * - `STATIC`: the flag has no strategies (on for everyone, nothing evaluated);
 * - `SPLIT`: a rollout below 100 % decided (a strategy matched by its bucket, or every
 *   strategy declined and one was a rollout), i.e. pseudorandom assignment;
 * - `TARGETING_MATCH`: any other strategy outcome, and a failed dependency;
 * - `ERROR`: an unknown flag or a failed evaluation.
 */
export function standardReasonOf(e: EvaluationResult): StandardReason {
  const r = e.reason;
  switch (r.kind) {
    case 'DISABLED':
      return 'DISABLED';
    case 'NO_STRATEGIES':
      return 'STATIC';
    case 'STRATEGY_MATCH':
      return r.rollout !== undefined && r.rollout.threshold < 100 ? 'SPLIT' : 'TARGETING_MATCH';
    case 'NO_STRATEGY_MATCHED':
      return r.strategies.some((s) => s.failure === 'STRATEGY_DECLINED' && s.rollout !== undefined) ? 'SPLIT' : 'TARGETING_MATCH';
    case 'DEPENDENCY_FAILED':
      return 'TARGETING_MATCH';
    case 'FLAG_NOT_FOUND':
    case 'ERROR':
      return 'ERROR';
  }
}
