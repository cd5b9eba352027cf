/**
 * The evaluation engine on its own (`switchyard-flags/engine`): compile a client-API body into
 * a `Snapshot` and evaluate flags against it, with no client, network, cache or metrics.
 * For tools, tests and services that manage flag bodies themselves.
 *
 * ```ts
 * import { Engine, parseClientPayload } from 'switchyard-flags/engine';
 * const snapshot = new Engine().load(parseClientPayload(body).payload);
 * snapshot.get('new-checkout')?.evaluate({ userId: '42' });
 * ```
 *
 * @module switchyard-flags/engine
 * @sortStrategy kind, alphabetical
 */
export { Engine, Snapshot, type EngineOptions, type PendingLoad } from './engine';
export type { ContextDefaults } from './context';
export { CompiledFlag } from './flag';
export { evaluateIn, type EvaluationResult, type Reason, type StrategyMiss, type ConstraintReport } from './evaluation';
export type { RolloutDetail, VariantDetail } from './trace';
export { applyDelta, type FlagState } from './delta';
export { parseClientPayload, type ParseResult } from '../payload';
export { lintPayload, type LintFinding, type LintOptions, type LintReport } from '../lint';
export { Strategy } from '../../strategies/strategy';
