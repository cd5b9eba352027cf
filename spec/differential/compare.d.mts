import type { Context } from '../../lib/types';
import type { Pair } from './rules.mjs';

/** An unexplained difference: as found, and shrunk for its report. */
export interface Difference {
  seed: number;
  note?: string;
  original: Pair;
  shrunk: Pair;
}
/** Counts of a run. */
export interface Totals {
  seeds: number;
  pairs: number;
  agreed: number;
  /** Pairs explained, under the first rule each needed. */
  excluded: Record<string, number>;
  /** Pairs each rule took part in explaining. */
  involved: Record<string, number>;
  unexplained: number;
  examples: Difference[];
}
export interface RunOptions {
  flags?: number;
  contexts?: number;
  maxExamples?: number;
  onSeed?: (seed: number, totals: Totals) => void;
}
/** switchyard's main and engine entries together (`dist/index.js` and `dist/engine.js`, or the sources). */
export type SwitchyardModules = Record<string, unknown>;
export function runSeed(switchyard: SwitchyardModules, seed: number, options?: RunOptions): Promise<Totals>;
export function runSeeds(switchyard: SwitchyardModules, seeds: readonly number[], options?: RunOptions): Promise<Totals>;
export function unusedRules(totals: Totals): string[];
export function formatTotals(totals: Totals): string;
export function formatDifference(difference: Difference): string;
export function showValue(value: unknown): string;
/** Inverts the official SDK's flag evaluation for contexts `when` accepts; returns `restore`. */
export function plantOfficialDefect(when: (context: Context | undefined) => boolean): () => void;
