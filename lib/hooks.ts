/**
 * Evaluation hooks: user code called before and after every `isEnabled`, `getVariant` and
 * `evaluate` call, for tracing, logging and metrics (the OpenTelemetry hook of
 * `switchyard-flags/opentelemetry` is one).
 *
 * The shape follows the evaluation series of LaunchDarkly's js-core and OpenFeature: a
 * hook's `beforeEvaluation` may return data that its own `afterEvaluation` receives (a
 * span, a start time), so hooks need no state of their own keyed by call. Differences:
 * the result carries switchyard's structured `Reason`, and a hook that throws is reported
 * once per hook and stage rather than logged on every call.
 *
 * A hook can never change an answer: it sees a frozen copy of the context and a frozen
 * copy of the result (writing to either throws a `TypeError` in strict code, which is
 * reported like any other throw), the flag is evaluated with the caller's own context
 * object, which hooks are never given, and the caller receives the result object no hook
 * was given. An evaluation a hook makes itself (directly or through code it calls) runs
 * without hooks, so a hook that evaluates flags cannot recurse into itself.
 *
 * Cost: with no hook the client's hot path checks one boolean and nothing else; with
 * hooks, each call is one `evaluate` walk (the answer and its reason from the same walk,
 * so `isEnabled` and `getVariant` answer exactly as without hooks), the frozen copies of
 * the context and the result, plus the hooks' own work.
 */
import type { EvaluationResult } from './engine/evaluation';
import type { Context } from './types';
import { warnOnce, type WarnOnce } from './warn-once';

/**
 * The client method an evaluation series belongs to.
 *
 * @group Hooks
 */
export type EvaluationMethod = 'isEnabled' | 'getVariant' | 'evaluate';

/**
 * What a hook is told about the call it runs around. The same object is passed to every
 * hook's `beforeEvaluation` and `afterEvaluation` of one call; its fields are read-only
 * (not frozen, for speed: reassigning one would reach only this call's other hooks).
 *
 * @group Hooks
 */
export interface EvaluationSeriesContext {
  /** The flag name asked about. */
  readonly flag: string;
  /**
   * A frozen shallow copy of the context the caller passed (its `properties` copied and
   * frozen too), or of the client's default context `{ appName, environment }` for a call
   * without one. Writing to it throws in strict code; the flag is evaluated with the
   * caller's own object, which hooks are never given. A context whose fields cannot be
   * read (a getter that throws) is seen as `{}`.
   */
  readonly context: Context;
  /** Which client method was called. */
  readonly method: EvaluationMethod;
}

/**
 * Data a hook's `beforeEvaluation` hands to its own `afterEvaluation` for the same call
 * (each hook sees only its own). An empty frozen object when `beforeEvaluation` returned
 * nothing or is absent.
 *
 * @group Hooks
 */
export type EvaluationSeriesData = Readonly<Record<string, unknown>>;

/**
 * A hook: code run around every evaluation (`hooks` option, `client.addHook`). Both
 * methods are optional and synchronous; their return values other than series data are
 * ignored, and a hook can never change the answer. A hook that throws (or returns a
 * Promise that rejects) is reported once per hook and stage as a `warning` event of
 * origin `callback`, and the call goes on as if the hook had returned nothing.
 *
 * `beforeEvaluation` runs in the order hooks were added, `afterEvaluation` in the reverse
 * order (the first hook added wraps all the others, as with nested spans).
 *
 * ```ts
 * const timing: Hook = {
 *   name: 'timing',
 *   beforeEvaluation: () => ({ start: performance.now() }),
 *   afterEvaluation: (series, data, result) => {
 *     console.log(series.flag, result.enabled, result.reason.kind, performance.now() - (data.start as number));
 *   },
 * };
 * ```
 *
 * @group Hooks
 */
export interface Hook {
  /**
   * Names the hook in the warning reported when it throws. Default: its position when it
   * threw (`hook #1`). Each hook object is reported once per stage, named or not.
   */
  readonly name?: string;
  /** Called before the flag is evaluated. May return data for this hook's `afterEvaluation`. */
  beforeEvaluation?(series: EvaluationSeriesContext, data: EvaluationSeriesData): EvaluationSeriesData | void;
  /**
   * Called after the flag was evaluated and counted, with a frozen copy of the answer the
   * caller receives: `result.enabled` is what `isEnabled` returns, `result.variant` what
   * `getVariant` returns (its fallback applied; frozen and shared), and `result.reason`
   * why (for `evaluate`, whose caller receives it, a deep-frozen copy). Writing to it
   * throws in strict code and never reaches the caller. Its return value is ignored.
   */
  afterEvaluation?(series: EvaluationSeriesContext, data: EvaluationSeriesData, result: EvaluationResult): EvaluationSeriesData | void;
}

const NO_HOOKS: readonly never[] = Object.freeze([]);

type Stage = 'beforeEvaluation' | 'afterEvaluation';
const NO_DATA: EvaluationSeriesData = Object.freeze({});

/** Whether `value` can be used as a hook. @internal */
export function isHook(value: unknown): value is Hook {
  if (value === null || typeof value !== 'object') return false;
  const h = value as Record<string, unknown>;
  const before = h.beforeEvaluation;
  const after = h.afterEvaluation;
  if (before !== undefined && typeof before !== 'function') return false;
  if (after !== undefined && typeof after !== 'function') return false;
  return typeof before === 'function' || typeof after === 'function';
}

/** How deep `frozenCopy` goes: a `Reason` is at most four levels deep. */
const MAX_DEPTH = 6;

/** A deep copy of plain data (objects and arrays), frozen at every level. For results. */
function frozenCopy<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return Object.freeze(value.map((v: unknown) => frozenCopy(v, depth + 1))) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = frozenCopy((value as Record<string, unknown>)[key], depth + 1);
  return Object.freeze(out) as T;
}

/**
 * What `afterEvaluation` sees of a result: a frozen copy. Its variant is frozen and shared
 * already; its reason is deep-copied for `evaluate` only, the one method whose caller
 * receives the reason (for `isEnabled` and `getVariant` the reason is built for this call
 * and reaches nobody else, and copying it would cost more than the evaluation).
 */
function resultView(result: EvaluationResult, method: EvaluationMethod): EvaluationResult {
  return Object.freeze({
    flag: result.flag,
    enabled: result.enabled,
    variant: result.variant,
    reason: method === 'evaluate' ? frozenCopy(result.reason) : result.reason,
  });
}

const EMPTY_CONTEXT: Context = Object.freeze({});

/**
 * What hooks see of a context: a frozen shallow copy, its `properties` copied and frozen
 * too (the rest of a context is scalars, or a `Date` for `currentTime`). Never throws.
 */
function contextView(context: Context): Context {
  try {
    const copy: Record<string, unknown> = { ...context };
    const properties = copy.properties;
    if (properties !== null && typeof properties === 'object') copy.properties = Object.freeze({ ...properties });
    return Object.freeze(copy) as Context;
  } catch {
    return EMPTY_CONTEXT;
  }
}

/** One `add`: removing it removes this registration only, even if the same hook was added twice. */
interface Registration {
  readonly hook: Hook;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : String(err).slice(0, 200);
}

/**
 * The client's hooks and the running of one evaluation series through them.
 * @internal
 */
export class HookRunner {
  /** Whether any hook is registered: the one check on the client's hot path. */
  active = false;
  /** Replaced whole on add and remove, so a call in progress keeps the list it started with. */
  private hooks: readonly Registration[] = NO_HOOKS;
  private readonly warn: WarnOnce;
  /** How many hook stages are running now: an evaluation started inside one runs no hooks. */
  private inHook = 0;
  /** Each hook object's id, for its warn-once keys (a position or a name may be shared). */
  private readonly ids = new WeakMap<Hook, number>();
  private nextId = 1;

  constructor(report: (message: string) => void) {
    this.warn = warnOnce(report);
  }

  /** Adds a hook; returns a function removing it. Not a hook: reported, ignored. */
  add(hook: unknown): () => void {
    if (!isHook(hook)) {
      this.warn('not-a-hook', 'addHook: a hook must be an object with a beforeEvaluation or afterEvaluation method; it was ignored');
      return () => undefined;
    }
    const registration: Registration = { hook };
    this.hooks = [...this.hooks, registration];
    this.active = true;
    return () => {
      this.hooks = this.hooks.filter((r) => r !== registration);
      this.active = this.hooks.length > 0;
    };
  }

  /**
   * Runs `evaluate` between the hooks' `beforeEvaluation` and `afterEvaluation`, and
   * returns its result unchanged whatever the hooks do: hooks see a frozen copy of
   * `context` (which `evaluate` must not read: it evaluates with the caller's own
   * context) and a frozen copy of the result. Inside a hook, only `evaluate` runs.
   */
  run(method: EvaluationMethod, flag: string, context: Context, evaluate: () => EvaluationResult): EvaluationResult {
    if (this.inHook > 0) return evaluate();
    const hooks = this.hooks;
    const series: EvaluationSeriesContext = { flag, context: contextView(context), method };
    // One hook (the common case) needs no array for its data.
    let only: EvaluationSeriesData = NO_DATA;
    const data: EvaluationSeriesData[] | undefined = hooks.length > 1 ? new Array<EvaluationSeriesData>(hooks.length) : undefined;
    this.inHook++;
    try {
      for (let i = 0; i < hooks.length; i++) {
        const hook = hooks[i]!.hook;
        let out: EvaluationSeriesData = NO_DATA;
        if (hook.beforeEvaluation !== undefined) {
          try {
            out = this.seriesData(hook, i, 'beforeEvaluation', hook.beforeEvaluation(series, NO_DATA));
          } catch (err) {
            this.failed(hook, i, 'beforeEvaluation', err);
          }
        }
        if (data === undefined) only = out;
        else data[i] = out;
      }
    } finally {
      this.inHook--;
    }
    const result = evaluate();
    let seen: EvaluationResult | undefined;
    this.inHook++;
    try {
      for (let i = hooks.length - 1; i >= 0; i--) {
        const hook = hooks[i]!.hook;
        if (hook.afterEvaluation === undefined) continue;
        seen ??= resultView(result, method);
        try {
          this.seriesData(hook, i, 'afterEvaluation', hook.afterEvaluation(series, data === undefined ? only : data[i]!, seen));
        } catch (err) {
          this.failed(hook, i, 'afterEvaluation', err);
        }
      }
    } finally {
      this.inHook--;
    }
    return result;
  }

  /** What a stage returned, as series data; a Promise is not awaited, but its rejection must not go unhandled. */
  private seriesData(hook: Hook, index: number, stage: Stage, out: unknown): EvaluationSeriesData {
    if (out === null || typeof out !== 'object') return NO_DATA;
    if (typeof (out as { then?: unknown }).then === 'function') {
      (out as Promise<unknown>).then(undefined, (err: unknown) => this.failed(hook, index, stage, err));
      return NO_DATA;
    }
    return out as EvaluationSeriesData;
  }

  /**
   * Reports a stage that threw (or rejected), once per hook object and stage: keyed by the
   * object's identity, since two hooks may share a name or, one after the other, a position.
   */
  private failed(hook: Hook, index: number, stage: Stage, err: unknown): void {
    let id = this.ids.get(hook);
    if (id === undefined) this.ids.set(hook, (id = this.nextId++));
    const label = typeof hook.name === 'string' && hook.name !== '' ? `hook "${hook.name.slice(0, 60)}"` : `hook #${index + 1}`;
    this.warn(`hook-threw:${id}:${stage}`, `${label} threw in ${stage} (${describe(err)}); the evaluation went on without it (reported once per hook and stage)`);
  }
}
