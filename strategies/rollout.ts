/**
 * The hashing rollout shared by flexibleRollout and gradualRolloutUserId/SessionId:
 * hash `"<groupId>:<value>"`, take the 1–100 bucket, on when `bucket <= percentage`.
 */
import { CompiledStrategy, StrategyKind } from '../lib/engine/compiled-strategy';

/** A rollout on one context field: a missing field is off. */
export function fieldRollout(field: string, groupId: string, threshold: number): CompiledStrategy {
  return new CompiledStrategy(StrategyKind.FIELD_ROLLOUT, threshold, field, null, groupId);
}
