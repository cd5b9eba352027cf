import type { Context } from '../lib/types';
import type { Target } from './systems.mjs';

export interface Digest {
  perFlag: [number, number][];
  enabledCount: number;
  variantCount: number;
  pairs: number;
}
export function digestAnswers(target: Target, names: readonly string[], contexts: readonly Context[]): Digest;
export function digestOf(perFlag: readonly (readonly [number, number])[]): string;
export function answersFor(target: Target, name: string, contexts: readonly Context[]): string[];
