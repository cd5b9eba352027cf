/**
 * Polls a condition until it holds or a deadline passes. A real server applies changes
 * with a delay, so tests wait for the observable outcome instead of sleeping.
 */

export interface WaitOptions {
  /** What is awaited, for the timeout message. */
  what: string;
  /** Milliseconds before giving up. Default 15 000. */
  timeout?: number;
  /** Milliseconds between probes. Default 100. */
  interval?: number;
}

/** `T` without its falsy members: what `waitFor` resolves with. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Resolves with the probe's first truthy result; a throwing probe counts as not yet. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  { what, timeout = 15_000, interval = 100 }: WaitOptions,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Truthy<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
