/**
 * Public and wire types. Wire types describe the JSON the Unleash client API sends
 * (`GET /api/client/features`), after validation by `parseClientPayload` (lib/payload.ts).
 */

/**
 * A context field's value. Whatever the type, it is read as its string form, as every
 * Unleash SDK does: `42` is `"42"`, `10n` is `"10"`, `true` is `"true"`, a `Date` is its
 * ISO string (`toISOString()`). `null`, `undefined`, `""` and values with no string form
 * (an invalid Date) count as absent.
 *
 * @group Client
 */
export type ContextValue = string | number | bigint | boolean | Date | null | undefined;

/**
 * The context a flag is evaluated against. Every field is optional; see `ContextValue` for
 * how values are read. Fields other than these go in `properties` (a misspelt top-level
 * field such as `user_id` does not type-check; at run time a top-level custom field is
 * still read, as the official SDKs do, before `properties`).
 *
 * @group Client
 */
export interface Context {
  /** The user; first choice of `default` stickiness, and what `userWithId` matches. */
  userId?: ContextValue;
  /** The session; `default` stickiness uses it when there is no `userId`. */
  sessionId?: ContextValue;
  /** The caller's IP address; the `remoteAddress` strategy matches it, and constraints may test it with IN_CIDR. */
  remoteAddress?: ContextValue;
  /** Defaults to the client's `environment` option. Only constraints read it: the server already picks flags by the API token's environment. */
  environment?: ContextValue;
  /** Defaults to the client's `appName` option; only constraints on `appName` read it. */
  appName?: ContextValue;
  /**
   * The moment DATE_* constraints compare with; defaults to now. A `Date`, an ISO 8601
   * string (without an offset it is UTC, whatever the host's time zone), or epoch
   * milliseconds as a number.
   */
  currentTime?: Date | string | number | null;
  /** Any further fields, looked up after the top-level ones. */
  properties?: Record<string, ContextValue>;
}

/**
 * A variant payload as sent by Unleash.
 *
 * @group Evaluation results
 */
export interface VariantPayload {
  /** How to read `value`: `string`, `json`, `csv` or `number` (others are passed through as given). */
  type: string;
  /** Always text, whatever the type: parse `json` and `number` payloads yourself. */
  value: string;
}

/**
 * The result of `getVariant`. Frozen: never mutate it.
 *
 * @group Evaluation results
 */
export interface Variant {
  /** The variant's name, or `disabled` when no variant applies. */
  name: string;
  /** True when a real variant was chosen; false for the `disabled` result. */
  enabled: boolean;
  /** Whether the flag itself was enabled (true even when no variant applies). */
  feature_enabled: boolean;
  /** Data attached to the variant in Unleash; `type` is string, json, csv or number, `value` is always text. */
  payload?: VariantPayload;
}

/**
 * The constraint operators Unleash defines. Wire data may carry others
 * (`ConstraintDefinition.operator` is a plain string); a constraint with an unknown
 * operator is always false.
 *
 * @group Flag definitions
 */
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

/**
 * A constraint as sent on the wire. `operator` is kept as a string: unknown ones are false.
 *
 * @group Flag definitions
 */
export interface ConstraintDefinition {
  /** The context field to read: a top-level `Context` field first, then `properties`. */
  contextName: string;
  /** One of the `Operator` names; anything else makes the constraint false. */
  operator: string;
  /** The operands of list operators (IN, NOT_IN, STR_*, and IN_CIDR's ranges). */
  values?: string[];
  /** The single operand of NUM_*, DATE_*, SEMVER_* and REGEX. `null` on the wire reads as absent. */
  value?: string;
  /** Negates the operator's answer. An unknown operator or unusable value stays false either way. */
  inverted?: boolean;
  /** Compare case-insensitively; applies to STR_* and REGEX only. Default false. */
  caseInsensitive?: boolean;
  /**
   * Set by the payload parser when the constraint on the wire could not be read, saying
   * what was wrong (e.g. `has no contextName`). Such a constraint is always false.
   */
  malformed?: string;
}

/**
 * Pins a variant for chosen context values: when the field's value is listed, the variant
 * is picked without hashing. Overrides are checked before the weighted draw.
 *
 * @group Flag definitions
 */
export interface VariantOverride {
  /** The context field to read, looked up like a constraint's. */
  contextName: string;
  /** Values that select the variant (exact, case-sensitive match). */
  values: string[];
}

/**
 * A variant as configured in Unleash, on a flag or on a strategy.
 *
 * @group Flag definitions
 */
export interface VariantDefinition {
  /** The name `getVariant` returns when this variant is picked. */
  name: string;
  /**
   * Share of traffic relative to the list's total (Unleash totals 1000). Weight 0 is never
   * picked by the draw; a non-numeric or negative weight reads as 0.
   */
  weight: number;
  /** `variable` or `fix` on the wire: how the server split weights; the client only uses `weight`. */
  weightType?: string;
  /**
   * Which context field the draw hashes, read from the list's first variant: `default`
   * (userId, then sessionId, ...), `random`, or a field name. A missing field means random.
   */
  stickiness?: string;
  /** Data attached to the variant in Unleash, returned with it. */
  payload?: VariantPayload;
  /** Context values that pin this variant, checked before the weighted draw. */
  overrides?: VariantOverride[];
}

/**
 * One activation strategy of a flag. A flag is on when any of its strategies says yes.
 *
 * @group Flag definitions
 */
export interface StrategyDefinition {
  /** The strategy name (`default`, `flexibleRollout`, ... or a custom one). Unknown names are always off. */
  name: string;
  /** Strategy-specific settings, always strings on the wire (e.g. `rollout: "50"`). */
  parameters: Record<string, string>;
  /** All must hold (ANDed) before the strategy itself is asked. */
  constraints: ConstraintDefinition[];
  /** Ids of segments whose constraints must also hold; a missing segment makes the strategy false. */
  segments: number[];
  /** Strategy variants: when this is the first matching strategy, they replace the flag's variants. */
  variants: VariantDefinition[];
}

/**
 * A flag this flag depends on. Dependencies are one level deep.
 *
 * @group Flag definitions
 */
export interface Dependency {
  /** The parent flag's name. A parent missing from the flags makes the child false. */
  feature: string;
  /** Defaults to true: the parent must be enabled. `false` requires it to be off. */
  enabled?: boolean;
  /** When set, the parent's variant must be one of these. */
  variants?: string[];
}

/**
 * A feature flag as the client API sends it, for the token's environment.
 *
 * @group Flag definitions
 */
export interface FeatureDefinition {
  /** The flag's name, unique in a payload (the last one wins). */
  name: string;
  /** The environment-level switch; when false, no strategy is consulted. */
  enabled: boolean;
  /** ORed activation strategies; an empty list means on for everyone. */
  strategies: StrategyDefinition[];
  /** Feature variants, used when the matching strategy has none of its own. */
  variants: VariantDefinition[];
  /** Parent flags that must hold for this flag to be on; all are required. */
  dependencies: Dependency[];
  /** When true, every evaluation emits an `impression` event. */
  impressionData: boolean;
  /** Informational (`release`, `experiment`, `kill-switch`, ...); not used in evaluation. */
  type?: string;
  /** The Unleash project the flag belongs to; informational. */
  project?: string;
  /** Marked stale in Unleash; informational. */
  stale?: boolean;
  /** Free text from Unleash; informational. */
  description?: string | null;
}

/**
 * A reusable set of constraints that strategies refer to by id.
 *
 * @group Flag definitions
 */
export interface SegmentDefinition {
  /** The id strategies list in `segments`. */
  id: number;
  /** The name shown in Unleash; informational. */
  name?: string;
  /** ANDed, together with the referring strategy's own constraints. */
  constraints: ConstraintDefinition[];
}

/**
 * A full client-API body, validated.
 *
 * @group Flag definitions
 */
export interface FeaturesPayload {
  /** The body format version: 1 or 2 (1 when absent; newer ones are read as 2). */
  version: number;
  /** Every flag the token can see. */
  features: FeatureDefinition[];
  /** Top-level segments (sent when `Unleash-Client-Spec` is 4.2.0 or higher); empty when absent. */
  segments: SegmentDefinition[];
  /** The server's echo of the filters used (project, name prefix, tags); kept, not used. */
  query?: unknown;
  /** Server metadata (e.g. revision id); kept, not used. */
  meta?: unknown;
}

/**
 * One change in a delta body. Events apply in order: `hydration` replaces the whole
 * state, the others add, replace or remove one flag or segment.
 *
 * @group Flag definitions
 */
export type DeltaEvent =
  | {
      /** Replaces all flags and segments. */
      type: 'hydration';
      /** The server's event sequence number (0 when absent); not used for ordering. */
      eventId: number;
      /** The complete set of flags. */
      features: FeatureDefinition[];
      /** The complete set of segments. */
      segments: SegmentDefinition[]
    }
  | {
      /** Adds or replaces one flag, by name. */
      type: 'feature-updated';
      /** The server's event sequence number (0 when absent); not used for ordering. */
      eventId: number;
      /** The flag's new definition. */
      feature: FeatureDefinition
    }
  | {
      /** Removes one flag. */
      type: 'feature-removed';
      /** The server's event sequence number (0 when absent); not used for ordering. */
      eventId: number;
      /** The flag to remove. */
      featureName: string;
      /** The flag's project; informational. */
      project?: string
    }
  | {
      /** Adds or replaces one segment, by id. */
      type: 'segment-updated';
      /** The server's event sequence number (0 when absent); not used for ordering. */
      eventId: number;
      /** The segment's new definition. */
      segment: SegmentDefinition
    }
  | {
      /** Removes one segment; strategies that still refer to it become false. */
      type: 'segment-removed';
      /** The server's event sequence number (0 when absent); not used for ordering. */
      eventId: number;
      /** The segment to remove. */
      segmentId: number
    };

/**
 * A delta body: events applied in order to the current state.
 *
 * @group Flag definitions
 */
export interface DeltaPayload {
  /** The changes, in the order the server sent them. Unknown event types are dropped with a warning. */
  events: DeltaEvent[];
}

/**
 * A validated client-API body, tagged with which kind it was.
 *
 * @group Flag definitions
 */
export type ClientPayload =
  | ({
      /** A full body: replaces the current flags. */
      kind: 'full'
    } & FeaturesPayload)
  | ({
      /** A delta body: applied to the current flags. */
      kind: 'delta'
    } & DeltaPayload);
