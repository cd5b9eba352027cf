/**
 * The clock, timers and randomness the client runs on. Everything time-based in the client
 * (polling, backoff, jitter, metrics buckets, start-up deadline) goes through one
 * `Scheduler`, so tests can swap in a manual one and check delays without sleeping.
 */

/** A pending timer, as returned by `Scheduler.setTimeout`. Opaque to the client. */
export type TimerHandle = unknown;

/**
 * What the client needs from time. The default uses the system clock and `unref()`ed
 * timers, so a client never keeps a process alive. Injecting another one is for tests.
 */
export interface Scheduler {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Runs `fn` once after `ms` milliseconds. `label` names the timer's job (`fetch`,
   * `metrics`, `deadline`, `timeout`) for schedulers that want to tell them apart.
   */
  setTimeout(fn: () => void, ms: number, label: string): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
  /** A number in [0, 1), for jitter. */
  random(): number;
}

/**
 * The longest delay a Node timer can hold (2^31 - 1 ms, about 24.8 days): Node fires a timer
 * set for longer after 1 ms, with a `TimeoutOverflowWarning`.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * `ms` as a delay a timer can hold: cut to `MAX_TIMER_DELAY`, and 0 for a negative or
 * non-number delay. Every timer the client sets goes through it (a waiting time of weeks is
 * better served late than at once).
 */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(MAX_TIMER_DELAY, ms);
}

/** The real clock: `Date.now`, `Math.random` and `unref()`ed Node timers. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    // A last guard: every caller clamps already, but an overflowing timer fires at once.
    const timer = setTimeout(fn, timerDelay(ms));
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
  random: () => Math.random(),
};

/**
 * Resolves after `ms` on `scheduler`, or never if cancelled. Returns the promise and a
 * cancel function, so callers can race it without leaving a timer behind.
 */
export function delay(scheduler: Scheduler, ms: number, label: string): { promise: Promise<void>; cancel: () => void } {
  let handle: TimerHandle | undefined;
  const promise = new Promise<void>((resolve) => {
    handle = scheduler.setTimeout(resolve, timerDelay(ms), label);
  });
  return {
    promise,
    cancel: () => {
      if (handle !== undefined) scheduler.clearTimeout(handle);
      handle = undefined;
    },
  };
}

/**
 * Spreads `ms` by ±`fraction` (default 10 %) so a fleet of clients started together does
 * not poll in lockstep. `random` 0.5 gives exactly `ms`.
 */
export function withJitter(ms: number, random: number, fraction = 0.1): number {
  return Math.max(0, Math.round(ms * (1 + fraction * (2 * random - 1))));
}
