import { fieldRollout } from './rollout';
import { CompiledStrategy, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { groupIdOf, percentage } from './parameters';

/**
 * `flexibleRollout`: a `rollout` percentage with `stickiness` (default, userId, sessionId,
 * random, or any context field) in `groupId` (default: the flag name). Default
 * stickiness hashes the userId, else the sessionId, else takes a random bucket.
 */
export const flexibleRolloutStrategy: StrategyCompiler = {
  name: 'flexibleRollout',
  compile: ({ parameters, flagName }) => {
    const threshold = percentage(parameters.rollout);
    const groupId = groupIdOf(parameters, flagName);
    const stickiness = parameters.stickiness === undefined || parameters.stickiness === '' ? 'default' : parameters.stickiness;
    if (stickiness === 'random') return new CompiledStrategy(StrategyKind.RANDOM_ROLLOUT, threshold);
    if (stickiness !== 'default') return fieldRollout(stickiness, groupId, threshold);
    return new CompiledStrategy(StrategyKind.DEFAULT_ROLLOUT, threshold, '', null, groupId);
  },
};
