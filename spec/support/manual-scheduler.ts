/**
 * A `Scheduler` whose time moves only when a test says so. Timers never fire by
 * themselves: a test awaits the next one (`next(label)`), checks its delay, and fires it.
 * Backoff, jitter and intervals are thereby tested exactly, without sleeping.
 */
import type { Scheduler, TimerHandle } from '../../lib/scheduler';

/** A timer the code under test set. */
export interface ManualTimer {
  readonly id: number;
  readonly label: string;
  /** The delay it was set with. */
  readonly delay: number;
  /** When it is due, on the scheduler's clock. */
  readonly due: number;
}

interface Entry extends ManualTimer {
  fn: () => void;
}

export class ManualScheduler implements Scheduler {
  /** The value `random()` returns; 0.5 means "no jitter". */
  randomValue = 0.5;
  private time: number;
  private seq = 0;
  private timers: Entry[] = [];
  private waiters: { label?: string; resolve: (timer: ManualTimer) => void }[] = [];

  constructor(start = Date.parse('2024-05-01T12:00:00.000Z')) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  random(): number {
    return this.randomValue;
  }

  setTimeout(fn: () => void, ms: number, label: string): TimerHandle {
    const entry: Entry = { id: ++this.seq, label, delay: ms, due: this.time + ms, fn };
    this.timers.push(entry);
    const waiting = this.waiters.filter((w) => w.label === undefined || w.label === label);
    this.waiters = this.waiters.filter((w) => !waiting.includes(w));
    for (const w of waiting) w.resolve(entry);
    return entry.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet fired nor cleared, optionally only those with `label`. */
  pending(label?: string): ManualTimer[] {
    return this.timers.filter((t) => label === undefined || t.label === label);
  }

  /** Resolves with the earliest pending timer (with `label`), waiting for one to be set. */
  next(label?: string): Promise<ManualTimer> {
    const now = this.pending(label).sort((a, b) => a.due - b.due || a.id - b.id)[0];
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => this.waiters.push({ label, resolve }));
  }

  /** Moves the clock forward by `ms` without firing anything (time passing between events). */
  advance(ms: number): void {
    this.time += ms;
  }

  /** Moves the clock to the timer's due time (never backwards) and runs it. */
  fire(timer: ManualTimer): void {
    const entry = this.timers.find((t) => t.id === timer.id);
    if (!entry) throw new Error(`timer ${timer.id} (${timer.label}) is no longer pending`);
    this.timers = this.timers.filter((t) => t !== entry);
    this.time = Math.max(this.time, entry.due);
    entry.fn();
  }

  /** Waits for the next timer with `label`, fires it and returns it. */
  async fireNext(label?: string): Promise<ManualTimer> {
    const timer = await this.next(label);
    this.fire(timer);
    return timer;
  }
}
