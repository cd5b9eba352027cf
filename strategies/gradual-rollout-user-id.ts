import { fieldRollout } from './rollout';
import { type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { groupIdOf, percentage } from './parameters';

/** `gradualRolloutUserId`: a `percentage` of users, hashed on userId in `groupId`. */
export const gradualRolloutUserIdStrategy: StrategyCompiler = {
  name: 'gradualRolloutUserId',
  compile: ({ parameters, flagName }) =>
    fieldRollout('userId', groupIdOf(parameters, flagName), percentage(parameters.percentage)),
};
