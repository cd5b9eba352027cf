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
 * Cost: with no hook the client's hot path checks one boolean and nothing else; with
 * hooks, each call is one `evaluate` walk (the answer and its reason from the same walk,
 * so `isEnabled` and `getVariant` answer exactly as without hooks) plus the hooks' own work.
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
 * What a hook is told about the call it runs around. The same object is passed to the
 * hook's `beforeEvaluation` and `afterEvaluation` of one call; do not mutate it.
 *
 * @group Hooks
 */
export interface EvaluationSeriesContext {
  /** The flag name asked about. */
  readonly flag: string;
  /**
   * The context as the caller passed it (not copied: do not mutate it), or the client's
   * default context `{ appName, environment }` for a call without one.
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
  /** Names the hook in the warning reported when it throws. Default: its position (`hook #1`). */
  readonly name?: string;
  /** Called before the flag is evaluated. May return data for this hook's `afterEvaluation`. */
  beforeEvaluation?(series: EvaluationSeriesContext, data: EvaluationSeriesData): EvaluationSeriesData | void;
  /**
   * Called after the flag was evaluated and counted, with the answer the caller receives:
   * `result.enabled` is what `isEnabled` returns, `result.variant` what `getVariant`
   * returns (its fallback applied), and `result.reason` why. Its return value is ignored.
   */
  afterEvaluation?(series: EvaluationSeriesContext, data: EvaluationSeriesData, result: EvaluationResult): EvaluationSeriesData | void;
}

const NO_HOOKS: readonly Hook[] = Object.freeze([]);

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
  private hooks: readonly Hook[] = NO_HOOKS;
  private readonly warn: WarnOnce;

  constructor(report: (message: string) => void) {
    this.warn = warnOnce(report);
  }

  /** Adds a hook; returns a function removing it. Not a hook: reported, ignored. */
  add(hook: unknown): () => void {
    if (!isHook(hook)) {
      this.warn('not-a-hook', 'addHook: a hook must be an object with a beforeEvaluation or afterEvaluation method; it was ignored');
      return () => undefined;
    }
    this.hooks = [...this.hooks, hook];
    this.active = true;
    return () => {
      this.hooks = this.hooks.filter((h) => h !== hook);
      this.active = this.hooks.length > 0;
    };
  }

  /**
   * Runs `evaluate` between the hooks' `beforeEvaluation` and `afterEvaluation`, and
   * returns its result unchanged whatever the hooks do.
   */
  run(method: EvaluationMethod, flag: string, context: Context, evaluate: () => EvaluationResult): EvaluationResult {
    const hooks = this.hooks;
    const series: EvaluationSeriesContext = { flag, context, method };
    // One hook (the common case) needs no array for its data.
    let only: EvaluationSeriesData = NO_DATA;
    const data: EvaluationSeriesData[] | undefined = hooks.length > 1 ? new Array<EvaluationSeriesData>(hooks.length) : undefined;
    for (let i = 0; i < hooks.length; i++) {
      const hook = hooks[i]!;
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
    const result = evaluate();
    for (let i = hooks.length - 1; i >= 0; i--) {
      const hook = hooks[i]!;
      if (hook.afterEvaluation === undefined) continue;
      try {
        this.seriesData(hook, i, 'afterEvaluation', hook.afterEvaluation(series, data === undefined ? only : data[i]!, result));
      } catch (err) {
        this.failed(hook, i, 'afterEvaluation', err);
      }
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

  /** Reports a stage that threw (or rejected), once per hook and stage. */
  private failed(hook: Hook, index: number, stage: Stage, err: unknown): void {
    const label = typeof hook.name === 'string' && hook.name !== '' ? `hook "${hook.name.slice(0, 60)}"` : `hook #${index + 1}`;
    this.warn(`hook-threw:${label}:${stage}`, `${label} threw in ${stage} (${describe(err)}); the evaluation went on without it (reported once per hook and stage)`);
  }
}
