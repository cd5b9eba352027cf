/**
 * Constraint compilation. Every constraint is turned, once per payload, into a closure
 * over pre-parsed values (sets, numbers, epoch milliseconds, semver objects, RE2 programs,
 * CIDR ranges), so evaluation never parses the flag data again.
 *
 * Semantics follow the Unleash client specification: an unknown operator or an unusable
 * constraint value makes the constraint false whatever `inverted` says; `inverted`
 * negates the operator's answer otherwise.
 */
import { parseISO } from 'date-fns';
import { RE2JS } from 're2js';
import semver, { type SemVer } from 'semver';
import { fieldGetter } from './context';
import { inCidr, parseAddress, parseCidr, type Cidr } from './ip';
import type { ConstraintDefinition, Context } from './types';

/** What the engine injects into compiled code. */
export interface EvalEnv {
  /** Milliseconds since the epoch; the default `currentTime`. */
  now(): number;
  /** A number in [0, 1). */
  random(): number;
  /** The host name `applicationHostname` compares with. */
  hostname: string;
  /** Reports a problem; the engine deduplicates. */
  warn(message: string): void;
}

export type Predicate = (context: Context) => boolean;

/** A compiled constraint, kept with its definition so an explanation can name it. */
export interface CompiledConstraint {
  readonly definition: ConstraintDefinition;
  /** The segment it came from, when it is a segment's constraint. */
  readonly segmentId?: number;
  readonly test: Predicate;
}

const FALSE: Predicate = () => false;

function values(def: ConstraintDefinition): string[] {
  const out: string[] = [];
  for (const v of def.values ?? []) out.push(v);
  return out;
}

/** Single-value operators read `value`, falling back to the first of `values`. */
function singleValue(def: ConstraintDefinition): string | undefined {
  if (def.value !== undefined) return def.value;
  const first = def.values?.[0];
  return first;
}

function parseDate(text: string | undefined): number {
  if (text === undefined) return NaN;
  const ms = parseISO(text).getTime();
  return Number.isNaN(ms) ? Date.parse(text) : ms;
}

function contextTime(context: Context, env: EvalEnv): number {
  const t = context.currentTime;
  if (t === undefined || t === null || t === '') return env.now();
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'string') return parseDate(t);
  if (typeof t === 'number') return t;
  return NaN;
}

function parseNumber(text: string | undefined): number {
  if (text === undefined) return NaN;
  const trimmed = text.trim();
  return trimmed === '' ? NaN : Number(trimmed);
}

function stringOperator(def: ConstraintDefinition): Predicate | undefined {
  const get = fieldGetter(def.contextName);
  const fold = def.caseInsensitive === true;
  const list = values(def).map((v) => (fold ? v.toLowerCase() : v));
  const read = fold
    ? (context: Context) => get(context)?.toLowerCase()
    : get;
  switch (def.operator) {
    case 'STR_CONTAINS':
      return (context) => {
        const v = read(context);
        if (v === undefined) return false;
        for (let i = 0; i < list.length; i++) if (v.includes(list[i]!)) return true;
        return false;
      };
    case 'STR_STARTS_WITH':
      return (context) => {
        const v = read(context);
        if (v === undefined) return false;
        for (let i = 0; i < list.length; i++) if (v.startsWith(list[i]!)) return true;
        return false;
      };
    case 'STR_ENDS_WITH':
      return (context) => {
        const v = read(context);
        if (v === undefined) return false;
        for (let i = 0; i < list.length; i++) if (v.endsWith(list[i]!)) return true;
        return false;
      };
    default:
      return undefined;
  }
}

function unusable(def: ConstraintDefinition, env: EvalEnv, what: string): Predicate {
  env.warn(`${def.operator} constraint on "${def.contextName}" has no usable ${what}; it is false`);
  return FALSE;
}

function numberOperator(def: ConstraintDefinition, env: EvalEnv): Predicate | undefined {
  const target = parseNumber(singleValue(def));
  if (Number.isNaN(target)) return unusable(def, env, 'number');
  const get = fieldGetter(def.contextName);
  const compare = (context: Context, op: (a: number) => boolean) => {
    const n = parseNumber(get(context));
    return !Number.isNaN(n) && op(n);
  };
  switch (def.operator) {
    case 'NUM_EQ':
      return (c) => compare(c, (n) => n === target);
    case 'NUM_GT':
      return (c) => compare(c, (n) => n > target);
    case 'NUM_GTE':
      return (c) => compare(c, (n) => n >= target);
    case 'NUM_LT':
      return (c) => compare(c, (n) => n < target);
    case 'NUM_LTE':
      return (c) => compare(c, (n) => n <= target);
    default:
      return undefined;
  }
}

function dateOperator(def: ConstraintDefinition, env: EvalEnv): Predicate | undefined {
  const target = parseDate(singleValue(def));
  if (Number.isNaN(target)) return unusable(def, env, 'date');
  switch (def.operator) {
    case 'DATE_AFTER':
      return (c) => contextTime(c, env) > target;
    case 'DATE_BEFORE':
      return (c) => contextTime(c, env) < target;
    default:
      return undefined;
  }
}

/** Strict SemVer 2.0.0: node-semver would accept `v1.2.3` and `=1.2.3`; the spec does not. */
function parseSemver(text: string | undefined): SemVer | null {
  if (text === undefined || !/^\d/.test(text)) return null;
  return semver.parse(text);
}

function semverOperator(def: ConstraintDefinition, env: EvalEnv): Predicate | undefined {
  const target = parseSemver(singleValue(def));
  if (!target) return unusable(def, env, 'version');
  const get = fieldGetter(def.contextName);
  // Contexts usually repeat a handful of app versions: remember recent parses.
  const parsed = new Map<string, SemVer | null>();
  const read = (context: Context): SemVer | null => {
    const text = get(context);
    if (text === undefined) return null;
    let v = parsed.get(text);
    if (v === undefined) {
      v = parseSemver(text);
      if (parsed.size >= 256) parsed.clear();
      parsed.set(text, v);
    }
    return v;
  };
  const compare = (context: Context, op: (order: number) => boolean) => {
    const v = read(context);
    return v !== null && op(v.compare(target));
  };
  switch (def.operator) {
    case 'SEMVER_EQ':
      return (c) => compare(c, (o) => o === 0);
    case 'SEMVER_GT':
      return (c) => compare(c, (o) => o > 0);
    case 'SEMVER_GTE':
      return (c) => compare(c, (o) => o >= 0);
    case 'SEMVER_LT':
      return (c) => compare(c, (o) => o < 0);
    case 'SEMVER_LTE':
      return (c) => compare(c, (o) => o <= 0);
    default:
      return undefined;
  }
}

function regexOperator(def: ConstraintDefinition, env: EvalEnv): Predicate {
  const pattern = singleValue(def);
  if (pattern === undefined) return unusable(def, env, 'pattern');
  let program: RE2JS;
  try {
    // RE2 runs in linear time: a pattern from flag data cannot stall the process, and
    // lookarounds and backreferences (which need backtracking) are refused at compile.
    program = RE2JS.compile(pattern, def.caseInsensitive === true ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    env.warn(`REGEX constraint on "${def.contextName}" has an invalid pattern (${(err as Error).message.slice(0, 80)}); it is false`);
    return FALSE;
  }
  const get = fieldGetter(def.contextName);
  return (context) => {
    const v = get(context);
    return v !== undefined && program.test(v);
  };
}

function cidrOperator(def: ConstraintDefinition, env: EvalEnv): Predicate {
  const ranges: Cidr[] = [];
  for (const v of values(def)) {
    const range = parseCidr(v);
    if (range) ranges.push(range);
    else env.warn(`IN_CIDR constraint on "${def.contextName}" ignores "${v.slice(0, 60)}": not an address or CIDR range`);
  }
  if (ranges.length === 0) return unusable(def, env, 'range');
  const get = fieldGetter(def.contextName);
  return (context) => {
    const v = get(context);
    if (v === undefined) return false;
    const address = parseAddress(v);
    if (!address) return false;
    for (let i = 0; i < ranges.length; i++) if (inCidr(address, ranges[i]!)) return true;
    return false;
  };
}

function inOperator(def: ConstraintDefinition): Predicate {
  const set = new Set(values(def));
  const get = fieldGetter(def.contextName);
  if (def.operator === 'IN') {
    return (context) => {
      const v = get(context);
      return v !== undefined && set.has(v);
    };
  }
  return (context) => {
    const v = get(context);
    return v === undefined || !set.has(v);
  };
}

/** The operator's answer before `inverted`; `undefined` for an unknown operator. */
function operatorPredicate(def: ConstraintDefinition, env: EvalEnv): Predicate | undefined {
  switch (def.operator) {
    case 'IN':
    case 'NOT_IN':
      return inOperator(def);
    case 'STR_CONTAINS':
    case 'STR_STARTS_WITH':
    case 'STR_ENDS_WITH':
      return stringOperator(def);
    case 'NUM_EQ':
    case 'NUM_GT':
    case 'NUM_GTE':
    case 'NUM_LT':
    case 'NUM_LTE':
      return numberOperator(def, env);
    case 'DATE_AFTER':
    case 'DATE_BEFORE':
      return dateOperator(def, env);
    case 'SEMVER_EQ':
    case 'SEMVER_GT':
    case 'SEMVER_GTE':
    case 'SEMVER_LT':
    case 'SEMVER_LTE':
      return semverOperator(def, env);
    case 'REGEX':
      return regexOperator(def, env);
    case 'IN_CIDR':
      return cidrOperator(def, env);
    default:
      return undefined;
  }
}

/** Compiles one constraint. Never throws: anything unusable compiles to "false". */
export function compileConstraint(def: ConstraintDefinition, env: EvalEnv, segmentId?: number): CompiledConstraint {
  let test: Predicate;
  let predicate: Predicate | undefined;
  try {
    predicate = operatorPredicate(def, env);
  } catch (err) {
    env.warn(`constraint on "${def.contextName}" could not be compiled (${(err as Error).message.slice(0, 80)}); it is false`);
    predicate = FALSE;
  }
  if (predicate === undefined) {
    env.warn(`unknown constraint operator "${def.operator.slice(0, 40)}"; constraints using it are false`);
    test = FALSE;
  } else if (predicate === FALSE || def.inverted !== true) {
    test = predicate;
  } else {
    const inner = predicate;
    test = (context) => !inner(context);
  }
  return segmentId === undefined ? { definition: def, test } : { definition: def, segmentId, test };
}

/** ANDs compiled constraints into one predicate, specialised for the common small counts. */
export function allOf(constraints: readonly CompiledConstraint[]): Predicate | undefined {
  const tests = constraints.map((c) => c.test);
  switch (tests.length) {
    case 0:
      return undefined;
    case 1:
      return tests[0];
    case 2: {
      const [a, b] = tests as [Predicate, Predicate];
      return (c) => a(c) && b(c);
    }
    default:
      return (c) => {
        for (let i = 0; i < tests.length; i++) if (!tests[i]!(c)) return false;
        return true;
      };
  }
}
