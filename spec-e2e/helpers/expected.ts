/**
 * The expected outcome of Unleash's bucketing, computed independently of the library
 * (straight from MurmurHash3, as the Unleash client specification defines it), so a test
 * can state exactly which user gets what for flags the real server sends.
 */
import murmur from 'murmurhash3js-revisited';

const utf8 = new TextEncoder();

function hash(groupId: string, id: string, seed: number): number {
  return murmur.x86.hash32(utf8.encode(`${groupId}:${id}`), seed);
}

/** The 1–100 rollout bucket of `id` in `groupId`: enabled when it is <= the rollout. */
export function rolloutBucket(groupId: string, id: string): number {
  return (hash(groupId, id, 0) % 100) + 1;
}

/** Name of the weighted variant `id` gets in `groupId` (no overrides). */
export function expectedVariant(variants: { name: string; weight: number }[], groupId: string, id: string): string {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  const target = (hash(groupId, id, 86028157) % total) + 1;
  let reached = 0;
  for (const variant of variants) {
    if (variant.weight === 0) continue;
    reached += variant.weight;
    if (reached >= target) return variant.name;
  }
  throw new Error('unreachable: weights do not add up');
}
