/**
 * switchyard — an Unleash-compatible feature-flag client with local evaluation.
 *
 * @packageDocumentation
 */
export { Engine, Snapshot } from './engine';
export type { CompiledFlag, EngineOptions } from './engine';
export { parseClientPayload, PayloadError } from './payload';
export type { ParseResult } from './payload';
export { Strategy } from '../strategies/strategy';
export { BaseCache, CacheKeys } from '../cache/base-cache';
export type { MaybePromise } from '../cache/base-cache';
export type {
  ClientPayload,
  ConstraintDefinition,
  Context,
  DeltaEvent,
  DeltaPayload,
  Dependency,
  FeatureDefinition,
  FeaturesPayload,
  Operator,
  SegmentDefinition,
  StrategyDefinition,
  Variant,
  VariantDefinition,
  VariantOverride,
  VariantPayload,
} from './types';
