import { percentage, Rule, RuleKind, type BuiltinStrategy } from './strategy';

/** `gradualRolloutRandom`: on for a random `percentage` of evaluations (not sticky). */
export const gradualRolloutRandomStrategy: BuiltinStrategy = {
  name: 'gradualRolloutRandom',
  compile: ({ parameters }) => new Rule(RuleKind.RANDOM_ROLLOUT, percentage(parameters.percentage)),
};
