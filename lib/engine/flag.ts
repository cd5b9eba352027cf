/**
 * A compiled flag and the one walk that evaluates it.
 *
 * One walk evaluates a flag: switched on, then its dependencies, then each strategy's
 * constraints and decision. It takes an optional `EvaluationTrace`: the fast
 * path (`isEnabled`, `getVariant`) passes `null` and allocates nothing; `evaluate` passes
 * a trace, and its reason is built from what that same walk recorded. There is no second
 * walker, so a reason can never contradict its value, random buckets included.
 *
 * A flag compiles its strategies, constraints and variants on its first evaluation (see
 * the engine's file comment); until then it holds only its compact definition.
 */
import { compileConstraint, constraintHolds, NEVER_HOLDS, outOfStack, type CompiledConstraint, type EvalEnv } from './constraints';
import { CompiledStrategy, StrategyKind, strategyDecides } from './compiled-strategy';
import { reasonOf, type EvaluationResult } from './evaluation';
import { EvaluationTrace } from './trace';
import { compileVariants, DISABLED_VARIANT, DISABLED_VARIANT_FEATURE_ON, type VariantSelector } from './variants';
import type { StrategyRegistry } from '../../strategies/registry';
import { groupIdOf } from '../../strategies/parameters';
import type { Context, FeatureDefinition, SegmentDefinition, StrategyDefinition, Variant } from '../types';
import { Interner, isDeferred } from './compact';
import { parseFeature } from '../payload';

/** What every flag of one snapshot shares: one reference per flag instead of several. */
export interface SharedCompileState {
  readonly env: EvalEnv;
  readonly registry: StrategyRegistry;
  readonly segments: ReadonlyMap<number, SegmentDefinition>;
  /** Compiled segment constraints, in definition order; filled on first use (`segmentConstraints`). */
  readonly segmentConstraints: Map<number, readonly CompiledConstraint[]>;
  /**
   * The snapshot's table of shared strings, for checking deferred flags (./compact.ts);
   * `undefined` when none is left to check (`Snapshot.checkDeferred` drops it).
   */
  interner: Interner | undefined;
}

// CompiledFlag.bits
const ENABLED = 1;
const IMPRESSIONS = 2;
const COMPILED = 4;
/** `stored` is checked and compact (not deferred). */
const CHECKED = 8;

const EMPTY: readonly never[] = Object.freeze([]);
/** The constraints of a strategy that can never match (it references a missing segment). */
const BLOCKED: readonly CompiledConstraint[] = Object.freeze([NEVER_HOLDS]);

/**
 * The compiled constraints of segment `id` (which must exist), compiled on first use and
 * then shared by every strategy that uses the segment.
 */
function segmentConstraints(shared: SharedCompileState, id: number): readonly CompiledConstraint[] {
  let compiled = shared.segmentConstraints.get(id);
  if (compiled === undefined) {
    compiled = shared.segments.get(id)!.constraints.map((c) => compileConstraint(c, shared.env));
    shared.segmentConstraints.set(id, compiled);
  }
  return compiled;
}

/**
 * Compiles one strategy of flag `flagName`. Never throws. Unknown strategies and missing
 * segments were reported at load; this reports what only compiling finds.
 */
function compileStrategy(flagName: string, def: StrategyDefinition, shared: SharedCompileState): CompiledStrategy {
  const { env, registry, segments } = shared;
  const compiler = registry.get(def.name);
  let strategy: CompiledStrategy;
  try {
    strategy = compiler === undefined ? new CompiledStrategy(StrategyKind.NEVER) : compiler.compile({ parameters: def.parameters, flagName, env });
  } catch (err) {
    if (outOfStack(err)) throw err;
    env.warn(
      `strategy-uncompilable:${flagName}:${def.name}`,
      `strategy "${def.name}" of flag "${flagName}" could not be compiled (${(err as Error).message.slice(0, 80)}); it is off`,
    );
    strategy = new CompiledStrategy(StrategyKind.NEVER);
  }
  if (def.segments.some((id) => !segments.has(id))) {
    strategy.constraints = BLOCKED;
  } else {
    // Arrays of exactly their length (`push` leaves room for more; `slice` copies to the
    // length): a service holds them for its life. A strategy whose only constraints are one
    // segment's shares that segment's compiled list. No spread of a list into arguments:
    // a hostile payload's thousands of segments or constraints would run out of stack.
    let constraints: readonly CompiledConstraint[] = def.constraints.map((c) => compileConstraint(c, env));
    if (def.segments.length === 1 && constraints.length === 0) {
      constraints = segmentConstraints(shared, def.segments[0]!);
    } else if (def.segments.length > 0) {
      const all = constraints as CompiledConstraint[];
      for (const id of def.segments) for (const c of segmentConstraints(shared, id)) all.push(c);
      constraints = all.slice();
    }
    strategy.constraints = constraints.length === 0 ? null : constraints;
  }
  // Strategy variants hash in the strategy's groupId (else the flag name), with the first
  // variant's stickiness, else the strategy's.
  strategy.variants = compileVariants(def.variants, groupIdOf(def.parameters, flagName), def.variants[0]?.stickiness ?? def.parameters.stickiness, env, 'strategy');
  return strategy;
}

/**
 * Whether a strategy's constraints hold and it says yes. With a trace, records the first
 * failing constraint (and, through `strategyDecides`, rollout buckets and errors). May
 * throw on a hostile context (callers guard).
 */
function strategyMatches(s: CompiledStrategy, context: Context, env: EvalEnv, trace: EvaluationTrace | null): boolean {
  const constraints = s.constraints;
  if (constraints !== null) {
    for (let k = 0; k < constraints.length; k++) {
      if (!constraintHolds(constraints[k]!, context, env)) {
        if (trace !== null) trace.failedConstraint = k;
        return false;
      }
    }
  }
  return strategyDecides(s, context, env, trace);
}

/** A dependency failed on the parent's variant (the message, naming it, is built on demand). */
const WRONG_VARIANT = 'parent variant is not one of the required variants';
/** The parent variant of the last WRONG_VARIANT failure (evaluation is synchronous). */
let wrongVariant = '';

/** Why a parent that answered off did: switched off, or on but declining this context. */
function parentOff(parent: CompiledFlag): string {
  return parent.enabled ? 'parent is off for this context' : 'parent is disabled';
}

/**
 * A flag compiled for evaluation. `isEnabled`, `getVariant` and `evaluate` never throw:
 * a hostile context (a throwing getter) answers off and is reported once.
 */
export class CompiledFlag {
  /** @internal Parents, linked once the whole snapshot is loaded (undefined: missing parent). */
  parents: readonly (CompiledFlag | undefined)[] = EMPTY;
  /**
   * `ENABLED | IMPRESSIONS | COMPILED`: read on every call, so kept here, not behind
   * `definition`. `COMPILED` is set once, by `compile` when it finishes (which clears
   * `ENABLED` in the unexpected case it fails for a reason other than the stack running out).
   */
  private bits: number;
  /** The first strategy; the others follow through `next` (no array per flag). Set by `compile`. */
  private first: CompiledStrategy | null = null;
  /** The flag's own variants. Set by `compile`. */
  private variants: VariantSelector | undefined = undefined;

  /**
   * The definition: compact (`CHECKED`), or deferred, as the server sent it, until
   * `definition` is first read (see ./compact.ts).
   */
  private def: FeatureDefinition;

  /** @internal built by the engine, from a compact or a deferred definition. */
  constructor(
    definition: FeatureDefinition,
    /** @internal */
    readonly shared: SharedCompileState,
  ) {
    this.def = definition;
    // A deferred flag's check reads these two the same way (`=== true`, lib/payload.ts).
    this.bits = isDeferred(definition)
      ? (definition.enabled === true ? ENABLED : 0) | (definition.impressionData === true ? IMPRESSIONS : 0)
      : (definition.enabled ? ENABLED : 0) | (definition.impressionData ? IMPRESSIONS : 0) | CHECKED;
  }

  /**
   * The flag's definition, checked and compacted by the engine. Frozen. A deferred flag
   * is checked on the first read (`parseFeature`, which never throws for a flag the payload
   * door let through: it has a usable name).
   */
  get definition(): FeatureDefinition {
    if ((this.bits & CHECKED) === 0) {
      this.def = parseFeature(this.def, this.shared.interner ?? new Interner())!;
      this.bits |= CHECKED;
    }
    return this.def;
  }

  /** @internal The definition as stored: compact, or still deferred (for caches and deltas). */
  stored(): FeatureDefinition {
    return this.def;
  }

  /** The flag's name, as in Unleash (the same whether the definition is checked yet or not). */
  get name(): string {
    return this.def.name;
  }

  /** Whether the flag is switched on in this environment (before strategies). */
  get enabled(): boolean {
    return (this.bits & ENABLED) !== 0;
  }

  /** Whether evaluations of this flag should emit impression events (set per flag in Unleash). */
  get impressionData(): boolean {
    return (this.bits & IMPRESSIONS) !== 0;
  }

  /**
   * @internal Builds the strategies and variant selectors, once. Throws only when the stack
   * runs out (see `outOfStack`), leaving the flag uncompiled; any other failure is final.
   */
  compile(): void {
    if ((this.bits & COMPILED) !== 0) return;
    const { definition, shared } = this;
    try {
      let first: CompiledStrategy | null = null;
      let last: CompiledStrategy | null = null;
      for (const s of definition.strategies) {
        const strategy = compileStrategy(definition.name, s, shared);
        if (last === null) first = strategy;
        else last.next = strategy;
        last = strategy;
      }
      this.first = first;
      this.variants = compileVariants(definition.variants, definition.name, definition.variants[0]?.stickiness, shared.env, 'feature');
    } catch (err) {
      // The stack ran out (a caller deep in recursion): nothing is wrong with the flag, so
      // nothing is remembered; this call fails (its caller answers off) and the next compiles again.
      if (outOfStack(err)) throw err;
      // Not expected (every step guards itself), but a flag must never throw at its callers.
      shared.env.warn(
        `flag-uncompilable:${definition.name}`,
        `flag "${definition.name}" could not be compiled (${err instanceof Error ? err.message.slice(0, 80) : 'unknown error'}); it is off`,
      );
      this.first = null;
      this.variants = undefined;
      this.bits &= ~ENABLED;
    }
    this.bits |= COMPILED;
  }

  /** Whether the flag is on for `context`. Never throws. */
  isEnabled(context: Context): boolean {
    try {
      return this.matchIndex(context, null) >= 0;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  /** The variant for `context`. Never throws. The result is frozen and shared. */
  getVariant(context: Context): Variant {
    try {
      return this.selectVariant(context, null);
    } catch (err) {
      this.failed(err);
      return DISABLED_VARIANT;
    }
  }

  /**
   * The answer, the variant and why, from one walk of the flag (the same walk as
   * `getVariant`, recording as it goes). Never throws: a failure is the `ERROR` reason.
   */
  evaluate(context: Context): EvaluationResult {
    const trace = new EvaluationTrace();
    let index: number;
    let variant: Variant;
    try {
      index = this.matchIndex(context, trace);
      variant = index < 0 ? DISABLED_VARIANT : this.variantAt(index, context, trace);
    } catch (err) {
      this.failed(err);
      const message = err instanceof Error ? err.message : String(err);
      return { flag: this.name, enabled: false, variant: DISABLED_VARIANT, reason: { kind: 'ERROR', message } };
    }
    // reasonOf reads the context again only defensively (see evaluation.ts): it never throws.
    return { flag: this.name, enabled: index >= 0, variant, reason: reasonOf(this, index, trace, context) };
  }

  private failed(err: unknown): void {
    const why = err instanceof Error ? err.message.slice(0, 120) : 'unknown error';
    this.shared.env.warn(`evaluation-failed:${this.name}`, `evaluating flag "${this.name}" failed (${why}); answering off (reported once per flag)`);
  }

  /**
   * @internal The index of the strategy that turned the flag on, the strategy count when
   * it has none (a flag without strategies is on), or -1 when it is off. Compiles the
   * flag on first use. May throw on a hostile context (callers guard).
   */
  matchIndex(context: Context, trace: EvaluationTrace | null): number {
    const bits = this.bits;
    // One test on the hot path: a compiled flag that is on passes straight through.
    if ((bits & (ENABLED | COMPILED)) !== (ENABLED | COMPILED)) {
      // Switched off (or failed to compile): off, and a switched-off flag is never compiled
      // (nor checked, when deferred): its strategies cannot change the answer.
      if ((bits & ENABLED) === 0) return -1;
      this.compile();
      return this.matchIndex(context, trace);
    }
    if (this.parents.length > 0 && !this.dependenciesHold(context, trace)) return -1;
    let s = this.first;
    if (s === null) return 0;
    const env = this.shared.env;
    for (let i = 0; s !== null; i++, s = s.next) {
      if (strategyMatches(s, context, env, trace)) return i;
      if (trace !== null) trace.missed(i);
    }
    return -1;
  }

  /** The strategies, in order (compiled), for reasons. @internal */
  strategyAt(index: number): CompiledStrategy | null {
    let s = this.first;
    for (let i = index; i > 0 && s !== null; i--) s = s.next;
    return s;
  }

  /** Whether every dependency holds; with a trace, records the first that fails and why. */
  private dependenciesHold(context: Context, trace: EvaluationTrace | null): boolean {
    const deps = this.definition.dependencies;
    for (let i = 0; i < deps.length; i++) {
      const why = this.dependencyFailure(i, context);
      if (why !== undefined) {
        if (trace !== null) {
          // The variant the walk drew, not a new draw: random stickiness must not change it.
          trace.dependency = { index: i, why: why === WRONG_VARIANT ? `parent variant "${wrongVariant}" is not one of the required variants` : why };
        }
        return false;
      }
    }
    return true;
  }

  /**
   * Why dependency `i` fails, or `undefined` when it holds. Parents are evaluated silently
   * (no metrics, no impressions), and one level deep only, as Unleash defines it.
   */
  private dependencyFailure(i: number, context: Context): string | undefined {
    const dep = this.definition.dependencies[i]!;
    const parent = this.parents[i];
    if (parent === undefined) return 'parent flag not found';
    if (parent.parents.length > 0) return 'parent has dependencies of its own';
    if (dep.enabled === false) return parent.matchIndex(context, null) >= 0 ? 'parent is on for this context' : undefined;
    if (dep.variants !== undefined && dep.variants.length > 0) {
      const variant = parent.selectVariant(context, null);
      if (!variant.feature_enabled) return parentOff(parent);
      if (dep.variants.includes(variant.name)) return undefined;
      // The message names the variant, so it is built only when a trace asks (dependenciesHold);
      // remembering the name allocates nothing.
      wrongVariant = variant.name;
      return WRONG_VARIANT;
    }
    return parent.matchIndex(context, null) >= 0 ? undefined : parentOff(parent);
  }

  /** @internal The variant for `context`; may throw on a hostile context (callers guard). */
  selectVariant(context: Context, trace: EvaluationTrace | null): Variant {
    const index = this.matchIndex(context, trace);
    return index < 0 ? DISABLED_VARIANT : this.variantAt(index, context, trace);
  }

  /** The variant once strategy `index` matched: its own variants, else the flag's. */
  private variantAt(index: number, context: Context, trace: EvaluationTrace | null): Variant {
    const s = this.strategyAt(index);
    if (s !== null && s.variants !== undefined) return s.variants.select(context, trace);
    return this.variants === undefined ? DISABLED_VARIANT_FEATURE_ON : this.variants.select(context, trace);
  }
}
