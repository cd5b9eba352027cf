import type { Context, FeaturesPayload } from '../lib/types';

/** A seeded pseudo-random source (mulberry32). */
export interface Random {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(list: readonly T[]): T;
  chance(p: number): boolean;
  weighted(weights: Record<string, number>): string;
}
export function createRandom(seed: number): Random;
/** `count` flags and their segments, as a client-API body; the same seed gives the same body. */
export function generateFlags(count: number, seed?: number): FeaturesPayload;
/** `count` evaluation contexts; the same seed gives the same contexts. */
export function generateContexts(count: number, seed?: number): Context[];
