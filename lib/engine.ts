/**
 * The evaluation engine: compiles a client-API payload into an immutable `Snapshot` and
 * evaluates flags against it. Pure: no HTTP, timers, file system or `node:os`; the clock,
 * randomness, host name and warning sink are injected.
 *
 * Compiling makes two things, both kept small because a service holds them for its
 * lifetime:
 * - a compact copy of the definitions: identical strings shared (a flag's name is also
 *   its groupId, user ids recur across lists, …), empty lists shared, every object built
 *   with its final shape. It is what `toPayload()` returns and explanations read; it
 *   replaces the parser's output, which can then be collected.
 * - for the fast path, one `Rule` per strategy (plain data, see strategies/strategy.ts)
 *   with its constraints as `Cond`s (lib/constraints.ts), and a variant selector per
 *   variant list. Evaluating walks these with a few monomorphic functions and allocates
 *   nothing.
 *
 * The structures an explanation walks (`FlagImpl.strategies`, `.dependencies`) are built
 * from the same rules and conds on first use, so they can never disagree with the fast
 * path, which pays nothing for them.
 *
 * Rules, conds and variant selectors are built lazily, per flag, on the flag's first
 * evaluation or explanation (a parent on the first evaluation of a flag depending on it),
 * and segment constraints on the first compile of a flag using them: a service holds many
 * flags it never asks about, and the compact definitions are all it needs to keep for
 * those. A compiled flag pays one bit test per call, which the "flag is off" test it
 * already made covers (see `FlagImpl.matchIndex`).
 *
 * Warning timing follows from that:
 * - at load, for problems visible without compiling: an unknown strategy name, a segment
 *   the payload does not define, a dependency on a flag the payload does not have;
 * - when a flag compiles (its first evaluation or explanation), for problems only
 *   compiling finds: an invalid regex, constraint values that cannot be used (numbers,
 *   versions, dates, CIDRs), an unknown constraint operator, a strategy whose parameters
 *   make it fail to compile. A flag never evaluated never reports these; `lint` does,
 *   without a client.
 */
import { allHold, compileCond, NEVER_COND, viewOf, type CompiledConstraint, type Cond, type EvalEnv, type Predicate } from './constraints';
import type {
  ClientPayload,
  ConstraintDefinition,
  Context,
  Dependency,
  FeatureDefinition,
  FeaturesPayload,
  SegmentDefinition,
  StrategyDefinition,
  Variant,
  VariantDefinition,
  VariantOverride,
} from './types';
import { compileVariants, DISABLED_VARIANT, DISABLED_VARIANT_FEATURE_ON, type VariantSelector } from './variants';
import { StrategyRegistry } from '../strategies/registry';
import { groupIdOf, logicOf, Rule, ruleHolds, RuleKind, type CompiledLogic, type Strategy } from '../strategies/strategy';

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
  /** The flag's name, as in Unleash. */
  readonly name: string;
  /** Whether evaluations of this flag should emit impression events (set per flag in Unleash). */
  readonly impressionData: boolean;
  /** Whether the flag is on for `context`. Never throws. */
  isEnabled(context: Context): boolean;
  /** The variant for `context`. Never throws. The result is frozen and shared. */
  getVariant(context: Context): Variant;
}

/** One strategy of a compiled flag, as explanations see it. */
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

/** What every flag of one snapshot shares: one reference per flag instead of several. */
interface Shared {
  readonly env: EvalEnv;
  readonly registry: StrategyRegistry;
  readonly segments: ReadonlyMap<number, SegmentDefinition>;
  /** Compiled segment constraints, in definition order; filled on first use (`segmentConds`). */
  readonly segmentConds: Map<number, readonly Cond[]>;
}

/**
 * The compiled constraints of segment `id` (which must exist), compiled on first use and
 * then shared by every strategy that uses the segment.
 */
function segmentConds(shared: Shared, id: number): readonly Cond[] {
  let conds = shared.segmentConds.get(id);
  if (conds === undefined) {
    conds = shared.segments.get(id)!.constraints.map((c) => compileCond(c, shared.env));
    shared.segmentConds.set(id, conds);
  }
  return conds;
}

// FlagImpl.bits
const ENABLED = 1;
const IMPRESSIONS = 2;
const COMPILED = 4;

const EMPTY: readonly never[] = Object.freeze([]);
/** The guard of a strategy that can never match (it references a missing segment). */
const BLOCKED: readonly Cond[] = Object.freeze([NEVER_COND]);

/** Whether a rule and its constraints say yes. May throw on a hostile context (callers guard). */
function ruleMatches(rule: Rule, context: Context, env: EvalEnv): boolean {
  const guard = rule.guard as readonly Cond[] | null;
  return (guard === null || allHold(guard, context, env)) && ruleHolds(rule, context, env);
}

// Explanation views, built on first use. Kept outside the flags so a flag never explained
// costs nothing for them.
const strategyViews = new WeakMap<FlagImpl, readonly CompiledStrategy[]>();
const dependencyViews = new WeakMap<FlagImpl, readonly CompiledDependency[]>();

/**
 * A flag, compiled on first use (see the file comment). Internal: the public view is
 * `CompiledFlag`, whose `name` and `impressionData` never compile it.
 */
export class FlagImpl implements CompiledFlag {
  /** Parents, linked once the whole snapshot is loaded (undefined: missing parent). */
  parents: readonly (FlagImpl | undefined)[] = EMPTY;
  /**
   * `ENABLED | IMPRESSIONS | COMPILED`: read on every call, so kept here, not behind
   * `definition`. `COMPILED` is set once, by `compile` (which clears `ENABLED` in the
   * unexpected case it fails).
   */
  private bits: number;
  /** The first strategy's rule; the others follow through `next` (no array per flag). Set by `compile`. */
  first: Rule | null = null;
  /** Feature variants. Set by `compile`. */
  variants: VariantSelector | undefined = undefined;

  constructor(
    readonly definition: FeatureDefinition,
    private readonly shared: Shared,
  ) {
    this.bits = (definition.enabled ? ENABLED : 0) | (definition.impressionData ? IMPRESSIONS : 0);
  }

  /** Builds the rules and variant selectors, once. Never throws. */
  compile(): void {
    if ((this.bits & COMPILED) !== 0) return;
    this.bits |= COMPILED;
    const { definition, shared } = this;
    try {
      let first: Rule | null = null;
      let last: Rule | null = null;
      for (const s of definition.strategies) {
        const rule = compileStrategy(definition.name, s, shared);
        if (last === null) first = rule;
        else last.next = rule;
        last = rule;
      }
      const variants = compileVariants(definition.variants, definition.name, definition.variants[0]?.stickiness, shared.env);
      this.first = first;
      this.variants = variants;
    } catch (err) {
      // Not expected (every step guards itself), but a flag must never throw at its callers.
      shared.env.warn(`flag "${definition.name}" could not be compiled (${err instanceof Error ? err.message.slice(0, 80) : 'unknown error'}); it is off`);
      this.first = null;
      this.variants = undefined;
      this.bits &= ~ENABLED;
    }
  }

  /** The rules, in strategy order. */
  get rules(): Rule[] {
    this.compile();
    const out: Rule[] = [];
    for (let r = this.first; r !== null; r = r.next) out.push(r);
    return out;
  }

  get name(): string {
    return this.definition.name;
  }

  get enabled(): boolean {
    return (this.bits & ENABLED) !== 0;
  }

  get impressionData(): boolean {
    return (this.bits & IMPRESSIONS) !== 0;
  }

  /** The strategies as explanations see them (built on first use). */
  get strategies(): readonly CompiledStrategy[] {
    let views = strategyViews.get(this);
    if (views === undefined) {
      views = this.rules.map((rule, index) => this.strategyView(rule, index));
      strategyViews.set(this, views);
    }
    return views;
  }

  /** The dependencies as explanations see them (built on first use). */
  get dependencies(): readonly CompiledDependency[] {
    let views = dependencyViews.get(this);
    if (views === undefined) {
      views = this.definition.dependencies.map((d) => ({
        feature: d.feature,
        enabled: d.enabled !== false,
        variants: d.variants !== undefined && d.variants.length > 0 ? new Set(d.variants) : undefined,
      }));
      dependencyViews.set(this, views);
    }
    return views;
  }

  private strategyView(rule: Rule, index: number): CompiledStrategy {
    const shared = this.shared;
    const { env, registry, segments } = shared;
    const definition = this.definition.strategies[index]!;
    const guard = rule.guard as readonly Cond[] | null;
    const constraints: CompiledConstraint[] = [];
    const missingSegments: number[] = [];
    if (guard !== BLOCKED) {
      let k = 0;
      for (const c of definition.constraints) constraints.push(viewOf(c, guard![k++]!, env));
      for (const id of definition.segments) {
        const conds = segmentConds(shared, id);
        segments.get(id)!.constraints.forEach((c, i) => constraints.push(viewOf(c, conds[i]!, env, id)));
      }
    } else {
      for (const id of definition.segments) if (!segments.has(id)) missingSegments.push(id);
    }
    return {
      index,
      name: definition.name,
      definition,
      constraints,
      missingSegments,
      known: registry.get(definition.name) !== undefined,
      logic: logicOf(rule, env),
      variants: rule.variants as VariantSelector | undefined,
      matches: (context) => ruleMatches(rule, context, env),
    };
  }

  /**
   * The index of the strategy that turned the flag on, the strategy count when it has none
   * (a flag without strategies is on), or -1 when it is off.
   */
  matchIndex(context: Context): number {
    const bits = this.bits;
    // One test on the hot path: a compiled flag that is on passes straight through.
    if ((bits & (ENABLED | COMPILED)) !== (ENABLED | COMPILED)) {
      if ((bits & COMPILED) !== 0) return -1;
      this.compile();
      return this.matchIndex(context);
    }
    if (this.parents.length > 0 && !this.dependenciesHold(context)) return -1;
    let rule = this.first;
    if (rule === null) return 0;
    const env = this.shared.env;
    for (let i = 0; rule !== null; i++, rule = rule.next) if (ruleMatches(rule, context, env)) return i;
    return -1;
  }

  /** Whether every dependency holds. Parents are evaluated silently (no metrics, no impressions). */
  dependenciesHold(context: Context): boolean {
    for (let i = 0; i < this.parents.length; i++) {
      if (this.dependencyFailure(i, context) !== undefined) return false;
    }
    return true;
  }

  /** Why dependency `i` fails, or `undefined` when it holds. */
  dependencyFailure(i: number, context: Context): string | undefined {
    const dep = this.definition.dependencies[i]!;
    const parent = this.parents[i];
    if (parent === undefined) return 'parent flag not found';
    // Dependencies are one level deep: a parent that itself depends on a flag is not allowed.
    if (parent.parents.length > 0) return 'parent has dependencies of its own';
    if (dep.enabled === false) return parent.matchIndex(context) >= 0 ? 'parent is enabled' : undefined;
    if (dep.variants !== undefined && dep.variants.length > 0) {
      const variant = parent.selectVariant(context);
      if (!variant.feature_enabled) return 'parent is disabled';
      return dep.variants.includes(variant.name) ? undefined : `parent variant "${variant.name}" is not one of the required variants`;
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
    this.shared.env.warn(`evaluating flag "${this.name}" failed (${err instanceof Error ? err.message.slice(0, 120) : 'unknown error'}); answering off`);
  }

  /** The variant for `context`; may throw on a hostile context (callers guard). */
  selectVariant(context: Context): Variant {
    // matchIndex compiles the flag, so `first` and `variants` are set past this line.
    let i = this.matchIndex(context);
    if (i < 0) return DISABLED_VARIANT;
    let rule = this.first;
    while (i > 0 && rule !== null) {
      rule = rule.next;
      i--;
    }
    if (rule !== null && rule.variants !== undefined) return (rule.variants as VariantSelector).select(context);
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

  /**
   * The flag, or `undefined` when the payload has no flag of that name. Its rules compile
   * on its first evaluation; `name` and `impressionData` never need them.
   */
  get(name: string): CompiledFlag | undefined {
    return this.flags.get(name);
  }

  /** @internal the implementation, for explanations: compiled (an explanation counts as first use). */
  getImpl(name: string): FlagImpl | undefined {
    const flag = this.flags.get(name);
    flag?.compile();
    return flag;
  }

  /** Flag names, in payload order. */
  names(): string[] {
    return [...this.flags.keys()];
  }

  /**
   * The whole state as a full client-API body, e.g. to write to a cache. Shares the
   * snapshot's compact definitions rather than copying them: treat them as read-only.
   */
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

/** Longer strings (id lists, JSON payloads, descriptions) rarely repeat; hashing them is not worth it. */
const INTERN_LIMIT = 64;

/**
 * Builds the compact copy of one payload's definitions. Strings up to `INTERN_LIMIT`
 * characters are shared through one table (the parser gives every occurrence its own
 * string); empty lists are one shared frozen array; every object gets all its keys at
 * once, so it has its final shape and no out-of-object property store. Tolerant of the
 * hand-built definitions tests pass (missing arrays).
 */
class Compactor {
  private readonly strings = new Map<string, string>();

  str<T extends string | undefined | null>(s: T): T {
    if (typeof s !== 'string' || s.length > INTERN_LIMIT) return s;
    const known = this.strings.get(s);
    if (known !== undefined) return known as T;
    this.strings.set(s, s);
    return s;
  }

  private list<T, U>(items: readonly T[] | undefined, map: (item: T) => U): readonly U[] {
    if (items === undefined || items === null || items.length === 0) return EMPTY;
    const out = new Array<U>(items.length);
    for (let i = 0; i < items.length; i++) out[i] = map(items[i]!);
    return out;
  }

  private strs(items: readonly string[] | undefined): readonly string[] {
    return this.list(items, (s) => this.str(s));
  }

  constraint(c: ConstraintDefinition): ConstraintDefinition {
    return {
      contextName: this.str(c.contextName),
      operator: this.str(c.operator),
      values: this.strs(c.values) as string[],
      value: this.str(c.value),
      inverted: c.inverted === true,
      caseInsensitive: c.caseInsensitive === true,
    };
  }

  private override(o: VariantOverride): VariantOverride {
    return { contextName: this.str(o.contextName), values: this.strs(o.values) as string[] };
  }

  variant(v: VariantDefinition): VariantDefinition {
    return {
      name: this.str(v.name),
      weight: v.weight,
      weightType: this.str(v.weightType),
      stickiness: this.str(v.stickiness),
      payload: v.payload ? Object.freeze({ type: this.str(v.payload.type), value: this.str(v.payload.value) }) : undefined,
      overrides: v.overrides === undefined ? undefined : (this.list(v.overrides, (o) => this.override(o)) as VariantOverride[]),
    };
  }

  strategy(s: StrategyDefinition): StrategyDefinition {
    const parameters: Record<string, string> = {};
    for (const key of Object.keys(s.parameters ?? {})) parameters[this.str(key)] = this.str(s.parameters[key]!);
    return {
      name: this.str(s.name),
      parameters,
      constraints: this.list(s.constraints, (c) => this.constraint(c)) as ConstraintDefinition[],
      segments: (s.segments === undefined || s.segments.length === 0 ? EMPTY : s.segments.slice()) as number[],
      variants: this.list(s.variants, (v) => this.variant(v)) as VariantDefinition[],
    };
  }

  private dependency(d: Dependency): Dependency {
    return { feature: this.str(d.feature), enabled: d.enabled, variants: d.variants === undefined ? undefined : (this.strs(d.variants) as string[]) };
  }

  feature(f: FeatureDefinition): FeatureDefinition {
    return {
      name: this.str(f.name),
      enabled: f.enabled,
      strategies: this.list(f.strategies, (s) => this.strategy(s)) as StrategyDefinition[],
      variants: this.list(f.variants, (v) => this.variant(v)) as VariantDefinition[],
      dependencies: this.list(f.dependencies, (d) => this.dependency(d)) as Dependency[],
      impressionData: f.impressionData,
      type: this.str(f.type),
      project: this.str(f.project),
      stale: f.stale,
      description: this.str(f.description),
    };
  }

  segment(s: SegmentDefinition): SegmentDefinition {
    return { id: s.id, name: this.str(s.name), constraints: this.list(s.constraints, (c) => this.constraint(c)) as ConstraintDefinition[] };
  }
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
   * applies its events, in order, to the current state. Each flag's rules compile on its
   * first evaluation; problems only compiling finds are reported then (see the file comment).
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
    const compactor = new Compactor();
    const segments = new Map<number, SegmentDefinition>();
    for (const s of segmentDefs) segments.set(s.id, compactor.segment(s));
    const shared: Shared = { env: this.env, registry: this.registry, segments, segmentConds: new Map() };
    const flags = new Map<string, FlagImpl>();
    for (const raw of features) {
      const feature = compactor.feature(raw);
      flags.set(feature.name, new FlagImpl(feature, shared));
    }
    // Rules are compiled on each flag's first use; the problems visible without compiling
    // are reported now (see the file comment).
    for (const flag of flags.values()) {
      const feature = flag.definition;
      for (const s of feature.strategies) {
        const missing = s.segments.filter((id) => !segments.has(id));
        if (missing.length > 0) {
          this.env.warn(`flag "${feature.name}" uses segment ${missing.join(', ')}, which is not in the payload; that strategy is off`);
        }
        if (this.registry.get(s.name) === undefined) {
          this.env.warn(`unknown strategy "${s.name.slice(0, 60)}"; strategies using it are off`);
        }
      }
    }
    for (const flag of flags.values()) {
      const deps = flag.definition.dependencies;
      if (deps.length === 0) continue;
      flag.parents = deps.map((d) => flags.get(d.feature));
      flag.parents.forEach((p, i) => {
        if (p === undefined) this.env.warn(`flag "${flag.name}" depends on "${deps[i]!.feature}", which is not in the payload; it is off`);
      });
    }
    return new Snapshot(flags, segments, version);
  }
}

/**
 * Compiles one strategy of flag `flagName`. Never throws. Unknown strategies and missing
 * segments were reported at load; this reports what only compiling finds.
 */
function compileStrategy(flagName: string, def: StrategyDefinition, shared: Shared): Rule {
  const { env, registry, segments } = shared;
  const blocked = def.segments.some((id) => !segments.has(id));
  const builtin = registry.get(def.name);
  let rule: Rule;
  try {
    rule = builtin === undefined ? new Rule(RuleKind.NEVER) : builtin.compile({ parameters: def.parameters, flagName, env });
  } catch (err) {
    env.warn(`strategy "${def.name}" of flag "${flagName}" could not be compiled (${(err as Error).message.slice(0, 80)}); it is off`);
    rule = new Rule(RuleKind.NEVER);
  }
  if (blocked) {
    rule.guard = BLOCKED;
  } else {
    const own = def.constraints.map((c) => compileCond(c, env));
    for (const id of def.segments) own.push(...segmentConds(shared, id));
    rule.guard = own.length === 0 ? null : own;
  }
  // Strategy variants hash in the strategy's groupId (else the flag name), with the first
  // variant's stickiness, else the strategy's.
  rule.variants = compileVariants(def.variants, groupIdOf(def.parameters, flagName), def.variants[0]?.stickiness ?? def.parameters.stickiness, env);
  return rule;
}
