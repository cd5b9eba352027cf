/**
 * The compact form of definitions, shared by the payload door (lib/payload.ts), which
 * builds it while validating, and the engine, which keeps it: strings up to
 * `INTERN_LIMIT` characters shared through one table per body (`JSON.parse` gives every
 * occurrence its own string), empty lists one shared frozen array, every object built
 * with all its keys at once (its final shape, no out-of-object property store).
 *
 * Definitions built in that form are marked (a full body's list with `markCompactList`, a
 * delta's or a segment with `markCompact`), so the engine takes them as they are instead
 * of copying them again: validation and compaction are one pass. A flag the engine checks
 * itself is known compact by its own `CompiledFlag`, with no mark.
 */

/** Longer strings (id lists, JSON payloads, descriptions) rarely repeat; hashing them is not worth it. */
export const INTERN_LIMIT = 64;

/** The one empty list of compact definitions (frozen). */
export const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Strings this short are shared already: V8's `JSON.parse` internalizes every string value
 * of up to 10 characters (and every property name), so a table lookup would only cost
 * time (measured on Node 20: a 10-character value repeated in a parsed list takes no
 * memory of its own, an 11-character one 32 bytes per occurrence).
 */
const SHARED_BY_PARSER = 10;

/** One table of shared strings (see the file comment). */
export class Interner {
  private readonly strings = new Map<string, string>();

  str<T extends string | undefined | null>(s: T): T {
    if (typeof s !== 'string' || s.length <= SHARED_BY_PARSER || s.length > INTERN_LIMIT) return s;
    const known = this.strings.get(s);
    if (known !== undefined) return known as T;
    this.strings.set(s, s);
    return s;
  }
}

const compact = new WeakSet<object>();

/**
 * Marks one feature or segment definition built in compact form (see the file comment):
 * a delta's, a segment. Returns it. The flags of a full body are marked by their list
 * instead (`markCompactList`).
 */
export function markCompact<T extends object>(definition: T): T {
  compact.add(definition);
  return definition;
}

/** Whether `definition` was marked compact by itself (`markCompact`). */
export function isCompact(definition: object): boolean {
  return compact.has(definition);
}

const compactLists = new WeakSet<object>();

/**
 * Marks a list of flag definitions each of which is compact (and frozen) or deferred (the
 * payload door's, a snapshot's `toPayload()`), so the engine takes them as they are. One
 * mark per list, not per flag: a weak table entry per flag costs about 36 bytes for as long
 * as the flag lives (measured: 0.36 MB per 10,000 flags, 3% of a client's heap). The list
 * stays the caller's: the engine takes as they are only its frozen items, so an object
 * pushed into it later is compacted like any other. Returns it.
 */
export function markCompactList<T extends readonly object[]>(list: T): T {
  compactLists.add(list);
  return list;
}

/** Whether every item of `list` is compact or deferred (`markCompactList`). */
export function isCompactList(list: readonly object[]): boolean {
  return compactLists.has(list);
}

const deferred = new WeakSet<object>();

/**
 * Marks one flag of a validated body whose contents were left as the server sent them:
 * the payload door checked that it is an object with a usable name, and the engine checks
 * and compacts the rest (`parseFeature`) when the flag is first needed (its first
 * evaluation, `getFlags`, a reason). Loading a large body then costs a parse and an index,
 * not a copy of every flag. Returns it.
 */
export function markDeferred<T extends object>(definition: T): T {
  deferred.add(definition);
  return definition;
}

/** Whether `definition` is a flag left unchecked by the payload door (`markDeferred`). */
export function isDeferred(definition: object): boolean {
  return deferred.has(definition);
}
