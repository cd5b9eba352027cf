import { CompiledStrategy, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { percentage } from './parameters';

/** `gradualRolloutRandom`: on for a random `percentage` of evaluations (not sticky). */
export const gradualRolloutRandomStrategy: StrategyCompiler = {
  name: 'gradualRolloutRandom',
  compile: ({ parameters }) => new CompiledStrategy(StrategyKind.RANDOM_ROLLOUT, percentage(parameters.percentage)),
};
