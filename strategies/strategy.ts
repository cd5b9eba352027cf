/**
 * The contract for user-defined strategies. The engine's compiled form of strategies
 * lives in `lib/engine/compiled-strategy.ts`; this file is all a plug-in author needs.
 */
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
 *     return (parameters.teams ?? '').split(',').includes(String(context.properties?.team));
 *   }
 * }
 * ```
 *
 * @group Strategies
 */
export abstract class Strategy {
  /** @param name the strategy name flags refer to in Unleash. */
  constructor(readonly name: string) {}

  /**
   * Decides for one context, synchronously. Only `true` turns the strategy on: `false`,
   * any other value, a returned Promise and a thrown error count as false. A throw or a
   * non-boolean answer is reported once per strategy (a `warn` event), never raised to
   * the caller of `isEnabled`, and shows in `evaluate`'s reason as `STRATEGY_ERROR`.
   *
   * @param parameters the strategy's parameters from Unleash, as strings (a frozen copy).
   * @param context the evaluation context, with `appName` and `environment` filled in.
   */
  abstract isEnabled(parameters: Readonly<Record<string, string>>, context: Context): boolean;
}
