/**
 * Strategy contracts. Users extend `Strategy`; built-ins implement `BuiltinStrategy`,
 * which compiles a strategy's parameters once per payload into a `Rule`.
 *
 * A `Rule` is plain data (a kind code and its operands) read by one function,
 * `ruleHolds`, rather than a closure per strategy: a flag set holds thousands of
 * strategies, closures cost several times the memory of a small object, and one
 * monomorphic `switch` is cheaper to call than a megamorphic closure. User strategies
 * are the one kind that keeps a function.
 */
import { addressOf, readField } from '../lib/context';
import type { EvalEnv, Predicate } from '../lib/constraints';
import { hashAfter, hashPrefix } from '../lib/hash';
import { inCidr, type Cidr } from '../lib/ip';
import type { Context } from '../lib/types';

/**
 * Base class for user-defined strategies. Register an instance through the client's
 * `customStrategies` option; the engine checks the strategy's constraints and segments
 * before calling `isEnabled`, so it only decides on its own parameters.
 *
 * ```ts
 * class TeamStrategy extends Strategy {
 *   constructor() { super('team'); }
 *   isEnabled(parameters, context) {
 *     return parameters.teams.split(',').includes(String(context.properties?.team));
 *   }
 * }
 * ```
 */
export abstract class Strategy {
  /** @param name the strategy name flags refer to in Unleash. */
  constructor(readonly name: string) {}

  /**
   * Decides for one context. A thrown error counts as false and is reported once per
   * strategy; it never reaches the caller of `isEnabled`.
   */
  abstract isEnabled(parameters: Record<string, string>, context: Context): boolean;
}

/** Where a rollout strategy put a context, for explanations. */
export interface RolloutDetail {
  /** The stickiness used (`default` resolves to userId, sessionId or random). */
  stickiness: string;
  /** The context value that was hashed; absent for random rollouts or a missing field. */
  value?: string;
  /** The 1–100 bucket, or `undefined` when the context lacked the stickiness field. */
  bucket?: number;
  /** The rollout percentage; the strategy is on when `bucket <= threshold`. */
  threshold: number;
}

/** A strategy's parameters compiled for one flag, as explanations see them. */
export interface CompiledLogic {
  test: Predicate;
  /** For rollout strategies: the bucket computation, called by explanations only. */
  rollout?: (context: Context) => RolloutDetail;
}

/** What a strategy is compiled with. */
export interface CompileInput {
  parameters: Record<string, string>;
  flagName: string;
  env: EvalEnv;
}

/** A built-in strategy: a name and a compiler. */
export interface BuiltinStrategy {
  readonly name: string;
  compile(input: CompileInput): Rule;
}

/** Rule kinds. */
export const RuleKind = {
  /** Off. */
  NEVER: 0,
  /** On (constraints and segments still apply). */
  ALWAYS: 1,
  /** On when `context.userId` is in the IdList `data`. */
  USER_IDS: 2,
  /** Hash of userId, else sessionId, else a random bucket, against `threshold`. */
  DEFAULT_ROLLOUT: 3,
  /** Hash of context field `field` against `threshold`; off without the field. */
  FIELD_ROLLOUT: 4,
  /** A random bucket against `threshold`. */
  RANDOM_ROLLOUT: 5,
  /** `context.remoteAddress` is an entry, or in a range, of the AddressList `data`. */
  REMOTE_ADDRESS: 6,
  /** A user strategy: `data` is its predicate. */
  CUSTOM: 7,
} as const;

/**
 * A compiled strategy. Its `guard`, `variants` and `next` are set by the engine. Hashing
 * rollouts embed their `"<groupId>:"` prefix, hashed ahead (see `HashPrefix`), as three
 * numbers rather than an object: one object per strategy, whatever its kind.
 */
export class Rule {
  /** Constraints (own, then segments'), ANDed before the rule's own decision; null: none. */
  guard: readonly unknown[] | null = null;
  /** Strategy variants; undefined: none. */
  variants: unknown = undefined;
  /** The flag's next strategy. */
  next: Rule | null = null;
  /** Hashing rollouts: the murmur state after `"<groupId>:"` (see `HashPrefix`). */
  readonly h: number = 0;
  readonly carry: number = 0;
  readonly tail: number = 0;

  constructor(
    readonly kind: number,
    /** The rollout percentage, for rollout kinds. */
    readonly threshold: number = 0,
    /** FIELD_ROLLOUT: the context field hashed. */
    readonly field: string = '',
    /** USER_IDS: an IdList; REMOTE_ADDRESS: an AddressList; CUSTOM: the predicate. */
    readonly data: unknown = undefined,
    /** Hashing rollouts: the group their bucket is hashed in. */
    groupId?: string,
  ) {
    if (groupId !== undefined) {
      const prefix = hashPrefix(groupId);
      this.h = prefix.h;
      this.carry = prefix.carry;
      this.tail = prefix.tail;
    }
  }
}

/** The 1–100 bucket of `value` in a hashing rollout's group. */
function bucketOf(rule: Rule, value: string): number {
  return ((hashAfter(rule.h, rule.carry, rule.tail, value) >>> 0) % 100) + 1;
}

/** Parses a percentage parameter; anything unreadable is 0 (never on). */
export function percentage(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

/** Splits a comma-separated list parameter, trimming entries and dropping empty ones. */
export function listParameter(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The group a rollout hashes in: `groupId`, else the flag name. */
export function groupIdOf(parameters: Record<string, string>, flagName: string): string {
  const groupId = parameters.groupId;
  return groupId === undefined || groupId === '' ? flagName : groupId;
}

/** A 1–100 bucket from the injected random source. */
export function randomBucket(env: EvalEnv): number {
  return Math.floor(env.random() * 100) + 1;
}

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
 * A comma-separated list parameter (userWithId's `userIds`, remoteAddress's `IPs`)
 * indexed for lookups without copying it: the entries' places in the text, sorted by
 * entry, searched by bisection. Eight bytes per entry, where an array of the split
 * strings would take about forty (and a Set more), and some fifty nanoseconds per
 * lookup, where `indexOf` over the text takes hundreds. Answers exactly
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
    this.index = places;
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

/** The list of a remoteAddress strategy: exact entries, and those that parse as ranges. */
export class AddressList extends IdList {
  constructor(
    text: string,
    readonly ranges: readonly Cidr[],
  ) {
    super(text);
  }
}

/** The rule's own decision (constraints aside). May throw on a hostile context (callers guard). */
export function ruleHolds(rule: Rule, context: Context, env: EvalEnv): boolean {
  switch (rule.kind) {
    case RuleKind.ALWAYS:
      return true;
    case RuleKind.USER_IDS: {
      const id = context.userId;
      return typeof id === 'string' && (rule.data as IdList).has(id);
    }
    case RuleKind.DEFAULT_ROLLOUT: {
      const threshold = rule.threshold;
      if (threshold <= 0) return false;
      const { userId, sessionId } = context;
      if (typeof userId === 'string' && userId !== '') return bucketOf(rule, userId) <= threshold;
      if (typeof sessionId === 'string' && sessionId !== '') return bucketOf(rule, sessionId) <= threshold;
      return randomBucket(env) <= threshold;
    }
    case RuleKind.FIELD_ROLLOUT: {
      if (rule.threshold <= 0) return false;
      const value = readField(context, rule.field);
      return value !== undefined && bucketOf(rule, value) <= rule.threshold;
    }
    case RuleKind.RANDOM_ROLLOUT:
      return rule.threshold > 0 && randomBucket(env) <= rule.threshold;
    case RuleKind.REMOTE_ADDRESS: {
      const ip = context.remoteAddress;
      if (typeof ip !== 'string' || ip === '') return false;
      const list = rule.data as AddressList;
      if (list.has(ip)) return true;
      const ranges = list.ranges;
      if (ranges.length === 0) return false;
      const address = addressOf(ip);
      if (!address) return false;
      for (let i = 0; i < ranges.length; i++) if (inCidr(address, ranges[i]!)) return true;
      return false;
    }
    case RuleKind.CUSTOM:
      return (rule.data as Predicate)(context);
    default:
      return false;
  }
}

/** Where a rollout rule puts `context`, for explanations; `undefined` for other kinds. */
export function rolloutOf(rule: Rule, context: Context, env: EvalEnv): RolloutDetail | undefined {
  const threshold = rule.threshold;
  switch (rule.kind) {
    case RuleKind.DEFAULT_ROLLOUT: {
      const { userId, sessionId } = context;
      const [used, value] =
        typeof userId === 'string' && userId !== ''
          ? ['userId', userId]
          : typeof sessionId === 'string' && sessionId !== ''
            ? ['sessionId', sessionId]
            : ['random', undefined];
      return value === undefined
        ? { stickiness: `default→${used}`, bucket: randomBucket(env), threshold }
        : { stickiness: `default→${used}`, value, bucket: bucketOf(rule, value), threshold };
    }
    case RuleKind.FIELD_ROLLOUT: {
      const value = readField(context, rule.field);
      return value === undefined
        ? { stickiness: rule.field, threshold }
        : { stickiness: rule.field, value, bucket: bucketOf(rule, value), threshold };
    }
    case RuleKind.RANDOM_ROLLOUT:
      return { stickiness: 'random', bucket: randomBucket(env), threshold };
    default:
      return undefined;
  }
}

/** The explanation view of a rule: a predicate and, for rollouts, the bucket detail. */
export function logicOf(rule: Rule, env: EvalEnv): CompiledLogic {
  const test: Predicate = (context) => ruleHolds(rule, context, env);
  const isRollout = rule.kind === RuleKind.DEFAULT_ROLLOUT || rule.kind === RuleKind.FIELD_ROLLOUT || rule.kind === RuleKind.RANDOM_ROLLOUT;
  return isRollout ? { test, rollout: (context) => rolloutOf(rule, context, env)! } : { test };
}
