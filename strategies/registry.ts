/**
 * The strategy registry: built-ins plus user-defined strategies, by name. A user strategy
 * may replace a built-in of the same name (the registry warns when it does).
 */
import { CompiledStrategy, CustomStrategyCall, StrategyKind, type StrategyCompiler } from '../lib/engine/compiled-strategy';
import { applicationHostnameStrategy } from './application-hostname';
import { defaultStrategy } from './default';
import { flexibleRolloutStrategy } from './flexible-rollout';
import { gradualRolloutRandomStrategy } from './gradual-rollout-random';
import { gradualRolloutSessionIdStrategy } from './gradual-rollout-session-id';
import { gradualRolloutUserIdStrategy } from './gradual-rollout-user-id';
import { remoteAddressStrategy } from './remote-address';
import { Strategy } from './strategy';
import { userWithIdStrategy } from './user-with-id';

/** The strategies Unleash defines, compiled by the engine itself. */
export const builtinStrategies: readonly StrategyCompiler[] = [
  defaultStrategy,
  userWithIdStrategy,
  gradualRolloutUserIdStrategy,
  gradualRolloutSessionIdStrategy,
  gradualRolloutRandomStrategy,
  flexibleRolloutStrategy,
  remoteAddressStrategy,
  applicationHostnameStrategy,
];

/** Compiles a user's `Strategy` into a `CUSTOM` strategy calling it with a frozen copy of the parameters. */
function customCompiler(strategy: Strategy): StrategyCompiler {
  return {
    name: strategy.name,
    compile: ({ parameters }) => new CompiledStrategy(StrategyKind.CUSTOM, 0, '', new CustomStrategyCall(strategy, Object.freeze({ ...parameters }))),
  };
}

/** Every strategy the engine can compile, by name. */
export class StrategyRegistry {
  private readonly byName = new Map<string, StrategyCompiler>();
  private readonly custom = new Set<string>();

  /** Throws `TypeError` for something that is not a strategy (a config error, caught at start-up). */
  constructor(custom: readonly Strategy[] = [], warn: (key: string, message: string) => void = () => {}) {
    for (const s of builtinStrategies) this.byName.set(s.name, s);
    for (const s of custom) {
      if (!(s instanceof Strategy) && typeof (s as Partial<Strategy>)?.isEnabled !== 'function') {
        throw new TypeError('customStrategies must hold Strategy instances (objects with a name and isEnabled)');
      }
      if (typeof s.name !== 'string' || s.name === '') {
        throw new TypeError('a custom strategy needs a non-empty name');
      }
      if (this.byName.has(s.name)) warn(`custom-strategy-replaces:${s.name}`, `custom strategy "${s.name}" replaces the built-in one`);
      this.byName.set(s.name, customCompiler(s));
      this.custom.add(s.name);
    }
  }

  /** The compiler for `name`, or `undefined` for a strategy nobody registered. */
  get(name: string): StrategyCompiler | undefined {
    return this.byName.get(name);
  }

  /** Whether `name` is a user's strategy (it may read any context field). */
  isCustom(name: string): boolean {
    return this.custom.has(name);
  }

  /** Every registered name, for the client's registration body. */
  names(): string[] {
    return [...this.byName.keys()];
  }
}
