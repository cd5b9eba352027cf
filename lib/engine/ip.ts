/**
 * IPv4/IPv6 addresses and CIDR ranges, parsed once at compile time into 128-bit values
 * held as four 32-bit words (IPv4 as IPv4-mapped IPv6), so matching is a few integer ops.
 */

/** An address as four unsigned 32-bit words, most significant first. */
export type Address = [number, number, number, number];

/** A range: the masked network address and the prefix length in bits (0–128). */
export interface Cidr {
  readonly network: Address;
  readonly bits: number;
}

function parseIPv4Words(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value >>> 0;
}

function parseIPv6(text: string): Address | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length === 0) return undefined;
  let tailV4: number | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tailV4 = parseIPv4Words(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const words: Address = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  if (tailV4 !== undefined) words[3] = tailV4;
  return words;
}

/** Parses an IPv4 or IPv6 address; IPv4 becomes `::ffff:a.b.c.d`. */
export function parseAddress(text: string): Address | undefined {
  const t = text.trim();
  if (t.includes(':')) return parseIPv6(t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t);
  const v4 = parseIPv4Words(t);
  return v4 === undefined ? undefined : [0, 0, 0xffff, v4];
}

function maskWord(word: number, bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return word >>> 0;
  return (word & (~0 << (32 - bits))) >>> 0;
}

function maskAddress(address: Address, bits: number): Address {
  return [
    maskWord(address[0], bits),
    maskWord(address[1], bits - 32),
    maskWord(address[2], bits - 64),
    maskWord(address[3], bits - 96),
  ];
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128 range). */
export function parseCidr(text: string): Cidr | undefined {
  const t = text.trim();
  const slash = t.indexOf('/');
  const address = parseAddress(slash >= 0 ? t.slice(0, slash) : t);
  if (!address) return undefined;
  const isV4 = !t.slice(0, slash >= 0 ? slash : undefined).includes(':');
  let bits = 128;
  if (slash >= 0) {
    const suffix = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(suffix)) return undefined;
    const n = Number(suffix);
    if (n > (isV4 ? 32 : 128)) return undefined;
    bits = isV4 ? n + 96 : n;
  }
  return { network: maskAddress(address, bits), bits };
}

/** Whether `address` lies in `cidr`. */
export function inCidr(address: Address, cidr: Cidr): boolean {
  const n = cidr.network;
  const b = cidr.bits;
  return (
    maskWord(address[0], b) === n[0] &&
    maskWord(address[1], b - 32) === n[1] &&
    maskWord(address[2], b - 64) === n[2] &&
    maskWord(address[3], b - 96) === n[3]
  );
}
