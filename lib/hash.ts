/**
 * Unleash's bucketing hash: MurmurHash3 x86 32-bit over the UTF-8 bytes of
 * `"<groupId>:<value>"`. The group prefix is encoded once per strategy at compile time;
 * only the context value is encoded per evaluation, into a reused scratch buffer.
 */
import murmur from 'murmurhash3js-revisited';

/** Seed for rollout buckets. */
export const ROLLOUT_SEED = 0;
/** Seed Unleash uses for variant selection. */
export const VARIANT_SEED = 86028157;

const utf8 = new TextEncoder();
let scratch = new Uint8Array(256);

function ensure(capacity: number): void {
  if (scratch.length < capacity) {
    let size = scratch.length;
    while (size < capacity) size *= 2;
    scratch = new Uint8Array(size);
  }
}

/** A prepared `"<groupId>:"` prefix. */
export interface HashPrefix {
  readonly bytes: Uint8Array;
  readonly text: string;
}

export function hashPrefix(groupId: string): HashPrefix {
  const text = `${groupId}:`;
  return { bytes: utf8.encode(text), text };
}

/** Writes the UTF-8 bytes of `value` after `prefix` in the scratch buffer; returns the length. */
function encode(prefix: HashPrefix, value: string): number {
  const p = prefix.bytes;
  const maxLength = p.length + value.length * 3;
  ensure(maxLength);
  const buf = scratch;
  buf.set(p, 0);
  let pos = p.length;
  // ASCII fast path: most ids are ASCII, and encodeInto would cost a subarray view.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) {
      const written = utf8.encodeInto(value.slice(i), buf.subarray(pos)).written;
      return pos + written;
    }
    buf[pos++] = c;
  }
  return pos;
}

/** MurmurHash3 x86 32 of `"<groupId>:<value>"` (UTF-8). */
export function hashOf(prefix: HashPrefix, value: string, seed: number): number {
  const length = encode(prefix, value);
  return murmur.x86.hash32(scratch.subarray(0, length), seed);
}

/** The 1–100 rollout bucket of `value` in the prefix's group. */
export function normalizedRollout(prefix: HashPrefix, value: string): number {
  return (hashOf(prefix, value, ROLLOUT_SEED) % 100) + 1;
}

/** The 1–`totalWeight` variant target of `value` in the prefix's group. */
export function variantTarget(prefix: HashPrefix, value: string, totalWeight: number): number {
  return (hashOf(prefix, value, VARIANT_SEED) % totalWeight) + 1;
}
