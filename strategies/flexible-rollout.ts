import { fieldRollout } from './rollout';
import { groupIdOf, percentage, Rule, RuleKind, type BuiltinStrategy } from './strategy';

/**
 * `flexibleRollout`: a `rollout` percentage with `stickiness` (default, userId, sessionId,
 * random, or any context field) in `groupId` (default: the flag name). Default
 * stickiness hashes the userId, else the sessionId, else takes a random bucket.
 */
export const flexibleRolloutStrategy: BuiltinStrategy = {
  name: 'flexibleRollout',
  compile: ({ parameters, flagName }) => {
    const threshold = percentage(parameters.rollout);
    const groupId = groupIdOf(parameters, flagName);
    const stickiness = parameters.stickiness === undefined || parameters.stickiness === '' ? 'default' : parameters.stickiness;
    if (stickiness === 'random') return new Rule(RuleKind.RANDOM_ROLLOUT, threshold);
    if (stickiness !== 'default') return fieldRollout(stickiness, groupId, threshold);
    return new Rule(RuleKind.DEFAULT_ROLLOUT, threshold, '', undefined, groupId);
  },
};
