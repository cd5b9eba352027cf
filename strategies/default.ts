import { Rule, RuleKind, type BuiltinStrategy } from './strategy';

/** `default`: on for everyone (constraints and segments still apply). */
export const defaultStrategy: BuiltinStrategy = {
  name: 'default',
  // A rule per strategy, not a shared one: the engine attaches that strategy's constraints.
  compile: () => new Rule(RuleKind.ALWAYS),
};
