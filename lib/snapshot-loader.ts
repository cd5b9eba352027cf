/**
 * Makes payloads current, one at a time and in the order they arrive, without holding
 * the event loop for a large one. The client hands every payload (fetched, pushed, from
 * the cache) to `SnapshotLoader.load`:
 *
 * - a small payload with nothing ahead of it compiles at once, synchronously, as it
 *   always did (the fast path: no turn of the event loop is lost);
 * - a large one (a full payload of many flags, or a delta on top of many: it compiles the
 *   whole state again), or any payload arriving while another is still compiling, is queued and
 *   compiled in slices (`Engine.prepare`), yielding to the event loop between them; then
 *   the owner's work on the compiled snapshot (the client builds its flag table) runs in
 *   slices too. The engine keeps serving the old snapshot, and the owner its old table,
 *   until the new snapshot is committed and the owner's `commit` runs, in one step.
 *
 * Order: payloads are committed in arrival order, so an older one can never overtake a
 * newer one. A full payload supersedes every payload queued or compiling before it (it
 * replaces the whole state, so their results would be overwritten unseen): those are
 * dropped at their next slice and never committed. A delta never supersedes anything: it
 * applies to the state its predecessors leave.
 */
import type { Engine, PendingLoad, Snapshot } from './engine/engine';
import type { SliceControl } from './payload-slices';
import type { ClientPayload } from './types';

/**
 * Payloads whose compile handles more flags than this compile in slices: a full payload's
 * flags; for a delta, the flags it leaves (it is applied to the whole state, which is
 * compiled again) estimated as those served now plus those of its hydrations.
 */
export const SLICED_COMPILE_FLAGS = 2000;

/** How many flags compiling `payload` on top of `served` flags handles (see SLICED_COMPILE_FLAGS). */
function compileSize(payload: ClientPayload, served: number): number {
  if (payload.kind === 'full') return payload.features.length;
  let flags = served;
  for (const e of payload.events) if (e.type === 'hydration') flags += e.features.length;
  return flags;
}

/**
 * The owner's work on a compiled snapshot: `step` (in slices, like the compile, while the
 * old snapshot is still served) and `commit`, called in the same turn as the engine's
 * commit. On the fast path both run before `load` returns.
 */
export interface CommitWork {
  /** Works until `shouldYield()` answers true or the work is done; returns whether it is done. */
  step(shouldYield: () => boolean): boolean;
  /** Makes the snapshot current for the owner (called right after the engine's commit). */
  commit(): void;
}

const never = (): boolean => false;

interface Job {
  superseded: boolean;
  readonly full: boolean;
}

export class SnapshotLoader {
  private tail: Promise<void> | undefined;
  private queued: Job[] = [];

  constructor(
    private readonly engine: Engine,
    /** A fresh pacing for each sliced job. */
    private readonly control: () => SliceControl,
    /** Whether the owner has stopped (a queued job then ends without committing). */
    private readonly stopped: () => boolean,
  ) {}

  /** Whether a payload is compiling or queued. */
  get busy(): boolean {
    return this.tail !== undefined;
  }

  /**
   * Compiles `payload`, hands the compiled snapshot to `prepare` and runs the work it
   * returns, then makes the snapshot current and commits that work, in one step
   * (synchronously on the fast path). Returns `undefined` when done synchronously, else a
   * promise that settles once the payload is committed, superseded or failed; it never
   * rejects: a compile failure goes to `onError` (and the old snapshot stays).
   */
  load(payload: ClientPayload, prepare: (snapshot: Snapshot) => CommitWork, onError: (err: unknown) => void): Promise<void> | undefined {
    const full = payload.kind === 'full';
    if (this.tail === undefined && compileSize(payload, this.engine.snapshot.size) <= SLICED_COMPILE_FLAGS) {
      let work: CommitWork;
      let pending: PendingLoad;
      try {
        pending = this.engine.prepare(payload);
        pending.step(never);
        work = prepare(pending.compiled());
        work.step(never);
      } catch (err) {
        onError(err);
        return undefined;
      }
      pending.commit();
      work.commit();
      return undefined;
    }
    const job: Job = { superseded: false, full };
    if (full) for (const earlier of this.queued) earlier.superseded = true;
    this.queued.push(job);
    const run = (this.tail ?? Promise.resolve())
      .then(() => this.run(job, payload, prepare, onError))
      .finally(() => {
        this.queued = this.queued.filter((j) => j !== job);
        if (this.tail === run) this.tail = undefined;
      });
    this.tail = run;
    return run;
  }

  private async run(job: Job, payload: ClientPayload, prepare: (snapshot: Snapshot) => CommitWork, onError: (err: unknown) => void): Promise<void> {
    if (job.superseded || this.stopped()) return;
    try {
      const control = this.control();
      const pending = this.engine.prepare(payload);
      while (!pending.step(() => control.shouldYield())) {
        await control.pause();
        if (job.superseded || this.stopped()) return;
      }
      const work = prepare(pending.compiled());
      while (!work.step(() => control.shouldYield())) {
        await control.pause();
        if (job.superseded || this.stopped()) return;
      }
      pending.commit();
      work.commit();
    } catch (err) {
      onError(err);
    }
  }
}
