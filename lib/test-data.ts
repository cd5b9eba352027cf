/**
 * Flags for users' own tests, with no server: build flags fluently, hand the `TestData` to
 * a client as its `flagSource`, and change flags while the client runs. Each `update` reaches
 * every subscribed client at once as a new payload (the client emits `fetched`).
 *
 * ```ts
 * const td = new TestData();
 * td.update(td.flag('new-checkout').rollout(50));
 * td.update(td.flag('beta').users('alice', 'bob'));
 * const client = new UnleashClient({ appName: 'my-tests', offline: true, flagSource: td });
 * await client.start();
 * td.update(td.flag('new-checkout').off());   // the client answers false from now on
 * ```
 */
import type {
  ConstraintDefinition,
  FeatureDefinition,
  FeaturesPayload,
  Operator,
  StrategyDefinition,
  VariantDefinition,
  VariantPayload,
} from './types';

/**
 * Something that pushes whole payloads to a client: `TestData` is one.
 *
 * @group Testing
 */
export interface FlagSource {
  /** Registers a listener, called at once with the current flags and on every change. */
  subscribe(listener: (payload: FeaturesPayload) => void): () => void;
}

/**
 * Options of one constraint.
 *
 * @group Testing
 */
export interface ConstraintOptions {
  /** Negates the operator's answer. Default false. */
  inverted?: boolean;
  /** Compare case-insensitively (STR_* and REGEX only). Default false. */
  caseInsensitive?: boolean;
}

/**
 * A variant to add with `variant()`.
 *
 * @group Testing
 */
export interface VariantOptions {
  /** Share of traffic relative to the flag's other variants. Default 1; 0 is never picked. */
  weight?: number;
  /** Data returned with the variant; `value` is always text. */
  payload?: VariantPayload;
  /**
   * The context field the draw hashes (`default`, `random` or a field name). Only the
   * first variant's stickiness counts, as in Unleash. Default `default`.
   */
  stickiness?: string;
}

/**
 * A flag under construction. Methods return the builder; pass it to `TestData.update`.
 *
 * @group Testing
 */
export class FlagBuilder {
  private enabled = true;
  private strategies: StrategyDefinition[] = [];
  private variantList: VariantDefinition[] = [];
  private pendingConstraints: ConstraintDefinition[] = [];
  private impressions = false;
  private dependencyList: FeatureDefinition['dependencies'] = [];

  /** @param name the flag's name */
  constructor(readonly name: string, from?: FeatureDefinition) {
    if (from !== undefined) {
      this.enabled = from.enabled;
      this.strategies = from.strategies.map((s) => ({ ...s }));
      this.variantList = [...from.variants];
      this.impressions = from.impressionData;
      this.dependencyList = [...from.dependencies];
    }
  }

  /** On for everyone (replaces the strategies with `default`, keeping constraints added before). */
  on(): this {
    this.enabled = true;
    this.strategies = [this.strategy('default', {})];
    return this;
  }

  /** Off for everyone (the flag exists but is disabled). */
  off(): this {
    this.enabled = false;
    return this;
  }

  /** On for `percent`% of users, sticky on `stickiness` (default: userId, then sessionId, then random). */
  rollout(percent: number, options: { stickiness?: string; groupId?: string } = {}): this {
    if (!(percent >= 0 && percent <= 100)) throw new RangeError(`rollout percent must be 0–100, got ${percent}`);
    this.enabled = true;
    this.strategies = [
      this.strategy('flexibleRollout', {
        rollout: String(percent),
        stickiness: options.stickiness ?? 'default',
        groupId: options.groupId ?? this.name,
      }),
    ];
    return this;
  }

  /**
   * On for these user ids: adds a `userWithId` strategy next to rollouts and other
   * targeting, and replaces an on-for-everyone `default` (which would make it moot).
   */
  users(...userIds: string[]): this {
    this.enabled = true;
    this.strategies = this.strategies.filter((s) => s.name !== 'default');
    this.strategies.push(this.strategy('userWithId', { userIds: userIds.join(',') }));
    return this;
  }

  /**
   * Adds a constraint to the strategies that follow (`on`, `rollout`, `users`) and to the
   * ones already there.
   */
  constraint(contextName: string, operator: Operator, values: string | string[], options: ConstraintOptions = {}): this {
    const c: ConstraintDefinition = {
      contextName,
      operator,
      ...(Array.isArray(values) ? { values } : { value: values }),
      inverted: options.inverted === true,
      caseInsensitive: options.caseInsensitive === true,
    };
    this.pendingConstraints.push(c);
    for (const s of this.strategies) s.constraints = [...s.constraints, c];
    return this;
  }

  /** Adds a feature variant (weight 1 unless given: variants share traffic by weight). */
  variant(name: string, options: VariantOptions = {}): this {
    this.variantList = [
      ...this.variantList,
      {
        name,
        weight: options.weight ?? 1,
        weightType: 'variable',
        ...(options.stickiness === undefined ? {} : { stickiness: options.stickiness }),
        ...(options.payload === undefined ? {} : { payload: options.payload }),
      },
    ];
    return this;
  }

  /** Makes the flag depend on `parent` (enabled, or one of `variants`). */
  dependsOn(parent: string, options: { enabled?: boolean; variants?: string[] } = {}): this {
    this.dependencyList = [...this.dependencyList, { feature: parent, enabled: options.enabled !== false, ...(options.variants ? { variants: options.variants } : {}) }];
    return this;
  }

  /** Fires impression events for this flag. */
  impressionData(on = true): this {
    this.impressions = on;
    return this;
  }

  /** The flag as the client API would send it. */
  build(): FeatureDefinition {
    return {
      name: this.name,
      enabled: this.enabled,
      strategies: this.strategies.map((s) => ({ ...s, constraints: [...s.constraints] })),
      variants: [...this.variantList],
      dependencies: [...this.dependencyList],
      impressionData: this.impressions,
      type: 'release',
      project: 'default',
    };
  }

  private strategy(name: string, parameters: Record<string, string>): StrategyDefinition {
    return { name, parameters, constraints: [...this.pendingConstraints], segments: [], variants: [] };
  }
}

/**
 * A flag source for tests.
 *
 * @group Testing
 */
export class TestData implements FlagSource {
  private readonly flags = new Map<string, FeatureDefinition>();
  private readonly listeners = new Set<(payload: FeaturesPayload) => void>();

  /**
   * A builder for `name`: a copy of the current definition when the flag exists, else a
   * new flag that is on for everyone. Nothing changes until you pass it to `update`.
   */
  flag(name: string): FlagBuilder {
    const current = this.flags.get(name);
    return current === undefined ? new FlagBuilder(name).on() : new FlagBuilder(name, current);
  }

  /** Applies flags and pushes the new state to every subscribed client. */
  update(...builders: FlagBuilder[]): this {
    for (const b of builders) this.flags.set(b.name, b.build());
    this.publish();
    return this;
  }

  /** Removes flags; clients then answer them with their fallbacks. */
  remove(...names: string[]): this {
    for (const name of names) this.flags.delete(name);
    this.publish();
    return this;
  }

  /** The current state as a client-API body. */
  payload(): FeaturesPayload {
    return { version: 2, features: [...this.flags.values()], segments: [] };
  }

  subscribe(listener: (payload: FeaturesPayload) => void): () => void {
    this.listeners.add(listener);
    listener(this.payload());
    return () => {
      this.listeners.delete(listener);
    };
  }

  private publish(): void {
    const payload = this.payload();
    for (const listener of [...this.listeners]) listener(payload);
  }
}
