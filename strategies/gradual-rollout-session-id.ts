import { fieldRollout } from './rollout';
import { type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { groupIdOf, percentage } from './parameters';

/** `gradualRolloutSessionId`: a `percentage` of sessions, hashed on sessionId in `groupId`. */
export const gradualRolloutSessionIdStrategy: StrategyCompiler = {
  name: 'gradualRolloutSessionId',
  compile: ({ parameters, flagName }) =>
    fieldRollout('sessionId', groupIdOf(parameters, flagName), percentage(parameters.percentage)),
};
