/**
 * The evaluation engine: compiles a client-API payload into an immutable `Snapshot` and
 * evaluates flags against it. Pure: no HTTP, timers, file system or `node:os`; the clock,
 * randomness, host name and warning sink are injected.
 *
 * Each compiled flag keeps its strategies with their compiled constraints and rollout
 * details, so an explanation can walk the same structure the fast path uses without the
 * fast path paying for it.
 */
import { allOf, compileConstraint, type CompiledConstraint, type EvalEnv, type Predicate } from './constraints';
import type { ClientPayload, Context, FeatureDefinition, FeaturesPayload, SegmentDefinition, StrategyDefinition, Variant } from './types';
import { compileVariants, DISABLED_VARIANT, DISABLED_VARIANT_FEATURE_ON, type VariantSelector } from './variants';
import type { CompiledLogic, Strategy } from '../strategies/strategy';
import { StrategyRegistry } from '../strategies/registry';
import { groupIdOf } from '../strategies/strategy';

/** Options the client (or a test) gives the engine. */
export interface EngineOptions {
  /** User-defined strategies, by their `name`. */
  strategies?: readonly Strategy[];
  /** The host name `applicationHostname` compares with. */
  hostname?: string;
  /** Milliseconds since the epoch; the default `currentTime` of DATE_* constraints. */
  now?: () => number;
  /** A number in [0, 1), for random rollouts and random variant stickiness. */
  random?: () => number;
  /** Receives each distinct warning once (unknown strategy, missing segment, bad regex…). */
  onWarning?: (message: string) => void;
}

/** A flag compiled for evaluation. */
export interface CompiledFlag {
  readonly name: string;
  readonly impressionData: boolean;
  /** Whether the flag is on for `context`. Never throws. */
  isEnabled(context: Context): boolean;
  /** The variant for `context`. Never throws. The result is frozen and shared. */
  getVariant(context: Context): Variant;
}

/** One strategy of a compiled flag. */
export interface CompiledStrategy {
  readonly index: number;
  readonly name: string;
  readonly definition: StrategyDefinition;
  /** The strategy's own constraints, then those of its segments (tagged with `segmentId`). */
  readonly constraints: readonly CompiledConstraint[];
  /** Segment ids the strategy references that the payload does not define. */
  readonly missingSegments: readonly number[];
  /** False when no strategy of that name is registered. */
  readonly known: boolean;
  readonly logic: CompiledLogic;
  readonly variants: VariantSelector | undefined;
  /** Constraints, segments and the strategy's own decision, fused. */
  readonly matches: Predicate;
}

export interface CompiledDependency {
  readonly feature: string;
  readonly enabled: boolean;
  readonly variants: ReadonlySet<string> | undefined;
}

const never: Predicate = () => false;

/** A compiled flag. Internal: the public view is `CompiledFlag`. */
export class FlagImpl implements CompiledFlag {
  readonly name: string;
  readonly enabled: boolean;
  readonly impressionData: boolean;
  readonly strategies: readonly CompiledStrategy[];
  readonly variants: VariantSelector | undefined;
  readonly dependencies: readonly CompiledDependency[];
  /** Parents, linked once the whole snapshot is compiled (undefined: missing parent). */
  parents: (FlagImpl | undefined)[] = [];

  constructor(
    readonly definition: FeatureDefinition,
    strategies: CompiledStrategy[],
    variants: VariantSelector | undefined,
    dependencies: CompiledDependency[],
    private readonly warn: (message: string) => void,
  ) {
    this.name = definition.name;
    this.enabled = definition.enabled;
    this.impressionData = definition.impressionData;
    this.strategies = strategies;
    this.variants = variants;
    this.dependencies = dependencies;
  }

  /**
   * The index of the strategy that turned the flag on, the strategy count when it has none
   * (a flag without strategies is on), or -1 when it is off.
   */
  matchIndex(context: Context): number {
    if (!this.enabled) return -1;
    if (this.dependencies.length > 0 && !this.dependenciesHold(context)) return -1;
    const s = this.strategies;
    const n = s.length;
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) if (s[i]!.matches(context)) return i;
    return -1;
  }

  /** Whether every dependency holds. Parents are evaluated silently (no metrics, no impressions). */
  dependenciesHold(context: Context): boolean {
    for (let i = 0; i < this.dependencies.length; i++) {
      if (this.dependencyFailure(i, context) !== undefined) return false;
    }
    return true;
  }

  /** Why dependency `i` fails, or `undefined` when it holds. */
  dependencyFailure(i: number, context: Context): string | undefined {
    const dep = this.dependencies[i]!;
    const parent = this.parents[i];
    if (parent === undefined) return 'parent flag not found';
    // Dependencies are one level deep: a parent that itself depends on a flag is not allowed.
    if (parent.dependencies.length > 0) return 'parent has dependencies of its own';
    if (!dep.enabled) return parent.matchIndex(context) >= 0 ? 'parent is enabled' : undefined;
    if (dep.variants !== undefined) {
      const variant = parent.selectVariant(context);
      if (!variant.feature_enabled) return 'parent is disabled';
      return dep.variants.has(variant.name) ? undefined : `parent variant "${variant.name}" is not one of the required variants`;
    }
    return parent.matchIndex(context) >= 0 ? undefined : 'parent is disabled';
  }

  isEnabled(context: Context): boolean {
    try {
      return this.matchIndex(context) >= 0;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  getVariant(context: Context): Variant {
    try {
      return this.selectVariant(context);
    } catch (err) {
      this.failed(err);
      return DISABLED_VARIANT;
    }
  }

  private failed(err: unknown): void {
    this.warn(`evaluating flag "${this.name}" failed (${err instanceof Error ? err.message.slice(0, 120) : 'unknown error'}); answering off`);
  }

  /** The variant for `context`; may throw on a hostile context (callers guard). */
  selectVariant(context: Context): Variant {
    const i = this.matchIndex(context);
    if (i < 0) return DISABLED_VARIANT;
    const strategy = this.strategies[i];
    if (strategy !== undefined && strategy.variants !== undefined) return strategy.variants.select(context);
    return this.variants === undefined ? DISABLED_VARIANT_FEATURE_ON : this.variants.select(context);
  }
}

/** An immutable, compiled set of flags. */
export class Snapshot {
  /** The number of flags. */
  readonly size: number;

  /** @internal use `Engine.load` */
  constructor(
    private readonly flags: ReadonlyMap<string, FlagImpl>,
    private readonly segments: ReadonlyMap<number, SegmentDefinition>,
    /** The payload version this state came from. */
    readonly version: number,
  ) {
    this.size = flags.size;
  }

  /** The compiled flag, or `undefined` when the payload has no flag of that name. */
  get(name: string): CompiledFlag | undefined {
    return this.flags.get(name);
  }

  /** @internal the implementation, for explanations. */
  getImpl(name: string): FlagImpl | undefined {
    return this.flags.get(name);
  }

  /** Flag names, in payload order. */
  names(): string[] {
    return [...this.flags.keys()];
  }

  /** The whole state as a full client-API body, e.g. to write to a cache. */
  toPayload(): FeaturesPayload {
    return {
      version: this.version,
      features: [...this.flags.values()].map((f) => f.definition),
      segments: [...this.segments.values()],
    };
  }

  /** @internal raw state, for applying deltas. */
  rawFeatures(): Map<string, FeatureDefinition> {
    const out = new Map<string, FeatureDefinition>();
    for (const [name, f] of this.flags) out.set(name, f.definition);
    return out;
  }

  /** @internal raw segments, for applying deltas. */
  rawSegments(): Map<number, SegmentDefinition> {
    return new Map(this.segments);
  }
}

/** Wraps a warning sink so each distinct message is reported once. */
function warnOnce(sink: ((message: string) => void) | undefined): (message: string) => void {
  const seen = new Set<string>();
  return (message) => {
    if (seen.has(message)) return;
    if (seen.size >= 1000) seen.clear();
    seen.add(message);
    if (sink === undefined) return;
    try {
      sink(message);
    } catch {
      // A broken warning sink must not break compilation or evaluation.
    }
  };
}

/** Compiles flags and holds the current snapshot. */
export class Engine {
  private current: Snapshot;
  private readonly env: EvalEnv;
  private readonly registry: StrategyRegistry;

  constructor(options: EngineOptions = {}) {
    const warn = warnOnce(options.onWarning);
    this.env = {
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      hostname: options.hostname ?? '',
      warn,
    };
    this.registry = new StrategyRegistry(options.strategies ?? [], warn);
    this.current = new Snapshot(new Map(), new Map(), 2);
  }

  /** The current snapshot (empty until a payload is loaded). */
  get snapshot(): Snapshot {
    return this.current;
  }

  /** Every strategy name the engine knows, built-in and custom. */
  registeredStrategyNames(): string[] {
    return this.registry.names();
  }

  /**
   * Compiles `payload` and makes it current. A full body replaces the state; a delta body
   * applies its events, in order, to the current state.
   */
  load(payload: ClientPayload): Snapshot {
    if (payload.kind === 'full') {
      this.current = this.compile(payload.features, payload.segments, payload.version);
      return this.current;
    }
    const features = this.current.rawFeatures();
    const segments = this.current.rawSegments();
    for (const event of payload.events) {
      switch (event.type) {
        case 'hydration':
          features.clear();
          segments.clear();
          for (const f of event.features) features.set(f.name, f);
          for (const s of event.segments) segments.set(s.id, s);
          break;
        case 'feature-updated':
          features.set(event.feature.name, event.feature);
          break;
        case 'feature-removed':
          features.delete(event.featureName);
          break;
        case 'segment-updated':
          segments.set(event.segment.id, event.segment);
          break;
        case 'segment-removed':
          segments.delete(event.segmentId);
          break;
      }
    }
    this.current = this.compile([...features.values()], [...segments.values()], this.current.version);
    return this.current;
  }

  private compile(features: readonly FeatureDefinition[], segmentDefs: readonly SegmentDefinition[], version: number): Snapshot {
    const segments = new Map<number, SegmentDefinition>();
    for (const s of segmentDefs) segments.set(s.id, s);
    // Segment constraints are compiled once and shared by every strategy that uses them.
    const segmentConstraints = new Map<number, CompiledConstraint[]>();
    for (const s of segments.values()) {
      segmentConstraints.set(s.id, s.constraints.map((c) => compileConstraint(c, this.env, s.id)));
    }
    const flags = new Map<string, FlagImpl>();
    for (const feature of features) {
      flags.set(feature.name, this.compileFlag(feature, segmentConstraints));
    }
    for (const flag of flags.values()) {
      flag.parents = flag.dependencies.map((d) => flags.get(d.feature));
      flag.parents.forEach((p, i) => {
        if (p === undefined) this.env.warn(`flag "${flag.name}" depends on "${flag.dependencies[i]!.feature}", which is not in the payload; it is off`);
      });
    }
    return new Snapshot(flags, segments, version);
  }

  private compileFlag(feature: FeatureDefinition, segmentConstraints: ReadonlyMap<number, CompiledConstraint[]>): FlagImpl {
    const strategies = feature.strategies.map((s, index) => this.compileStrategy(feature.name, s, index, segmentConstraints));
    const variants = compileVariants(feature.variants, feature.name, feature.variants[0]?.stickiness, this.env);
    const dependencies: CompiledDependency[] = feature.dependencies.map((d) => ({
      feature: d.feature,
      enabled: d.enabled !== false,
      variants: d.variants !== undefined && d.variants.length > 0 ? new Set(d.variants) : undefined,
    }));
    return new FlagImpl(feature, strategies, variants, dependencies, this.env.warn);
  }

  private compileStrategy(
    flagName: string,
    def: StrategyDefinition,
    index: number,
    segmentConstraints: ReadonlyMap<number, CompiledConstraint[]>,
  ): CompiledStrategy {
    const constraints: CompiledConstraint[] = def.constraints.map((c) => compileConstraint(c, this.env));
    const missingSegments: number[] = [];
    for (const id of def.segments) {
      const compiled = segmentConstraints.get(id);
      if (compiled === undefined) missingSegments.push(id);
      else constraints.push(...compiled);
    }
    if (missingSegments.length > 0) {
      this.env.warn(`flag "${flagName}" uses segment ${missingSegments.join(', ')}, which is not in the payload; that strategy is off`);
    }
    const builtin = this.registry.get(def.name);
    if (builtin === undefined) {
      this.env.warn(`unknown strategy "${def.name.slice(0, 60)}"; strategies using it are off`);
    }
    let logic: CompiledLogic;
    try {
      logic = builtin === undefined ? { test: never } : builtin.compile({ parameters: def.parameters, flagName, env: this.env });
    } catch (err) {
      this.env.warn(`strategy "${def.name}" of flag "${flagName}" could not be compiled (${(err as Error).message.slice(0, 80)}); it is off`);
      logic = { test: never };
    }
    const variants = compileVariants(
      def.variants,
      groupIdOf(def.parameters, flagName),
      def.variants[0]?.stickiness ?? def.parameters.stickiness,
      this.env,
    );
    const guard = allOf(constraints);
    const test = logic.test;
    let matches: Predicate;
    if (missingSegments.length > 0 || builtin === undefined) matches = never;
    else if (guard === undefined) matches = test;
    else matches = (context) => guard(context) && test(context);
    return {
      index,
      name: def.name,
      definition: def,
      constraints,
      missingSegments,
      known: builtin !== undefined,
      logic,
      variants,
      matches,
    };
  }
}
