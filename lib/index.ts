/**
 * switchyard — an Unleash-compatible feature-flag client with local evaluation. Start with
 * `UnleashClient`; the engine alone is `switchyard-flags/engine`, the OpenFeature provider
 * `switchyard-flags/openfeature`, the Redis cache and fleet mode `switchyard-flags/redis`.
 *
 * @module switchyard-flags
 * @sortStrategy kind, alphabetical
 */
export { UnleashClient, type IsEnabledFallback, type ClientStatus, type FetchStatus, type UpdateMode } from './client';
export type { Hook, EvaluationMethod, EvaluationSeriesContext, EvaluationSeriesData } from './hooks';
export type { AllFlags, AllFlagsOptions, FrontendToggle } from './all-flags';
export {
  ImpactMetrics,
  DEFAULT_HISTOGRAM_BUCKETS,
  type ImpactCounter,
  type ImpactGauge,
  type ImpactHistogram,
} from './impact-metrics';
export { ConfigError, type UnleashConfig, type TagFilter, type FallbackFunction, type CustomHeaders, type FetchMode } from './options';
export type { FleetCoordinator, FleetHost, FleetRole, FleetStatus } from './fleet-link';
export {
  UnleashEvents,
  type UnleashEvent,
  type UnleashEventType,
  type UnleashEventOf,
  type ReadyEvent,
  type FetchedEvent,
  type ImpressionEvent,
  type ClientErrorEvent,
  type ClientWarningEvent,
  type ModeEvent,
  type EventCallback,
  type EventOrigin,
  type FlagOrigin,
} from './events';
export { HttpError, type HttpErrorCode } from './http';
export type { HttpOptions } from './network';
export { SwitchyardError, SwitchyardErrorCode } from './errors';
export { SDK_VERSION } from './version';
export * from '../cache/index';
export { BootstrapError, type BootstrapErrorCode, type BootstrapUrlOptions } from '../bootstrap/index';
export type { EvaluationResult, Reason, StrategyMiss, ConstraintReport } from './engine/evaluation';
export type { RolloutDetail, VariantDetail } from './engine/trace';
export { TestData, FlagBuilder, type FlagSource, type ConstraintOptions, type VariantOptions } from './test-data';
export { PayloadError } from './payload';
/**
 * For `switchyard-flags/redis`, which must mark bodies in this entry's registry, not a copy's.
 * @internal
 */
export { markValidated } from './payload';
export { Strategy } from '../strategies/strategy';
export type {
  ClientPayload,
  ConstraintDefinition,
  Context,
  ContextValue,
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
