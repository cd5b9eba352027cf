/**
 * Constraint compilation. Every constraint is turned, once per payload, into a
 * `CompiledConstraint`: an
 * operator code and its pre-parsed operand (a list or set, a number, epoch milliseconds,
 * a semver object, an RE2 program, CIDR ranges), so evaluation never parses flag data.
 *
 * A `CompiledConstraint` is plain data read by one function, `constraintHolds`, rather than a closure per
 * constraint: a flag set holds thousands of constraints, and a closure with its context
 * costs several times the memory of a small object, while the single `switch` is
 * monomorphic and inlinable where it is called.
 *
 * Semantics follow the Unleash client specification: an unknown operator or an unusable
 * constraint value makes the constraint false whatever `inverted` says; `inverted`
 * negates the operator's answer otherwise.
 */
// Subpaths and the mini class: the package roots load hundreds of modules, and UTCDate
// builds Intl formatters when imported, which together cost a fresh process tens of
// milliseconds before its first flag (only getTime() of the result is ever read).
import { UTCDateMini } from '@date-fns/utc/date/mini';
import { parseISO } from 'date-fns/parseISO';
import { RE2JS } from 're2js';
// parse only: semver's root requires its every module (ranges, comparators) on import.
import parseSemverText from 'semver/functions/parse.js';
import type { SemVer } from 'semver';
import { addressOf, parseNumber, readField, readNumber, type ContextDefaults } from './context';
import { AddressSet } from './ip';
import type { ConstraintDefinition, Context } from '../types';

/** What the engine injects into compiled code. */
export interface EvalEnv {
  /** Milliseconds since the epoch; the default `currentTime`. */
  now(): number;
  /** A number in [0, 1). */
  random(): number;
  /** The host name `applicationHostname` compares with. */
  hostname: string;
  /** `appName` and `environment` for contexts without them. */
  defaults: ContextDefaults;
  /**
   * Reports a problem once per `key`: a stable name for the problem (not the message,
   * which may name a user or a value), so the same problem is never reported twice.
   */
  warn(key: string, message: string): void;
}

// Operator codes. FALSE: unknown operator or unusable value (false even when inverted).
const FALSE = 0;
const IN_LIST = 1;
const IN_SORTED = 2;
const NOT_IN_LIST = 3;
const NOT_IN_SORTED = 4;
const STR_CONTAINS = 5;
const STR_STARTS_WITH = 6;
const STR_ENDS_WITH = 7;
const NUM_EQ = 8;
const NUM_GT = 9;
const NUM_GTE = 10;
const NUM_LT = 11;
const NUM_LTE = 12;
const DATE_AFTER = 13;
const DATE_BEFORE = 14;
const SEMVER_EQ = 15;
const SEMVER_GT = 16;
const SEMVER_GTE = 17;
const SEMVER_LT = 18;
const SEMVER_LTE = 19;
const REGEX = 20;
const IN_CIDR = 21;
// STR_* on the lower-cased context value (caseInsensitive; the list is lower-cased already).
const STR_CONTAINS_FOLD = 22;
const STR_STARTS_WITH_FOLD = 23;
const STR_ENDS_WITH_FOLD = 24;

/**
 * Lists up to this long are scanned in place; longer ones get a sorted copy searched by
 * bisection. (A Set would be faster still, but costs four times the memory per entry.)
 */
const SCAN_LIMIT = 12;

/** A compiled constraint: an operator code, the field it reads and its pre-parsed operand. */
export class CompiledConstraint {
  constructor(
    readonly op: number,
    readonly field: string,
    /** The operand: a list (sorted, for IN_SORTED), a number, epoch ms, SemVer, RE2 program or CIDR ranges. */
    readonly operand: unknown,
    readonly inverted: boolean,
  ) {}
}

/** A constraint that never holds (used for a strategy whose segment is missing). */
export const NEVER_HOLDS = new CompiledConstraint(FALSE, '', undefined, false);

/**
 * A constraint that can never hold, whatever `inverted` says (fail closed), because of
 * `problem` (an unusable value, an unknown operator, a malformed constraint), which
 * explanations quote.
 */
function neverHolds(field: string, problem: string): CompiledConstraint {
  return new CompiledConstraint(FALSE, field, problem, false);
}

/** Why a compiled constraint can never hold, or `undefined` for a usable one. */
export function problemOf(c: CompiledConstraint): string | undefined {
  return c.op === FALSE && typeof c.operand === 'string' ? c.operand : undefined;
}

/** Single-value operators read `value`, falling back to the first of `values`. */
function singleValue(def: ConstraintDefinition): string | undefined {
  if (def.value !== undefined) return def.value;
  return def.values?.[0];
}

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DDTHH:mm:ss(.sss)Z`, what `toISOString()` writes (and the same without the
 * `Z`, which is UTC too), read directly: date-fns costs tens of microseconds per new
 * context time. Anything else (or out of range) returns NaN and goes to date-fns, so
 * results are the same.
 */
function parseUtcIso(text: string): number {
  const m = ISO_UTC.exec(text);
  if (m === null) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  const leap = month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 1 : 0;
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]! + leap || hour > 23 || minute > 59 || second > 59) return NaN;
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** Reads dates in UTC: date-fns builds the result in this context instead of local time. */
const inUtc = (value: Date | number | string): Date => new UTCDateMini(value as number);

/** Starts like an ISO 8601 date. */
const ISO_SHAPED = /^[+-]?\d{4,6}-\d/;

/** An explicit zone: `Z`, `GMT`/`UTC`, or a numeric offset at the end. */
const HAS_ZONE = /(?:Z|\b(?:GMT|UTC)|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Epoch milliseconds of an ISO 8601 date or date-time, or NaN. A date without an offset
 * (`2026-03-01`, `2026-03-01T10:00:00`) is UTC, never the host's local time: the answer
 * must not depend on where the service runs (the wire notes, "Real-world inputs"). Other
 * formats are read by `Date.parse` only when they name their zone (`…GMT`, `+0100`).
 */
function parseDate(text: string | undefined): number {
  if (text === undefined) return NaN;
  const fast = parseUtcIso(text);
  if (!Number.isNaN(fast)) return fast;
  const trimmed = text.trim();
  const ms = parseISO(trimmed, { in: inUtc }).getTime();
  if (!Number.isNaN(ms)) return ms;
  // An ISO-shaped text date-fns refused is invalid (Feb 30): Date.parse would roll it over.
  return HAS_ZONE.test(trimmed) && !ISO_SHAPED.test(trimmed) ? Date.parse(trimmed) : NaN;
}

// One-entry memo of the last `currentTime` text: a request evaluates many flags with the
// same context, and date-fns parsing costs more than the rest of an evaluation.
let lastTimeText = '';
let lastTimeMs = NaN;

/**
 * Compares the context's time (its `currentTime`, else now) with `target`: `after` asks
 * whether it is later, else earlier. Each branch compares on its own and returns a
 * boolean: a time (a double) returned from a call, or merged from several branches,
 * would be boxed into a new heap number per evaluation.
 */
function timeCompare(context: Context, env: EvalEnv, target: number, after: boolean): boolean {
  const t = context.currentTime;
  if (t === undefined || t === null || t === '') {
    // Date.now called directly (not through env.now) stays an unboxed double.
    if (env.now === Date.now) return after ? Date.now() > target : Date.now() < target;
    return after ? env.now() > target : env.now() < target;
  }
  if (typeof t === 'string') {
    if (t !== lastTimeText) {
      lastTimeMs = parseDate(t);
      lastTimeText = t;
    }
    return after ? lastTimeMs > target : lastTimeMs < target;
  }
  if (t instanceof Date) return after ? t.getTime() > target : t.getTime() < target;
  if (typeof t === 'number') return after ? t > target : t < target;
  if (typeof t === 'bigint') return after ? Number(t) > target : Number(t) < target;
  return false;
}

/** Strict SemVer 2.0.0: node-semver would accept `v1.2.3` and `=1.2.3`; the spec does not. */
function parseSemver(text: string | undefined): SemVer | null {
  // node-semver trims its input; strict SemVer has no whitespace at either end.
  if (text === undefined || !/^\d/.test(text) || /\s$/.test(text)) return null;
  return parseSemverText(text);
}

// Context versions repeat (a handful of app versions): one bounded cache for all SEMVER
// constraints, rather than one per constraint.
const versions = new Map<string, SemVer | null>();

function contextVersion(text: string): SemVer | null {
  let v = versions.get(text);
  if (v === undefined) {
    v = parseSemver(text);
    if (versions.size >= 1000) versions.clear();
    versions.set(text, v);
  }
  return v;
}

function listHas(list: readonly string[], v: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === v) return true;
  return false;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Whether `text[at..]` starts with `lower` once `text` (ASCII) is lower-cased. */
function foldedAt(text: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = text.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** STR_* on `text.toLowerCase()` for ASCII `text`, without building the lower-cased copy. */
function foldedMatch(op: number, text: string, lower: string): boolean {
  const room = text.length - lower.length;
  if (room < 0) return false;
  if (op === STR_STARTS_WITH) return foldedAt(text, 0, lower);
  if (op === STR_ENDS_WITH) return foldedAt(text, room, lower);
  for (let at = 0; at <= room; at++) if (foldedAt(text, at, lower)) return true;
  return false;
}

/** Bisection in a list sorted by `<` (UTF-16 code units, as `Array.prototype.sort`). */
function sortedHas(list: readonly string[], v: string): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = list[mid]!;
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * NUM_EQ compares within `Number.EPSILON`, as the Rust core behind most Unleash SDKs does,
 * so a computed `0.1 + 0.2` equals `0.3`; the ordering operators compare exactly.
 */
function numberCompare(op: number, n: number, target: number): boolean {
  return op === NUM_EQ ? n === target || Math.abs(n - target) < Number.EPSILON : op === NUM_GT ? n > target : op === NUM_GTE ? n >= target : op === NUM_LT ? n < target : n <= target;
}

/** The operator's answer before `inverted`. */
function opHolds(c: CompiledConstraint, context: Context, env: EvalEnv): boolean {
  switch (c.op) {
    case IN_LIST: {
      const v = readField(context, c.field, env.defaults);
      return v !== undefined && listHas(c.operand as string[], v);
    }
    case IN_SORTED: {
      const v = readField(context, c.field, env.defaults);
      return v !== undefined && sortedHas(c.operand as string[], v);
    }
    case NOT_IN_LIST: {
      const v = readField(context, c.field, env.defaults);
      return v === undefined || !listHas(c.operand as string[], v);
    }
    case NOT_IN_SORTED: {
      const v = readField(context, c.field, env.defaults);
      return v === undefined || !sortedHas(c.operand as string[], v);
    }
    case STR_CONTAINS:
    case STR_STARTS_WITH:
    case STR_ENDS_WITH:
    case STR_CONTAINS_FOLD:
    case STR_STARTS_WITH_FOLD:
    case STR_ENDS_WITH_FOLD: {
      let v = readField(context, c.field, env.defaults);
      if (v === undefined) return false;
      let op = c.op;
      const list = c.operand as string[];
      if (op >= STR_CONTAINS_FOLD) {
        op -= STR_CONTAINS_FOLD - STR_CONTAINS;
        // ASCII values are compared folding case on the fly: toLowerCase() would allocate
        // a copy per call, even of a string that is lower case already.
        if (isAscii(v)) {
          for (let i = 0; i < list.length; i++) if (foldedMatch(op, v, list[i]!)) return true;
          return false;
        }
        v = v.toLowerCase();
      }
      for (let i = 0; i < list.length; i++) {
        const x = list[i]!;
        if (op === STR_CONTAINS ? v.includes(x) : op === STR_STARTS_WITH ? v.startsWith(x) : v.endsWith(x)) return true;
      }
      return false;
    }
    case NUM_EQ:
    case NUM_GT:
    case NUM_GTE:
    case NUM_LT:
    case NUM_LTE:
      return numberCompare(c.op, readNumber(context, c.field, env.defaults), c.operand as number);
    case DATE_AFTER:
      return timeCompare(context, env, c.operand as number, true);
    case DATE_BEFORE:
      return timeCompare(context, env, c.operand as number, false);
    case SEMVER_EQ:
    case SEMVER_GT:
    case SEMVER_GTE:
    case SEMVER_LT:
    case SEMVER_LTE: {
      const text = readField(context, c.field, env.defaults);
      if (text === undefined) return false;
      const v = contextVersion(text);
      if (v === null) return false;
      const order = v.compare(c.operand as SemVer);
      return c.op === SEMVER_EQ ? order === 0 : c.op === SEMVER_GT ? order > 0 : c.op === SEMVER_GTE ? order >= 0 : c.op === SEMVER_LT ? order < 0 : order <= 0;
    }
    case REGEX: {
      const v = readField(context, c.field, env.defaults);
      return v !== undefined && (c.operand as RE2JS).test(v);
    }
    case IN_CIDR: {
      const v = readField(context, c.field, env.defaults);
      if (v === undefined) return false;
      const address = addressOf(v);
      return address !== undefined && (c.operand as AddressSet).has(address);
    }
    default:
      return false;
  }
}

/** Whether one compiled constraint holds. May throw on a hostile context (callers guard). */
export function constraintHolds(c: CompiledConstraint, context: Context, env: EvalEnv): boolean {
  if (c.op === FALSE) return false;
  return opHolds(c, context, env) !== c.inverted;
}

/** A short, printable form of a wire string for messages. */
function shown(text: string, max = 60): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

function unusable(def: ConstraintDefinition, env: EvalEnv, what: string): CompiledConstraint {
  const given = def.value ?? def.values?.join(',');
  const problem = `${def.operator} has no usable ${what}${given === undefined || given === '' ? ' (none given)' : ` (${shown(given)})`}`;
  env.warn(`unusable:${def.operator}:${def.contextName}:${given}`, `${def.operator} constraint on ${shown(def.contextName)} has no usable ${what}; it is false, also when inverted`);
  return neverHolds(def.contextName, problem);
}

const NUMBER_OPS: Record<string, number> = { NUM_EQ, NUM_GT, NUM_GTE, NUM_LT, NUM_LTE };
const SEMVER_OPS: Record<string, number> = { SEMVER_EQ, SEMVER_GT, SEMVER_GTE, SEMVER_LT, SEMVER_LTE };
const STRING_OPS: Record<string, number> = { STR_CONTAINS, STR_STARTS_WITH, STR_ENDS_WITH };

/** The compiled form of a definition; `undefined` for an unknown operator. */
function compiledOf(def: ConstraintDefinition, env: EvalEnv): CompiledConstraint | undefined {
  const field = def.contextName;
  const inverted = def.inverted === true;
  const op = def.operator;
  switch (op) {
    case 'IN':
    case 'NOT_IN': {
      const list = def.values ?? [];
      const big = list.length > SCAN_LIMIT;
      const code = op === 'IN' ? (big ? IN_SORTED : IN_LIST) : big ? NOT_IN_SORTED : NOT_IN_LIST;
      // Small lists are scanned in place: the definition's own array, no copy.
      return new CompiledConstraint(code, field, big ? [...new Set(list)].sort() : list, inverted);
    }
    case 'STR_CONTAINS':
    case 'STR_STARTS_WITH':
    case 'STR_ENDS_WITH': {
      const list = def.values ?? [];
      if (def.caseInsensitive !== true) return new CompiledConstraint(STRING_OPS[op]!, field, list, inverted);
      return new CompiledConstraint(STRING_OPS[op]! + (STR_CONTAINS_FOLD - STR_CONTAINS), field, list.map((v) => v.toLowerCase()), inverted);
    }
    case 'NUM_EQ':
    case 'NUM_GT':
    case 'NUM_GTE':
    case 'NUM_LT':
    case 'NUM_LTE': {
      const target = parseNumber(singleValue(def));
      if (Number.isNaN(target)) return unusable(def, env, 'number');
      return new CompiledConstraint(NUMBER_OPS[op]!, field, target, inverted);
    }
    case 'DATE_AFTER':
    case 'DATE_BEFORE': {
      const target = parseDate(singleValue(def));
      if (Number.isNaN(target)) return unusable(def, env, 'date');
      return new CompiledConstraint(op === 'DATE_AFTER' ? DATE_AFTER : DATE_BEFORE, field, target, inverted);
    }
    case 'SEMVER_EQ':
    case 'SEMVER_GT':
    case 'SEMVER_GTE':
    case 'SEMVER_LT':
    case 'SEMVER_LTE': {
      const target = parseSemver(singleValue(def));
      if (!target) return unusable(def, env, 'version');
      return new CompiledConstraint(SEMVER_OPS[op]!, field, target, inverted);
    }
    case 'REGEX': {
      const pattern = singleValue(def);
      if (pattern === undefined) return unusable(def, env, 'pattern');
      try {
        // RE2 runs in linear time: a pattern from flag data cannot stall the process, and
        // lookarounds and backreferences (which need backtracking) are refused here.
        const program = RE2JS.compile(pattern, def.caseInsensitive === true ? RE2JS.CASE_INSENSITIVE : 0);
        return new CompiledConstraint(REGEX, field, program, inverted);
      } catch (err) {
        if (outOfStack(err)) throw err;
        const why = (err as Error).message.slice(0, 80);
        env.warn(`regex:${pattern}`, `REGEX constraint on ${shown(field)} has an invalid pattern (${why}); it is false, also when inverted`);
        return neverHolds(field, `REGEX pattern ${shown(pattern)} is invalid (${why})`);
      }
    }
    case 'IN_CIDR': {
      const addresses = new AddressSet(def.values ?? [], (v) =>
        env.warn(`cidr:${v}`, `IN_CIDR constraint on ${shown(field)} ignores ${shown(v)}: not an address or CIDR range`),
      );
      if (addresses.size === 0) return unusable(def, env, 'range');
      return new CompiledConstraint(IN_CIDR, field, addresses, inverted);
    }
    default:
      return undefined;
  }
}

/**
 * Whether `err` is the engine running out of stack (V8's `RangeError: Maximum call stack
 * size exceeded`, as when a hook or strategy re-enters evaluation without end). Such a
 * failure says nothing about the flag data, so compiling never turns it into a remembered
 * "off": it is rethrown, the call that hit it fails (its caller answers off), and the next
 * call compiles again. Any `RangeError` counts: a genuine one thrown while compiling is
 * then retried on each call, which costs time but never changes an answer.
 */
export function outOfStack(err: unknown): boolean {
  return err instanceof RangeError;
}

/**
 * Compiles one constraint. Never throws (but see `outOfStack`): anything unusable (a malformed constraint, an
 * unknown operator, values that cannot be read) compiles to a constraint that never
 * holds, whatever `inverted` says, and is reported once.
 */
export function compileConstraint(def: ConstraintDefinition, env: EvalEnv): CompiledConstraint {
  if (def.malformed !== undefined) {
    env.warn(`malformed:${def.contextName}:${def.operator}:${def.malformed}`, `a constraint ${def.malformed}; it is false`);
    return neverHolds(def.contextName, `the constraint ${def.malformed}`);
  }
  let compiled: CompiledConstraint | undefined;
  try {
    compiled = compiledOf(def, env);
  } catch (err) {
    if (outOfStack(err)) throw err;
    const why = (err as Error).message.slice(0, 80);
    env.warn(`uncompilable:${def.contextName}:${def.operator}`, `constraint on ${shown(def.contextName)} could not be compiled (${why}); it is false`);
    return neverHolds(def.contextName, `the constraint could not be compiled (${why})`);
  }
  if (compiled === undefined) {
    env.warn(`operator:${def.operator}`, `unknown constraint operator ${shown(def.operator, 40)}; constraints using it are false`);
    return neverHolds(def.contextName, `unknown operator ${shown(def.operator, 40)}`);
  }
  return compiled;
}
