/**
 * IPv4/IPv6 addresses and CIDR ranges for IN_CIDR constraints and the remoteAddress
 * strategy, parsed once into 128-bit values held as four 32-bit words, so matching is a
 * few integer comparisons.
 *
 * The family rule: an IPv4 address is held as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`),
 * so the mapped address Node reports for an IPv4 client on a dual-stack socket is the same
 * value as the plain IPv4 address. Otherwise the families never cross: an IPv4 (or mapped)
 * address is in no IPv6 range, not even `::/0`, and an IPv6 address is in no IPv4 range,
 * as in Unleash's Rust core and the official Node SDK.
 *
 * What is an address: a dotted quad of decimal numbers 0–255 without leading zeros
 * (`010.0.0.1` is refused: some parsers read it as octal, the Rust core refuses it), or
 * IPv6 text as RFC 4291 writes it, with an optional dotted-quad tail, an optional zone id
 * (`fe80::1%eth0`, ignored) and optional brackets (`[::1]`). Whitespace around the text
 * is ignored.
 *
 * Why a scanner here rather than an address library: a request whose address the memo has
 * not seen parses it on the hot path, and `ipaddr.js` takes 1–1.5 µs per IPv6 address and
 * about 0.5 µs per strictly checked IPv4 one (regular expressions, `split`, intermediate
 * objects), ten times this scanner. Its grammar is also laxer than the rule above (octal,
 * hex and short IPv4 forms; `::ffff:010.0.0.1`; `::1.2.3.4` read as mapped), so it would
 * need gates anyway. The tests check this scanner against `ipaddr.js` and `node:net`.
 */

/** An address as four unsigned 32-bit words, most significant first. */
export type Address = [number, number, number, number];

/** A range: the masked network address, the prefix length in bits (0–128) and its family. */
export interface Cidr {
  readonly network: Address;
  readonly bits: number;
  /** An IPv4 range (written as IPv4, or as a mapped IPv6 range of at least 96 bits). */
  readonly v4: boolean;
}

/** Whether a character is one `String.prototype.trim` removes. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(String.fromCharCode(c)));
}

/**
 * The strict dotted quad `text[start, end)` as its 32-bit value; -1 for anything else.
 * Read without `split` or regular expressions.
 */
function dottedQuad(text: string, start: number, end: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // A second digit after a leading 0 (`010`): octal to some parsers, refused here.
      if (digits === 1 && part === 0) return -1;
      if (++digits > 3) return -1;
      part = part * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return value * 256 + part;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

// RFC 6874: a zone id is one or more unreserved characters.
function isZoneChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95 || c === 126;
}

// The 16-bit groups of the IPv6 address being read: parsing allocates only its result.
const groups = [0, 0, 0, 0, 0, 0, 0, 0];

/** The IPv6 address `text[start, end)` (RFC 4291 text, optional dotted-quad tail and zone id). */
function scanIPv6(text: string, start: number, end: number): Address | undefined {
  const percent = text.indexOf('%', start);
  if (percent >= 0 && percent < end) {
    if (percent === end - 1) return undefined;
    for (let i = percent + 1; i < end; i++) if (!isZoneChar(text.charCodeAt(i))) return undefined;
    end = percent;
  }
  let n = 0;
  // Where `::` stands among the groups; -1: none.
  let gap = -1;
  let i = start;
  if (i < end && text.charCodeAt(i) === 58) {
    if (i + 1 >= end || text.charCodeAt(i + 1) !== 58) return undefined;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    const from = i;
    let value = 0;
    let h: number;
    while (i < end && (h = hexDigit(text.charCodeAt(i))) >= 0) {
      if (i - from === 4) return undefined;
      value = value * 16 + h;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 46) {
      // A dotted-quad tail: the last 32 bits, and the end of the text. (The bounds checks
      // here and below keep `groups` at eight entries; the final count check alone would
      // refuse the same texts.)
      if (n > 6) return undefined;
      const v4 = dottedQuad(text, from, end);
      if (v4 < 0) return undefined;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (i === from || n === 8) return undefined;
    groups[n++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = n;
      i++;
    } else if (i === end) {
      return undefined;
    }
  }
  // `::` stands for at least one zero group.
  if (gap < 0 ? n !== 8 : n > 7) return undefined;
  if (gap >= 0) {
    // Move the groups after `::` to the end, zeros in between.
    const zeros = 8 - n;
    for (let k = n - 1; k >= gap; k--) groups[k + zeros] = groups[k]!;
    for (let k = gap; k < gap + zeros; k++) groups[k] = 0;
  }
  return [
    ((groups[0]! << 16) | groups[1]!) >>> 0,
    ((groups[2]! << 16) | groups[3]!) >>> 0,
    ((groups[4]! << 16) | groups[5]!) >>> 0,
    ((groups[6]! << 16) | groups[7]!) >>> 0,
  ];
}

/** The address `text[start, end)`, without surrounding whitespace. */
function scanAddress(text: string, start: number, end: number): Address | undefined {
  const v4 = dottedQuad(text, start, end);
  if (v4 >= 0) return [0, 0, 0xffff, v4];
  if (end - start > 2 && text.charCodeAt(start) === 91 && text.charCodeAt(end - 1) === 93) return scanIPv6(text, start + 1, end - 1);
  return scanIPv6(text, start, end);
}

/** Parses an IPv4 or IPv6 address (see the module comment); IPv4 becomes `::ffff:a.b.c.d`. */
export function parseAddress(text: string): Address | undefined {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return scanAddress(text, start, end);
}

/** Whether `address` is an IPv4 address (held as IPv4-mapped IPv6). */
function isV4(address: Address): boolean {
  return address[0] === 0 && address[1] === 0 && address[2] === 0xffff;
}

function maskWord(word: number, bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return word >>> 0;
  return (word & (~0 << (32 - bits))) >>> 0;
}

/**
 * Parses `a.b.c.d/n` (n ≤ 32), `x::y/n` (n ≤ 128) or a bare address (a /32 or /128
 * range). Host bits set in the address are ignored (`10.0.0.5/8` is `10.0.0.0/8`).
 */
export function parseCidr(text: string): Cidr | undefined {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addressEnd = slash >= 0 ? slash : t.length;
  const address = scanAddress(t, 0, addressEnd);
  if (!address) return undefined;
  const colon = t.indexOf(':');
  const writtenV4 = colon < 0 || colon > addressEnd;
  let bits = 128;
  if (slash >= 0) {
    const suffix = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(suffix)) return undefined;
    const n = Number(suffix);
    if (n > (writtenV4 ? 32 : 128)) return undefined;
    bits = writtenV4 ? n + 96 : n;
  }
  const network: Address = [
    maskWord(address[0], bits),
    maskWord(address[1], bits - 32),
    maskWord(address[2], bits - 64),
    maskWord(address[3], bits - 96),
  ];
  // A mapped IPv6 range is an IPv4 range, by the same rule as addresses. (The network is
  // mapped only with 96 bits or more: `::ffff:0:0/95` is an IPv6 range.)
  return { network, bits, v4: isV4(network) };
}

/** Whether `address` lies in `cidr`: same family, same leading `bits`. */
export function inCidr(address: Address, cidr: Cidr): boolean {
  const n = cidr.network;
  return inRange(address, n[0], n[1], n[2], n[3], cidr.bits, cidr.v4);
}

/** `inCidr` for a range given as its network's four words, its bits and its family. */
function inRange(address: Address, n0: number, n1: number, n2: number, n3: number, b: number, v4: boolean): boolean {
  if (isV4(address) !== v4) return false;
  return maskWord(address[0], b) === n0 && maskWord(address[1], b - 32) === n1 && maskWord(address[2], b - 64) === n2 && maskWord(address[3], b - 96) === n3;
}

/** Words per range in `AddressSet`'s `ranges`: the network's four, the bits, 1 for an IPv4 range. */
const RANGE_WORDS = 6;
/** What an AddressSet without single addresses, or without ranges, holds (never written). */
const NO_WORDS = new Uint32Array(0);

/**
 * The compiled list of an IN_CIDR constraint or a remoteAddress strategy: single addresses
 * (bare, /32 or /128) sorted in one typed array and found by bisection, so a list of
 * thousands of addresses costs a dozen comparisons rather than a scan; and the ranges,
 * scanned. Equal words mean the same address under the family rule, so `10.0.0.1` and
 * `::ffff:10.0.0.1` are one entry, and `2001:DB8::1` matches `2001:db8:0::1`.
 */
export class AddressSet {
  // Typed arrays rather than arrays of objects: a service holds a set per strategy or
  // constraint for its life, and one `Cidr` with its network array costs over 130 bytes.
  /** Single addresses, four words each, sorted. */
  private readonly exact: Uint32Array;
  /** Ranges, `RANGE_WORDS` words each, in the order given. */
  private readonly ranges: Uint32Array;

  /** Parses `entries`; each that is neither an address nor a range is skipped and given to `onInvalid`. */
  constructor(entries: Iterable<string>, onInvalid: (entry: string) => void) {
    const singles: Address[] = [];
    const ranges: Cidr[] = [];
    for (const entry of entries) {
      const range = parseCidr(entry);
      if (range === undefined) onInvalid(entry);
      else if (range.bits === 128) singles.push(range.network);
      else ranges.push(range);
    }
    singles.sort((a, b) => compareWords(a, b, 0));
    const exact = singles.length === 0 ? NO_WORDS : new Uint32Array(singles.length * 4);
    singles.forEach((a, i) => exact.set(a, i * 4));
    const words = ranges.length === 0 ? NO_WORDS : new Uint32Array(ranges.length * RANGE_WORDS);
    ranges.forEach((r, i) => {
      words.set(r.network, i * RANGE_WORDS);
      words[i * RANGE_WORDS + 4] = r.bits;
      words[i * RANGE_WORDS + 5] = r.v4 ? 1 : 0;
    });
    this.exact = exact;
    this.ranges = words;
  }

  /** How many entries were usable. */
  get size(): number {
    return this.exact.length / 4 + this.ranges.length / RANGE_WORDS;
  }

  /** Whether `address` is one of the single addresses or in one of the ranges. */
  has(address: Address): boolean {
    const exact = this.exact;
    let lo = 0;
    let hi = exact.length / 4 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const d = compareWords(address, exact, mid * 4);
      if (d === 0) return true;
      if (d > 0) lo = mid + 1;
      else hi = mid - 1;
    }
    const r = this.ranges;
    for (let at = 0; at < r.length; at += RANGE_WORDS) {
      if (inRange(address, r[at]!, r[at + 1]!, r[at + 2]!, r[at + 3]!, r[at + 4]!, r[at + 5] === 1)) return true;
    }
    return false;
  }
}

/** Orders `a` against the four words of `b` from `at`. */
function compareWords(a: Address, b: ArrayLike<number>, at: number): number {
  for (let i = 0; i < 4; i++) {
    const d = a[i]! - b[at + i]!;
    if (d !== 0) return d;
  }
  return 0;
}
