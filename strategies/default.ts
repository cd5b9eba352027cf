import { CompiledStrategy, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';

/** `default`: on for everyone (constraints and segments still apply). */
export const defaultStrategy: StrategyCompiler = {
  name: 'default',
  // A rule per strategy, not a shared one: the engine attaches that strategy's constraints.
  compile: () => new CompiledStrategy(StrategyKind.ALWAYS),
};
