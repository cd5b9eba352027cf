/**
 * Public and wire types. Wire types describe the JSON the Unleash client API sends
 * (`GET /api/client/features`), after validation by `parseFeaturesPayload`.
 */

/** The context a flag is evaluated against. Every field is optional. */
export interface Context {
  userId?: string;
  sessionId?: string;
  remoteAddress?: string;
  environment?: string;
  appName?: string;
  /** The moment DATE_* constraints compare with; defaults to now. */
  currentTime?: Date | string;
  /** Any further fields, looked up after the top-level ones. */
  properties?: Record<string, string | number | boolean | undefined | null>;
  /** Unknown top-level fields are allowed and looked up like properties. */
  [field: string]: unknown;
}

/** A variant payload as sent by Unleash. */
export interface VariantPayload {
  type: string;
  value: string;
}

/** The result of `getVariant`. Frozen: never mutate it. */
export interface Variant {
  name: string;
  enabled: boolean;
  /** Whether the flag itself was enabled (true even when no variant applies). */
  feature_enabled: boolean;
  payload?: VariantPayload;
}

export type Operator =
  | 'IN'
  | 'NOT_IN'
  | 'STR_CONTAINS'
  | 'STR_STARTS_WITH'
  | 'STR_ENDS_WITH'
  | 'NUM_EQ'
  | 'NUM_GT'
  | 'NUM_GTE'
  | 'NUM_LT'
  | 'NUM_LTE'
  | 'DATE_AFTER'
  | 'DATE_BEFORE'
  | 'SEMVER_EQ'
  | 'SEMVER_GT'
  | 'SEMVER_LT'
  | 'SEMVER_GTE'
  | 'SEMVER_LTE'
  | 'REGEX'
  | 'IN_CIDR';

/** A constraint as sent on the wire. `operator` is kept as a string: unknown ones are false. */
export interface ConstraintDefinition {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

export interface VariantOverride {
  contextName: string;
  values: string[];
}

export interface VariantDefinition {
  name: string;
  weight: number;
  weightType?: string;
  stickiness?: string;
  payload?: VariantPayload;
  overrides?: VariantOverride[];
}

export interface StrategyDefinition {
  name: string;
  parameters: Record<string, string>;
  constraints: ConstraintDefinition[];
  segments: number[];
  variants: VariantDefinition[];
}

export interface Dependency {
  feature: string;
  /** Defaults to true: the parent must be enabled. `false` requires it to be off. */
  enabled?: boolean;
  /** When set, the parent's variant must be one of these. */
  variants?: string[];
}

export interface FeatureDefinition {
  name: string;
  enabled: boolean;
  strategies: StrategyDefinition[];
  variants: VariantDefinition[];
  dependencies: Dependency[];
  impressionData: boolean;
  type?: string;
  project?: string;
  stale?: boolean;
  description?: string | null;
}

export interface SegmentDefinition {
  id: number;
  name?: string;
  constraints: ConstraintDefinition[];
}

/** A full client-API body, validated. */
export interface FeaturesPayload {
  version: number;
  features: FeatureDefinition[];
  segments: SegmentDefinition[];
  query?: unknown;
  meta?: unknown;
}

export type DeltaEvent =
  | { type: 'hydration'; eventId: number; features: FeatureDefinition[]; segments: SegmentDefinition[] }
  | { type: 'feature-updated'; eventId: number; feature: FeatureDefinition }
  | { type: 'feature-removed'; eventId: number; featureName: string; project?: string }
  | { type: 'segment-updated'; eventId: number; segment: SegmentDefinition }
  | { type: 'segment-removed'; eventId: number; segmentId: number };

/** A delta body: events applied in order to the current state. */
export interface DeltaPayload {
  events: DeltaEvent[];
}

export type ClientPayload =
  | ({ kind: 'full' } & FeaturesPayload)
  | ({ kind: 'delta' } & DeltaPayload);
