/**
 * The one warn-once helper. Problems are reported once per key: a stable name for the
 * problem (`custom-strategy-threw:<name>`, `no-data`), never the message text, which may
 * name a user or a value and would make every occurrence look new.
 */

/** Reports `message` unless a warning with the same `key` was reported before. */
export type WarnOnce = (key: string, message: string) => void;

/** Distinct keys remembered; past this the memory starts over (a flood of distinct problems is itself news). */
const MAX_KEYS = 1000;

/**
 * Wraps `sink` so each key reaches it once. A sink that throws is ignored: a broken
 * warning handler must not break compilation or evaluation.
 */
export function warnOnce(sink: ((message: string) => void) | undefined): WarnOnce {
  const seen = new Set<string>();
  return (key, message) => {
    if (seen.has(key)) return;
    if (seen.size >= MAX_KEYS) seen.clear();
    seen.add(key);
    if (sink === undefined) return;
    try {
      sink(message);
    } catch {
      // See above: never let a warning handler break the caller.
    }
  };
}
