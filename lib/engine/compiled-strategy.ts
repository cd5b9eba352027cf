/**
 * The compiled form of a strategy, and the one function that decides it.
 *
 * A `CompiledStrategy` is plain data (a kind code and its operands) read by
 * `strategyDecides`, rather than a closure per strategy: a flag set holds thousands of
 * strategies, closures cost several times the memory of a small object, and one
 * monomorphic `switch` is cheaper to call than a megamorphic closure. Built-in strategies
 * compile their parameters into one (see `StrategyCompiler`); a user's `Strategy` becomes
 * the `CUSTOM` kind, which calls it.
 */
import type { Strategy } from '../../strategies/strategy';
import type { CompiledConstraint, EvalEnv } from './constraints';
import { addressOf, readField, readTopField } from './context';
import { hashAfter, hashPrefix } from './hash';
import { IdList } from './id-list';
import type { AddressSet } from './ip';
import type { EvaluationTrace } from './trace';
import type { Context } from '../types';
import type { VariantSelector } from './variants';

/** Strategy kinds: what `strategyDecides` does with a compiled strategy. */
export const StrategyKind = {
  /** Off. */
  NEVER: 0,
  /** On (constraints and segments still apply). */
  ALWAYS: 1,
  /** On when `context.userId` is in the IdList `data`. */
  USER_IDS: 2,
  /** Hash of userId, else sessionId, else a random bucket, against `threshold`. */
  DEFAULT_ROLLOUT: 3,
  /** Hash of context field `field` against `threshold`; off without the field. */
  FIELD_ROLLOUT: 4,
  /** A random bucket against `threshold`. */
  RANDOM_ROLLOUT: 5,
  /** `context.remoteAddress` is an address, or in a range, of the AddressSet `data`. */
  REMOTE_ADDRESS: 6,
  /** A user's `Strategy`: `data` is a `CustomStrategyCall`. */
  CUSTOM: 7,
} as const;

/** A user's strategy with the parameters it is called with. */
export class CustomStrategyCall {
  constructor(
    readonly strategy: Strategy,
    /** A frozen copy: a strategy that mutates its parameters cannot corrupt the flags. */
    readonly parameters: Readonly<Record<string, string>>,
  ) {}
}

/**
 * A compiled strategy. `constraints`, `variants` and `next` are set by the engine. Hashing
 * rollouts embed their `"<groupId>:"` prefix, hashed ahead (see `HashPrefix`), as three
 * numbers rather than an object: one object per strategy, whatever its kind.
 */
export class CompiledStrategy {
  /** Constraints (the strategy's own, then its segments'), ANDed before its own decision; null: none. */
  constraints: readonly CompiledConstraint[] | null = null;
  /** The strategy's own variants; undefined: none. */
  variants: VariantSelector | undefined = undefined;
  /** The flag's next strategy. */
  next: CompiledStrategy | null = null;
  /** Hashing rollouts: the murmur state after `"<groupId>:"` (see `HashPrefix`). */
  readonly h: number = 0;
  readonly carry: number = 0;
  readonly tail: number = 0;

  constructor(
    /** One of `StrategyKind`. */
    readonly kind: number,
    /** The rollout percentage, for rollout kinds. */
    readonly threshold: number = 0,
    /** FIELD_ROLLOUT: the context field hashed. */
    readonly field: string = '',
    /** USER_IDS: an IdList; REMOTE_ADDRESS: an AddressSet; CUSTOM: the call. */
    readonly data: IdList | AddressSet | CustomStrategyCall | null = null,
    /** Hashing rollouts: the group their bucket is hashed in. */
    groupId?: string,
  ) {
    if (groupId !== undefined) {
      const prefix = hashPrefix(groupId);
      this.h = prefix.h;
      this.carry = prefix.carry;
      this.tail = prefix.tail;
    }
  }
}

/** What a strategy is compiled with. */
export interface CompileInput {
  /** The strategy's parameters, as sent. */
  parameters: Record<string, string>;
  /** The flag the strategy belongs to (the default groupId). */
  flagName: string;
  /** The injected clock, randomness, host name and warning sink. */
  env: EvalEnv;
}

/** Compiles one kind of strategy (by `name`) from its parameters. Built-ins are these. */
export interface StrategyCompiler {
  /** The strategy name flags refer to. */
  readonly name: string;
  /** May throw; the engine then reports the strategy and keeps it off. */
  compile(input: CompileInput): CompiledStrategy;
}

/** The 1–100 bucket of `value` in a hashing rollout's group. */
function bucketOf(s: CompiledStrategy, value: string): number {
  return ((hashAfter(s.h, s.carry, s.tail, value) >>> 0) % 100) + 1;
}

/** A 1–100 bucket from the injected random source. */
function randomBucket(env: EvalEnv): number {
  return Math.floor(env.random() * 100) + 1;
}

/** Calls a user's strategy: anything but `true` is false, and a throw is reported once per strategy. */
function customDecides(call: CustomStrategyCall, context: Context, env: EvalEnv, trace: EvaluationTrace | null): boolean {
  const name = call.strategy.name;
  let answer: unknown;
  try {
    answer = call.strategy.isEnabled(call.parameters, context);
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    // Keyed on the strategy, not the message: a message naming the user is not a new problem.
    env.warn(`custom-strategy-threw:${name}`, `custom strategy "${name}" threw (${why.slice(0, 120)}); it counts as false (reported once per strategy)`);
    if (trace !== null) trace.error = `threw ${why.slice(0, 200)}`;
    return false;
  }
  if (answer === true || answer === false) return answer;
  const thenable = typeof answer === 'object' && answer !== null && typeof (answer as { then?: unknown }).then === 'function';
  if (thenable) {
    // Observed, so that a rejection never reaches the process as an unhandled rejection.
    try {
      (answer as PromiseLike<unknown>).then(undefined, () => undefined);
    } catch {
      // A thenable whose then() throws: nothing left to observe.
    }
  }
  const what = thenable ? 'a Promise (isEnabled must answer synchronously)' : `${answer === null ? 'null' : typeof answer}, not a boolean`;
  env.warn(`custom-strategy-answer:${name}`, `custom strategy "${name}" returned ${what}; it counts as false (reported once per strategy)`);
  if (trace !== null) trace.error = `returned ${what}`;
  return false;
}

/**
 * The strategy's own decision (constraints aside). With a trace, records where a rollout
 * put the context and why a custom strategy failed. May throw on a hostile context
 * (callers guard).
 */
export function strategyDecides(s: CompiledStrategy, context: Context, env: EvalEnv, trace: EvaluationTrace | null): boolean {
  switch (s.kind) {
    case StrategyKind.ALWAYS:
      return true;
    case StrategyKind.USER_IDS: {
      const id = readTopField(context, 'userId');
      return id !== undefined && (s.data as IdList).has(id);
    }
    case StrategyKind.DEFAULT_ROLLOUT: {
      const threshold = s.threshold;
      const userId = readTopField(context, 'userId');
      const value = userId !== undefined ? userId : readTopField(context, 'sessionId');
      const bucket = value !== undefined ? bucketOf(s, value) : randomBucket(env);
      if (trace !== null) {
        const used = value === undefined ? 'default→random' : value === userId ? 'default→userId' : 'default→sessionId';
        trace.rollout = value === undefined ? { stickiness: used, bucket, threshold } : { stickiness: used, value, bucket, threshold };
      }
      return bucket <= threshold;
    }
    case StrategyKind.FIELD_ROLLOUT: {
      const threshold = s.threshold;
      const value = readField(context, s.field, env.defaults);
      if (value === undefined) {
        if (trace !== null) trace.rollout = { stickiness: s.field, threshold };
        return false;
      }
      const bucket = bucketOf(s, value);
      if (trace !== null) trace.rollout = { stickiness: s.field, value, bucket, threshold };
      return bucket <= threshold;
    }
    case StrategyKind.RANDOM_ROLLOUT: {
      const bucket = randomBucket(env);
      if (trace !== null) trace.rollout = { stickiness: 'random', bucket, threshold: s.threshold };
      return bucket <= s.threshold;
    }
    case StrategyKind.REMOTE_ADDRESS: {
      const ip = readTopField(context, 'remoteAddress');
      if (ip === undefined) return false;
      const address = addressOf(ip);
      return address !== undefined && (s.data as AddressSet).has(address);
    }
    case StrategyKind.CUSTOM:
      return customDecides(s.data as CustomStrategyCall, context, env, trace);
    default:
      return false;
  }
}
