/**
 * Strategy contracts. Users extend `Strategy`; built-ins implement `BuiltinStrategy`,
 * which compiles a strategy's parameters once per payload into a predicate.
 */
import type { EvalEnv, Predicate } from '../lib/constraints';
import type { Context } from '../lib/types';

/**
 * Base class for user-defined strategies. Register an instance through the client's
 * `customStrategies` option; the engine checks the strategy's constraints and segments
 * before calling `isEnabled`, so it only decides on its own parameters.
 *
 * ```ts
 * class TeamStrategy extends Strategy {
 *   constructor() { super('team'); }
 *   isEnabled(parameters, context) {
 *     return parameters.teams.split(',').includes(String(context.properties?.team));
 *   }
 * }
 * ```
 */
export abstract class Strategy {
  /** @param name the strategy name flags refer to in Unleash. */
  constructor(readonly name: string) {}

  /**
   * Decides for one context. A thrown error counts as false and is reported once per
   * strategy; it never reaches the caller of `isEnabled`.
   */
  abstract isEnabled(parameters: Record<string, string>, context: Context): boolean;
}

/** Where a rollout strategy put a context, for explanations. */
export interface RolloutDetail {
  /** The stickiness used (`default` resolves to userId, sessionId or random). */
  stickiness: string;
  /** The context value that was hashed; absent for random rollouts or a missing field. */
  value?: string;
  /** The 1–100 bucket, or `undefined` when the context lacked the stickiness field. */
  bucket?: number;
  /** The rollout percentage; the strategy is on when `bucket <= threshold`. */
  threshold: number;
}

/** A strategy's parameters compiled for one flag. */
export interface CompiledLogic {
  test: Predicate;
  /** For rollout strategies: the bucket computation, called by explanations only. */
  rollout?: (context: Context) => RolloutDetail;
}

/** What a strategy is compiled with. */
export interface CompileInput {
  parameters: Record<string, string>;
  flagName: string;
  env: EvalEnv;
}

/** A built-in strategy: a name and a compiler. */
export interface BuiltinStrategy {
  readonly name: string;
  compile(input: CompileInput): CompiledLogic;
}

/** Parses a percentage parameter; anything unreadable is 0 (never on). */
export function percentage(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

/** Splits a comma-separated list parameter, trimming entries and dropping empty ones. */
export function listParameter(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The group a rollout hashes in: `groupId`, else the flag name. */
export function groupIdOf(parameters: Record<string, string>, flagName: string): string {
  const groupId = parameters.groupId;
  return groupId === undefined || groupId === '' ? flagName : groupId;
}

/** A 1–100 bucket from the injected random source. */
export function randomBucket(env: EvalEnv): number {
  return Math.floor(env.random() * 100) + 1;
}
