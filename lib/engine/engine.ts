/**
 * The evaluation engine: compiles a client-API payload into an immutable `Snapshot` and
 * evaluates flags against it. Pure: no HTTP, timers, file system or `node:os`; the clock,
 * randomness, host name and warning sink are injected.
 *
 * Compiling makes two things, both kept small because a service holds them for its
 * lifetime:
 * - a compact copy of the definitions: identical strings shared (a flag's name is also
 *   its groupId, user ids recur across lists, …), empty lists shared, every object built
 *   with its final shape. It is what `toPayload()` returns and reasons quote; it replaces
 *   the parser's output, which can then be collected.
 * - for evaluation, one `CompiledStrategy` per strategy (plain data, see
 *   compiled-strategy.ts) with its `CompiledConstraint`s (constraints.ts), and a
 *   `VariantSelector` per variant list. Evaluating walks these with a few monomorphic
 *   functions and allocates nothing; `evaluate` walks the same structures once, recording
 *   a trace its reason is built from (flag.ts).
 *
 * Strategies, constraints and variant selectors are built lazily, per flag, on the
 * first evaluation of a flag that is switched on (a parent on the first evaluation of a
 * flag depending on it), and segment constraints on the first compile of a flag using
 * them: a service holds many flags it never asks about, and the compact definitions are
 * all it needs to keep for those. A compiled flag pays one bit test per call, which the
 * "flag is off" test it already made covers (see flag.ts).
 *
 * The client goes one step further (issue 12, cold start): its door leaves each flag of a
 * full body *deferred*, as the server sent it, checked for a usable name only
 * (`readClientPayload`); the flag's definition is checked and compacted (`parseFeature`,
 * the same function the checking door uses) when first needed: its first evaluation,
 * `definition`, `definitions()`. Loading a body is then a parse and an index, about the
 * work unleash-client does. `toPayload()` and deltas keep a deferred flag as it came.
 *
 * Warning timing follows from that:
 * - at load, for problems visible without compiling: an unknown strategy name, a segment
 *   the payload does not define, a dependency on a flag the payload does not have (read
 *   from a deferred flag by the rules its check applies: `strategyNameOf`,
 *   `segmentRefsOf`, `segmentIdOf`, `dependencyNameOf`);
 * - when a flag compiles (its first evaluation while switched on), for problems only
 *   compiling finds: an invalid regex, constraint values that cannot be used (numbers,
 *   versions, dates, CIDRs), an unknown constraint operator, a strategy whose parameters
 *   make it fail to compile. A flag never evaluated, or switched off, never reports
 *   these; `lint` does, without a client.
 */
import { applyDelta, type FlagState } from './delta';
import { CompiledFlag, type SharedCompileState } from './flag';
import { EMPTY, Interner, isCompact, isCompactList, isDeferred, markCompact, markCompactList } from './compact';
import { dependencyNameOf, listOf, segmentIdOf, segmentRefsOf, strategyNameOf } from '../payload';
import { warnOnce } from '../warn-once';
import type { EvalEnv } from './constraints';
import type { ContextDefaults } from './context';
import type {
  ClientPayload,
  ConstraintDefinition,
  Dependency,
  FeatureDefinition,
  FeaturesPayload,
  SegmentDefinition,
  StrategyDefinition,
  VariantDefinition,
  VariantOverride,
} from '../types';
import { StrategyRegistry } from '../../strategies/registry';
import type { Strategy } from '../../strategies/strategy';

/** Options the client (or a test) gives the engine. */
export interface EngineOptions {
  /** User-defined strategies, by their `name`. */
  strategies?: readonly Strategy[];
  /** The host name `applicationHostname` compares with. */
  hostname?: string;
  /**
   * `appName` and `environment` for contexts that leave them out (the client passes its
   * options). Read only when a flag asks for the field; no context is copied.
   */
  contextDefaults?: ContextDefaults;
  /** Milliseconds since the epoch; the default `currentTime` of DATE_* constraints. */
  now?: () => number;
  /** A number in [0, 1), for random rollouts and random variant stickiness. */
  random?: () => number;
  /** Receives each distinct problem once (unknown strategy, missing segment, bad regex…). */
  onWarning?: (message: string) => void;
}


/** An immutable, compiled set of flags. */
export class Snapshot {
  /** The number of flags. */
  readonly size: number;
  /** Where `checkDeferred` goes on; `null` once every flag is checked. */
  private unchecked: Iterator<CompiledFlag> | null | undefined;
  /** The flags, in payload order. */
  private readonly list: readonly CompiledFlag[];
  /**
   * The flags by name, built on the first `get`: a client finds its flags in a table of
   * its own, and a second index of every name would cost about 45 bytes per flag for the
   * snapshot's life (measured: 0.45 MB per 10,000 flags).
   */
  private byName: Map<string, CompiledFlag> | undefined;

  /** @internal use `Engine.load` */
  constructor(
    /** The flags, in payload order, names unique. */
    list: readonly CompiledFlag[],
    private readonly segments: ReadonlyMap<number, SegmentDefinition>,
    /** The payload version this state came from. */
    readonly version: number,
    /** Whether a flag uses a custom strategy (see `callsCustomStrategies`). */
    private readonly customStrategies: boolean,
    /** What the flags share, when some are deferred (their interner is dropped once all are checked). */
    private readonly shared?: SharedCompileState,
  ) {
    this.list = list;
    this.size = list.length;
    this.unchecked = shared?.interner === undefined ? null : undefined;
  }

  /**
   * Checks deferred flags (see ./compact.ts), in payload order, until `shouldYield()`
   * answers true (asked after each flag) or none is left; returns whether none is left.
   * Evaluation never needs this (a flag is checked when first needed): it is for a caller
   * that wants the snapshot's settled memory (compact definitions, the interner dropped)
   * without holding its event loop for it. Never throws for flags the payload door let in.
   */
  checkDeferred(shouldYield: () => boolean): boolean {
    if (this.unchecked === null) return true;
    const rest = (this.unchecked ??= this.list.values());
    for (let next = rest.next(); next.done !== true; next = rest.next()) {
      void next.value.definition;
      if (shouldYield()) return false;
    }
    this.unchecked = null;
    // Flags checked from now on (none are left) would use a table of their own.
    if (this.shared !== undefined) this.shared.interner = undefined;
    return true;
  }

  /**
   * The flag, or `undefined` when the payload has no flag of that name. Its strategies
   * compile on its first evaluation; `name` and `impressionData` never need them.
   */
  get(name: string): CompiledFlag | undefined {
    if (this.byName === undefined) {
      this.byName = new Map();
      for (const f of this.list) this.byName.set(f.name, f);
    }
    return this.byName.get(name);
  }

  /** Flag names, in payload order. */
  names(): string[] {
    return this.list.map((f) => f.name);
  }

  /** @internal The flags, in payload order (read-only), for a caller that indexes them itself. */
  compiledFlags(): readonly CompiledFlag[] {
    return this.list;
  }

  /**
   * Whether some flag has a strategy that is a user's `Strategy`. Such a strategy gets
   * the context itself, so the client fills `appName` and `environment` into it; built-in
   * strategies and constraints read those defaults from the engine instead, and never
   * need a copy of the context. Worked out while loading (the load-time check reads every
   * strategy name anyway).
   */
  callsCustomStrategies(): boolean {
    return this.customStrategies;
  }

  /**
   * The whole state as a full client-API body, e.g. to write to a cache: each flag as the
   * snapshot stores it (compacted, or still deferred as the server sent it: see
   * ./compact.ts), shared rather than copied: treat them as read-only (a checked flag is
   * frozen; the list is a new one, and anything added to it is compacted). Loading it again
   * gives the same flags. For checked definitions, `definitions()`.
   */
  toPayload(): FeaturesPayload {
    return {
      version: this.version,
      features: markCompactList(this.list.map((f) => f.stored())),
      segments: [...this.segments.values()],
    };
  }

  /**
   * Every flag's definition, checked and compacted (a deferred flag is checked now; see
   * ./compact.ts), in payload order. Shared, read-only.
   */
  definitions(): FeatureDefinition[] {
    return this.list.map((f) => f.definition);
  }

  /** @internal The definitions as stored (deferred flags left so), for applying deltas. */
  state(): FlagState {
    const features = new Map<string, FeatureDefinition>();
    for (const f of this.list) features.set(f.name, f.stored());
    return { features, segments: this.segments };
  }
}

/**
 * Whether a flag of a marked list (`isCompactList`) is one the door or the engine built:
 * those are frozen, so an object pushed into the list later (the list is the caller's to
 * keep) is copied into compact form like any hand-built definition.
 */
function inCompactList(f: FeatureDefinition): boolean {
  return Object.isFrozen(f);
}

/**
 * Builds the compact copy of one payload's definitions (see ./compact.ts). Segments the
 * payload door built in compact form are taken as they are; for flags, `compile` decides
 * (a marked list, a delta's marked definition, a flag the current snapshot stores).
 * Tolerant of the hand-built definitions tests pass (missing arrays).
 */
class Compactor {
  /** Shared with the snapshot's deferred flags, which are compacted with it on first use. */
  readonly interner = new Interner();

  str<T extends string | undefined | null>(s: T): T {
    return this.interner.str(s);
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
      ...(c.malformed === undefined ? {} : { malformed: c.malformed }),
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
    return Object.freeze<FeatureDefinition>({
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
    });
  }

  segment(s: SegmentDefinition): SegmentDefinition {
    if (isCompact(s)) return s;
    return markCompact<SegmentDefinition>({ id: s.id, name: this.str(s.name), constraints: this.list(s.constraints, (c) => this.constraint(c)) as ConstraintDefinition[] });
  }
}

/** A load in progress (see `Engine.prepare`). */
export interface PendingLoad {
  /** Compiles until `shouldYield()` answers true or the work is done; returns whether it is done. */
  step(shouldYield: () => boolean): boolean;
  /** The compiled snapshot, not yet current. Throws `Error` before the work is done. */
  compiled(): Snapshot;
  /** Makes the compiled snapshot current and returns it. Throws `Error` before the work is done. */
  commit(): Snapshot;
}

const never = (): boolean => false;

/** Compiles flags and holds the current snapshot. */
export class Engine {
  private current: Snapshot;
  private readonly env: EvalEnv;
  private readonly registry: StrategyRegistry;

  /** Throws `TypeError` when `strategies` holds something that is not a strategy. */
  constructor(options: EngineOptions = {}) {
    const warn = warnOnce(options.onWarning);
    this.env = {
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      hostname: options.hostname ?? '',
      defaults: Object.freeze({ ...options.contextDefaults }),
      warn,
    };
    this.registry = new StrategyRegistry(options.strategies ?? [], warn);
    this.current = new Snapshot([], new Map(), 2, false);
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
   * applies its events, in order, to the current state (`applyDelta`). Each flag's
   * strategies compile on its first evaluation; problems only compiling finds are
   * reported then (see the file comment).
   */
  load(payload: ClientPayload): Snapshot {
    const pending = this.prepare(payload);
    while (!pending.step(never)) {
      // runs to the end
    }
    return pending.commit();
  }

  /**
   * `load` in steps, for a caller that spreads a large payload over turns of its event
   * loop: `step(shouldYield)` compiles flags until `shouldYield()` answers true (asked
   * after each flag) and returns whether the work is done; `commit()` then makes the new
   * snapshot current, at once. Until then `snapshot` is the old one, untouched. A delta
   * applies to the state current when `prepare` is called; the caller keeps loads in
   * order. Abandoning a pending load (never committing it) leaves the engine as it was.
   */
  prepare(payload: ClientPayload): PendingLoad {
    let steps: Generator<void, Snapshot, void>;
    if (payload.kind === 'full') steps = this.compileFull(payload);
    else {
      const before = this.current.state();
      const state = applyDelta(before, payload.events);
      // Taken as they are: the flags the current snapshot stores (most of them, so asked
      // first), and those of a delta the door built (an update's definition is marked, a
      // hydration's list).
      const listed = new Set<FeatureDefinition>();
      for (const e of payload.events) if (e.type === 'hydration' && isCompactList(e.features)) for (const f of e.features) listed.add(f);
      const kept = (f: FeatureDefinition) => before.features.get(f.name) === f || isCompact(f) || (listed.has(f) && inCompactList(f));
      steps = this.compile(state.features.values(), state.segments.values(), this.current.version, kept);
    }
    let result: Snapshot | undefined;
    return {
      step: (shouldYield) => {
        while (result === undefined) {
          const next = steps.next();
          if (next.done === true) result = next.value;
          else if (shouldYield()) return false;
        }
        return true;
      },
      compiled: () => {
        if (result === undefined) throw new Error('Engine: compiled() before the pending load was done');
        return result;
      },
      commit: () => {
        if (result === undefined) throw new Error('Engine: commit() before the pending load was done');
        this.current = result;
        return result;
      },
    };
  }

  /** A full body's compile (see `compile`). */
  private compileFull(payload: FeaturesPayload): Generator<void, Snapshot, void> {
    // The door's lists and a snapshot's `toPayload()` hold compact (or deferred) flags only.
    const listed = isCompactList(payload.features);
    return this.compile(payload.features, payload.segments, payload.version, listed ? inCompactList : isCompact);
  }

  /**
   * The compile, one flag per step (see `prepare`). A name that occurs twice keeps its
   * first place and its last definition, as a `Map` built from the list would. Loops by
   * index over arrays, not `for…of` over a Map: at a cold start this code runs
   * unoptimised, where each iterator step allocates a result object (2.1 MB of the 6.8 MB
   * a 10,000-flag load allocated, measured), and the young-generation collections that
   * causes land on the load, ahead of ready.
   */
  private *compile(
    features: Iterable<FeatureDefinition>,
    segmentList: Iterable<SegmentDefinition>,
    version: number,
    /** Whether a (not deferred) definition is compact already, to be taken as it is. */
    compactAlready: (f: FeatureDefinition) => boolean,
  ): Generator<void, Snapshot, void> {
    const compactor = new Compactor();
    const segments = new Map<number, SegmentDefinition>();
    for (const s of segmentList) segments.set(s.id, compactor.segment(s));
    const shared: SharedCompileState = { env: this.env, registry: this.registry, segments, segmentConstraints: new Map(), interner: compactor.interner };
    // Each name's place in `compiled`: a name seen again keeps its place, takes the new flag.
    const places = new Map<string, number>();
    const compiled: CompiledFlag[] = [];
    let deferredFlags = false;
    const list = Array.isArray(features) ? (features as readonly FeatureDefinition[]) : [...features];
    for (let i = 0; i < list.length; i++) {
      const raw = list[i]!;
      // A deferred flag (the client's loading) is kept as it came and checked on first
      // use; any other definition is compacted now.
      const deferred = isDeferred(raw);
      if (deferred) deferredFlags = true;
      const feature = deferred || compactAlready(raw) ? raw : compactor.feature(raw);
      const flag = new CompiledFlag(feature, shared);
      const place = places.get(feature.name);
      if (place === undefined) {
        places.set(feature.name, compiled.length);
        compiled.push(flag);
      } else {
        compiled[place] = flag;
      }
      yield;
    }
    const warn = this.env.warn;
    let custom = false;
    // Strategies are compiled on each flag's first use; the problems visible without
    // compiling are reported now (see the file comment). A deferred flag is read with the
    // same rules its check applies later (lib/payload.ts), so both agree on every name.
    for (let f = 0; f < compiled.length; f++) {
      const flag = compiled[f]!;
      const feature = flag.stored();
      const name = flag.name;
      const strategies = listOf(feature.strategies);
      for (let k = 0; k < strategies.length; k++) {
        const s = strategies[k];
        const strategy = strategyNameOf(s);
        let missing: number[] | undefined;
        const refs = segmentRefsOf(s);
        for (let r = 0; r < refs.length; r++) {
          const id = segmentIdOf(refs[r]);
          if (!segments.has(id)) (missing ??= []).push(id);
        }
        if (missing !== undefined) {
          warn(
            `segment-missing:${name}:${missing.join(',')}`,
            `flag "${name}" uses segment ${missing.join(', ')}, which is not in the payload; that strategy is off`,
          );
        }
        if (this.registry.get(strategy) === undefined) {
          warn(`strategy-unknown:${strategy}`, `unknown strategy "${strategy.slice(0, 60)}"; strategies using it are off`);
        } else if (!custom && this.registry.isCustom(strategy)) custom = true;
      }
      const deps = listOf(feature.dependencies);
      if (deps.length > 0) {
        const parents = new Array<CompiledFlag | undefined>(deps.length);
        for (let i = 0; i < deps.length; i++) {
          const parent = dependencyNameOf(deps[i]);
          const place = places.get(parent);
          parents[i] = place === undefined ? undefined : compiled[place];
          if (parents[i] === undefined) warn(`parent-missing:${name}:${parent}`, `flag "${name}" depends on "${parent}", which is not in the payload; it is off`);
        }
        flag.parents = parents;
      }
      yield;
    }
    // The interner is kept only while some flag still has to be checked with it.
    if (!deferredFlags) shared.interner = undefined;
    // A copy of exactly its length (the snapshot keeps it): `push` left room for more.
    return new Snapshot(compiled.slice(), segments, version, custom, shared);
  }
}
