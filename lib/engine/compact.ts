/**
 * The compact form of definitions, shared by the payload door (lib/payload.ts), which
 * builds it while validating, and the engine, which keeps it: strings up to
 * `INTERN_LIMIT` characters shared through one table per body (`JSON.parse` gives every
 * occurrence its own string), empty lists one shared frozen array, every object built
 * with all its keys at once (its final shape, no out-of-object property store).
 *
 * A definition built in that form is marked (`markCompact`), so the engine takes it as
 * it is instead of copying it again: validation and compaction are one pass.
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

/** Marks a feature or segment definition built in compact form (see the file comment). Returns it. */
export function markCompact<T extends object>(definition: T): T {
  compact.add(definition);
  return definition;
}

/** Whether `definition` was built in compact form (`markCompact`). */
export function isCompact(definition: object): boolean {
  return compact.has(definition);
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
