import { fieldRollout } from './rollout';
import { groupIdOf, percentage, type BuiltinStrategy } from './strategy';

/** `gradualRolloutUserId`: a `percentage` of users, hashed on userId in `groupId`. */
export const gradualRolloutUserIdStrategy: BuiltinStrategy = {
  name: 'gradualRolloutUserId',
  compile: ({ parameters, flagName }) =>
    fieldRollout('userId', groupIdOf(parameters, flagName), percentage(parameters.percentage)),
};
