/**
 * Unleash's bucketing hash: MurmurHash3 x86 32-bit over the UTF-8 bytes of
 * `"<groupId>:<value>"`.
 *
 * Written here rather than taken from `murmurhash3js-revisited` because the hash sits on
 * the hot path and the package costs more than everything else in an evaluation: it
 * wants a byte array per call (so a typed-array view per call) and, by default, checks
 * every byte of it first. Here the `"<groupId>:"` prefix is hashed once, at compile time:
 * its whole 4-byte blocks are folded into the state and its last 0–3 bytes carried. An
 * evaluation then feeds only the context value, straight from `charCodeAt` for ASCII
 * (through a reused scratch buffer for anything else), and allocates nothing. The test
 * vectors in spec/engine/hash.test.ts check it against the package bit for bit.
 */

/** Seed for rollout buckets. */
export const ROLLOUT_SEED = 0;
/** Seed Unleash uses for variant selection. */
export const VARIANT_SEED = 86028157;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Mixes one little-endian 4-byte block `k` into `h`. */
function mix(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Folds the 0–3 carried bytes and the total length into `h`, then finalises. */
function finish(h: number, carry: number, carried: number, length: number): number {
  if (carried > 0) {
    let k = Math.imul(carry, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // Signed: a uint32 above 2^31 is no small integer and would be boxed on return.
  return h | 0;
}

const utf8 = new TextEncoder();
let scratch = new Uint8Array(256);

/** The murmur state after some bytes: whole blocks folded in, the rest carried. */
interface State {
  h: number;
  carry: number;
  carried: number;
  length: number;
}

/** Feeds `bytes[0..count)` into `state` (mutated). */
function feedBytes(state: State, bytes: Uint8Array, count: number): void {
  let { h, carry, carried } = state;
  for (let i = 0; i < count; i++) {
    carry |= bytes[i]! << (carried << 3);
    if (++carried === 4) {
      h = mix(h, carry);
      carry = 0;
      carried = 0;
    }
  }
  state.h = h;
  state.carry = carry;
  state.carried = carried;
  state.length += count;
}

/** Encodes `text` (from `from`) as UTF-8 into the scratch buffer; returns the byte count. */
function encode(text: string, from: number): number {
  const rest = from === 0 ? text : text.slice(from);
  const needed = rest.length * 3;
  if (scratch.length < needed) {
    let size = scratch.length;
    while (size < needed) size *= 2;
    scratch = new Uint8Array(size);
  }
  return utf8.encodeInto(rest, scratch).written;
}

/**
 * A `"<groupId>:"` prefix hashed ahead for one seed: the murmur state after its bytes,
 * as three integers. Compiled rules and variant selectors embed these three numbers
 * rather than hold an object. Hashing a value with another seed still works (the
 * prefix is hashed again from `groupId`).
 */
export class HashPrefix {
  /** `h` after the prefix's whole 4-byte blocks. */
  readonly h: number;
  /** The prefix's last 0–3 bytes, little-endian. */
  readonly carry: number;
  /** `carried | length << 2`: how many bytes `carry` holds, and the prefix's byte length. */
  readonly tail: number;

  constructor(
    readonly groupId: string,
    /** The seed `h` was computed with. */
    readonly seed: number,
  ) {
    const state: State = { h: seed | 0, carry: 0, carried: 0, length: 0 };
    feedString(state, groupId);
    feedString(state, ':');
    this.h = state.h;
    this.carry = state.carry;
    this.tail = state.carried | (state.length << 2);
  }
}

/** Feeds the UTF-8 bytes of `text` into `state` (mutated); the slow, general path. */
function feedString(state: State, text: string): void {
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) break;
    state.carry |= c << (state.carried << 3);
    state.length++;
    if (++state.carried === 4) {
      state.h = mix(state.h, state.carry);
      state.carry = 0;
      state.carried = 0;
    }
  }
  if (i < text.length) {
    const count = encode(text, i); // may replace the scratch buffer: read it after
    feedBytes(state, scratch, count);
  }
}

/** Prepares `"<groupId>:"` for hashing with `seed` (rollouts by default). */
export function hashPrefix(groupId: string, seed: number = ROLLOUT_SEED): HashPrefix {
  return new HashPrefix(groupId, seed);
}

/** Continues a hash that stopped at a non-ASCII character of `value`. */
function hashRest(h: number, carry: number, carried: number, length: number, value: string, from: number): number {
  const state: State = { h, carry, carried, length };
  const count = encode(value, from); // may replace the scratch buffer: read it after
  feedBytes(state, scratch, count);
  return finish(state.h, state.carry, state.carried, state.length);
}

/**
 * Finishes the hash of a prefix state (`h`, `carry`, `tail` as in `HashPrefix`) followed
 * by `value`, as a *signed* 32-bit integer (`>>> 0` gives the usual unsigned hash):
 * returning the unsigned value would box half of all hashes into heap numbers.
 * Allocates nothing for ASCII values.
 */
export function hashAfter(h: number, carry: number, tail: number, value: string): number {
  let carried = tail & 3;
  const prefixLength = tail >>> 2;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return hashRest(h, carry, carried, prefixLength + i, value, i);
    carry |= c << (carried << 3);
    if (++carried === 4) {
      h = mix(h, carry);
      carry = 0;
      carried = 0;
    }
  }
  return finish(h, carry, carried, prefixLength + n);
}

/** MurmurHash3 x86 32 of `"<groupId>:<value>"` (UTF-8). Allocates nothing for ASCII values. */
export function hashOf(prefix: HashPrefix, value: string, seed: number): number {
  if (seed !== prefix.seed) prefix = new HashPrefix(prefix.groupId, seed);
  return hashAfter(prefix.h, prefix.carry, prefix.tail, value) >>> 0;
}

/** The 1–100 rollout bucket of `value` in the prefix's group. */
export function normalizedRollout(prefix: HashPrefix, value: string): number {
  return (hashOf(prefix, value, ROLLOUT_SEED) % 100) + 1;
}

/** The 1–`totalWeight` variant target of `value` in the prefix's group. */
export function variantTarget(prefix: HashPrefix, value: string, totalWeight: number): number {
  return (hashOf(prefix, value, VARIANT_SEED) % totalWeight) + 1;
}
