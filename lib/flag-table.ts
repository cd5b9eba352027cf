/**
 * The client's flag table: one entry per served flag, holding the compiled flag and its
 * usage counts (metrics reads the counts from the table at each report).
 *
 * A new table is built in steps (`TableBuild.step`), so that a large payload (50,000
 * flags) does not hold the event loop while its entries are made, and is made current in
 * one short step (`TableBuild.finish`) together with the engine's snapshot. Evaluations
 * keep counting on the old entries while the new table is built; `finish` moves every
 * count the old table holds then into the new one, so no count is lost or doubled.
 */
import type { Snapshot } from './engine/engine';
import type { CompiledFlag } from './engine/flag';
import { ToggleCounter, type MetricsStore } from './metrics';

/** One flag the client serves: the compiled flag and its usage counts, found by one lookup. */
export class FlagEntry extends ToggleCounter {
  constructor(readonly flag: CompiledFlag) {
    super();
  }
}

/** The table before any flags arrive. */
export const NO_FLAGS: ReadonlyMap<string, FlagEntry> = new Map();

/**
 * Builds the table for `snapshot` from the table served now (`old`). `step` makes entries
 * until `shouldYield()` answers true (asked after each one) and returns whether the work
 * is done; `finish` then carries the counts over and returns the new table, which the
 * caller must make current at once (in the same turn of the event loop).
 */
export class TableBuild {
  private readonly flags: readonly CompiledFlag[];
  private readonly table = new Map<string, FlagEntry>();
  /** For each flag also served now, in build order: its old entry, then its new one. */
  private readonly carried: FlagEntry[] = [];
  /** Old entries of flags the new table drops. */
  private readonly dropped: [string, FlagEntry][] = [];
  private at = 0;
  private oldNames: IterableIterator<[string, FlagEntry]> | undefined;

  constructor(
    snapshot: Snapshot,
    private readonly old: ReadonlyMap<string, FlagEntry>,
    private readonly store: MetricsStore,
  ) {
    this.flags = snapshot.compiledFlags();
  }

  /** Makes entries until `shouldYield()` answers true or the table is built; returns whether it is built. */
  step(shouldYield: () => boolean): boolean {
    while (this.at < this.flags.length) {
      const flag = this.flags[this.at++]!;
      const name = flag.name;
      const entry = new FlagEntry(flag);
      this.table.set(name, entry);
      const previous = this.old.get(name);
      if (previous !== undefined) this.carried.push(previous, entry);
      if (shouldYield()) return false;
    }
    this.oldNames ??= this.old.entries();
    for (let next = this.oldNames.next(); next.done !== true; next = this.oldNames.next()) {
      const [name, entry] = next.value;
      if (!this.table.has(name)) this.dropped.push([name, entry]);
      if (shouldYield()) return false;
    }
    return true;
  }

  /**
   * Moves the counts recorded so far into the new table: from each flag's old entry (its
   * evaluations until now, including those made while the table was built) and from the
   * store (a flag counted while unknown, or dropped earlier and now served again); the
   * dropped flags' counts go to the store. Throws `Error` before `step` is done.
   */
  finish(): ReadonlyMap<string, FlagEntry> {
    if (this.oldNames === undefined || this.oldNames.next().done !== true) throw new Error('TableBuild: finish() before the build was done');
    const carried = this.carried;
    for (let i = 0; i < carried.length; i += 2) {
      const previous = carried[i]!;
      if (previous.counted) carried[i + 1]!.absorb(previous);
    }
    this.store.adoptServed(this.table);
    for (const [name, entry] of this.dropped) this.store.keep(name, entry);
    return this.table;
  }
}
