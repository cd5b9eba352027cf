/**
 * Comma-separated list parameters (userWithId's `userIds`) indexed for lookups without
 * copying the text.
 */
const WHITESPACE = /\s/;

/** Whether a character is one `String.prototype.trim` removes. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && WHITESPACE.test(String.fromCharCode(c)));
}

/**
 * Whether `id` is an entry of the comma-separated `list` (entries trimmed, empty ones
 * dropped): exactly `listParameter(list).includes(id)`, searched in the text itself.
 * The slow path of `IdList`, for lists too long to index.
 */
export function listContains(list: string, id: string): boolean {
  const n = id.length;
  if (n === 0 || isSpace(id.charCodeAt(0)) || isSpace(id.charCodeAt(n - 1)) || id.includes(',')) return false;
  let from = 0;
  for (;;) {
    const i = list.indexOf(id, from);
    if (i < 0) return false;
    let left = i - 1;
    while (left >= 0 && isSpace(list.charCodeAt(left))) left--;
    if (left < 0 || list.charCodeAt(left) === 44) {
      let right = i + n;
      while (right < list.length && isSpace(list.charCodeAt(right))) right++;
      if (right >= list.length || list.charCodeAt(right) === 44) return true;
    }
    from = i + 1;
  }
}

// An entry's place in the list text, packed in one small integer: offset << 12 | length.
const LENGTH_BITS = 12;
const MAX_LENGTH = (1 << LENGTH_BITS) - 1;
const MAX_OFFSET = (1 << (31 - LENGTH_BITS)) - 1;

/** Compares `id` with the entry of `text` at `packed`, as `<` orders strings. */
function compareEntry(id: string, text: string, packed: number): number {
  const offset = packed >>> LENGTH_BITS;
  const length = packed & MAX_LENGTH;
  const n = Math.min(id.length, length);
  for (let i = 0; i < n; i++) {
    const d = id.charCodeAt(i) - text.charCodeAt(offset + i);
    if (d !== 0) return d;
  }
  return id.length - length;
}

/**
 * A comma-separated list parameter (userWithId's `userIds`) indexed for lookups without
 * copying it: the entries' places in the text, sorted by entry, searched by bisection.
 * Eight bytes per entry, where an array of the split strings would take about forty (and
 * a Set more), and some fifty nanoseconds per lookup, where `indexOf` over the text takes
 * hundreds. Answers exactly
 * `listParameter(text).includes(id)`.
 */
export class IdList {
  /** Packed entry places, sorted by entry; null when the text is too long to index. */
  private readonly index: readonly number[] | null;

  constructor(readonly text: string) {
    const places: number[] = [];
    let start = 0;
    for (let i = 0; i <= text.length; i++) {
      if (i < text.length && text.charCodeAt(i) !== 44) continue;
      let a = start;
      let b = i;
      while (a < b && isSpace(text.charCodeAt(a))) a++;
      while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
      start = i + 1;
      if (b === a) continue;
      if (a > MAX_OFFSET || b - a > MAX_LENGTH) {
        this.index = null;
        return;
      }
      places.push((a << LENGTH_BITS) | (b - a));
    }
    places.sort((x, y) => {
      const entry = text.slice(x >>> LENGTH_BITS, (x >>> LENGTH_BITS) + (x & MAX_LENGTH));
      return compareEntry(entry, text, y);
    });
    // A copy of exactly its length: the array `push` grew keeps room for more.
    this.index = places.slice();
  }

  /** Whether `id` is one of the list's entries. */
  has(id: string): boolean {
    const index = this.index;
    if (index === null) return listContains(this.text, id);
    let lo = 0;
    let hi = index.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const d = compareEntry(id, this.text, index[mid]!);
      if (d === 0) return true;
      if (d > 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}
