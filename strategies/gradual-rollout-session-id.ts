import { fieldRollout } from './rollout';
import { groupIdOf, percentage, type BuiltinStrategy } from './strategy';

/** `gradualRolloutSessionId`: a `percentage` of sessions, hashed on sessionId in `groupId`. */
export const gradualRolloutSessionIdStrategy: BuiltinStrategy = {
  name: 'gradualRolloutSessionId',
  compile: ({ parameters, flagName }) =>
    fieldRollout('sessionId', groupIdOf(parameters, flagName), percentage(parameters.percentage)),
};
