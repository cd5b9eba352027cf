/**
 * Every flag's answer for one context, in the shape of the Unleash Frontend API's body
 * (`GET /api/frontend`), so a server can evaluate once and hand the result to a browser:
 * `unleash-proxy-client` (and the React SDK built on it) accept it as `bootstrap`, and
 * answer `isEnabled` and `getVariant` from it as this client does.
 */
import type { CompiledFlag } from './engine/flag';
import type { ToggleCounter } from './metrics';
import type { Context, Variant } from './types';

/**
 * One flag's answer in the Frontend API's shape.
 *
 * @group Client
 */
export interface FrontendToggle {
  /** The flag name. */
  name: string;
  /** Whether the flag is on for the context, as `isEnabled` answers. */
  enabled: boolean;
  /** The variant, as `getVariant` answers (without a fallback). Frozen and shared. */
  variant: Variant;
  /** Whether the flag asks for impression events (the browser SDK emits them too). */
  impressionData: boolean;
}

/**
 * The answers of every flag for one context (`client.getAllFlags`). `JSON.stringify` of it
 * is a Frontend API body: serve it to a browser, or pass `toggles` as the `bootstrap`
 * option of `unleash-proxy-client`.
 *
 * @group Client
 */
export interface AllFlags {
  /** One entry per flag, in the order the server sent them. */
  toggles: FrontendToggle[];
}

/**
 * Options of `client.getAllFlags`.
 *
 * @group Client
 */
export interface AllFlagsOptions {
  /**
   * Count each flag's answer in the usage metrics, as one `getVariant` call would (one yes
   * or no and one variant). Default false: answers computed to bootstrap a browser are not
   * evaluations the user saw (the browser SDK reports its own).
   */
  countMetrics?: boolean;
  /**
   * Only the flags that are on, as the Frontend API answers (a browser then never learns
   * the names of flags that are off; the browser SDK answers false for a flag it lacks).
   * Default false: every flag.
   */
  enabledOnly?: boolean;
}

/** What the client's flag table holds per flag. */
type Entry = ToggleCounter & { readonly flag: CompiledFlag };

/**
 * Evaluates every flag of `flags` for `ctx` (each one walk, as `getVariant`; dependency
 * parents count nothing). Never throws: a flag that fails to evaluate answers off.
 */
export function allFlagsOf(flags: ReadonlyMap<string, Entry>, ctx: Context, options: AllFlagsOptions | undefined, counting: boolean): AllFlags {
  const count = counting && options?.countMetrics === true;
  const enabledOnly = options?.enabledOnly === true;
  const toggles: FrontendToggle[] = [];
  for (const [name, entry] of flags) {
    const variant = entry.flag.getVariant(ctx);
    const enabled = variant.feature_enabled === true;
    if (count) {
      if (enabled) entry.yes++;
      else entry.no++;
      entry.variant(variant.name);
    }
    if (enabledOnly && !enabled) continue;
    toggles.push({ name, enabled, variant, impressionData: entry.flag.impressionData });
  }
  return { toggles };
}
