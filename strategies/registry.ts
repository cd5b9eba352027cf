/**
 * The strategy registry: built-ins plus user-defined strategies, by name. A user strategy
 * may replace a built-in of the same name (the registry warns when it does).
 */
import { applicationHostnameStrategy } from './application-hostname';
import { defaultStrategy } from './default';
import { flexibleRolloutStrategy } from './flexible-rollout';
import { gradualRolloutRandomStrategy } from './gradual-rollout-random';
import { gradualRolloutSessionIdStrategy } from './gradual-rollout-session-id';
import { gradualRolloutUserIdStrategy } from './gradual-rollout-user-id';
import { remoteAddressStrategy } from './remote-address';
import { Rule, RuleKind, Strategy, type BuiltinStrategy, type CompileInput } from './strategy';
import { userWithIdStrategy } from './user-with-id';
import type { Context } from '../lib/types';

export const builtinStrategies: readonly BuiltinStrategy[] = [
  defaultStrategy,
  userWithIdStrategy,
  gradualRolloutUserIdStrategy,
  gradualRolloutSessionIdStrategy,
  gradualRolloutRandomStrategy,
  flexibleRolloutStrategy,
  remoteAddressStrategy,
  applicationHostnameStrategy,
];

/** Adapts a user's `Strategy` instance: any throw is false and reported, never raised. */
function fromUserStrategy(strategy: Strategy): BuiltinStrategy {
  return {
    name: strategy.name,
    compile: ({ parameters, env }: CompileInput): Rule => {
      // Users get their own copy so a strategy that mutates it cannot corrupt the snapshot.
      const params = Object.freeze({ ...parameters });
      const test = (context: Context): boolean => {
        try {
          return strategy.isEnabled(params, context) === true;
        } catch (err) {
          env.warn(`custom strategy "${strategy.name}" threw (${err instanceof Error ? err.message.slice(0, 120) : String(err).slice(0, 120)}); it counts as false`);
          return false;
        }
      };
      return new Rule(RuleKind.CUSTOM, 0, '', test);
    },
  };
}

export class StrategyRegistry {
  private readonly byName = new Map<string, BuiltinStrategy>();

  constructor(custom: readonly Strategy[] = [], warn: (message: string) => void = () => {}) {
    for (const s of builtinStrategies) this.byName.set(s.name, s);
    for (const s of custom) {
      if (!(s instanceof Strategy) && typeof (s as Partial<Strategy>)?.isEnabled !== 'function') {
        throw new TypeError('customStrategies must hold Strategy instances (objects with a name and isEnabled)');
      }
      if (typeof s.name !== 'string' || s.name === '') {
        throw new TypeError('a custom strategy needs a non-empty name');
      }
      if (this.byName.has(s.name)) warn(`custom strategy "${s.name}" replaces the built-in one`);
      this.byName.set(s.name, fromUserStrategy(s));
    }
  }

  get(name: string): BuiltinStrategy | undefined {
    return this.byName.get(name);
  }

  /** Every registered name, for the client's registration body. */
  names(): string[] {
    return [...this.byName.keys()];
  }
}
