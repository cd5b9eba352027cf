/**
 * The hashing rollout shared by flexibleRollout and gradualRolloutUserId/SessionId:
 * hash `"<groupId>:<value>"`, take the 1–100 bucket, on when `bucket <= percentage`.
 */
import { Rule, RuleKind } from './strategy';

/** A rollout on one context field: a missing field is off. */
export function fieldRollout(field: string, groupId: string, threshold: number): Rule {
  return new Rule(RuleKind.FIELD_ROLLOUT, threshold, field, undefined, groupId);
}
