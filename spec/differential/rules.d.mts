import type { Context } from '../../lib/types';
import type { Query, WireBody } from './generator.mjs';

/** One SDK's answer: the value, or what it threw; and how many random numbers it drew. */
export interface Answer {
  value?: unknown;
  threw?: string;
  draws: number;
}
/** A question put to both SDKs, and their answers. */
export interface Pair {
  kind: 'isEnabled' | 'getVariant';
  name: string;
  body: WireBody;
  context: Context;
  query: Query;
  ours: Answer;
  theirs: Answer;
}
/** A known difference: when it applies, and how to take its quirk out of the inputs. */
export interface Rule {
  id: string;
  reason: string;
  applies(c: Pair): boolean;
  /** Edits `c.body`, `c.context`, `c.name` or `c.query` (a copy) so the quirk cannot arise. */
  neutralize?(c: Pair): void;
}
export const rules: Rule[];
/** The rules judged from the answers alone. */
export const observations: Rule[];
/** The rules confirmed by neutralising their quirk and asking again. */
export const neutralizable: Rule[];
