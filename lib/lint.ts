/**
 * Static checks of a flags file (a client-API body), for `switchyard lint`. Pure: the CLI
 * reads the file. It reuses the payload parser and the constraint compiler, so it reports
 * exactly what the engine would quietly turn off.
 */
import { compileConstraint, type EvalEnv } from './engine/constraints';
import { parseClientPayload, PayloadError } from './payload';
import { parseCidr } from './engine/ip';
import type { ConstraintDefinition, FeatureDefinition, StrategyDefinition } from './types';
import { listParameter } from '../strategies/parameters';
import { builtinStrategies } from '../strategies/registry';

/** One finding, located by a path into the file. */
export interface LintFinding {
  /** Where in the file, e.g. `features[3] "beta".strategies[0].constraints[1]`; `$` is the whole body. */
  path: string;
  /** What is wrong and what the engine does about it (usually: that part is always off). */
  message: string;
}

/** The result of `lintPayload`. The file is clean when both lists are empty. */
export interface LintReport {
  /** Problems that make a flag, strategy or constraint always off, or the file unusable. */
  errors: LintFinding[];
  /** Suspicious but legal data (duplicate names, all-zero variant weights, nested dependencies, ignored entries). */
  warnings: LintFinding[];
  /** How many flags were checked (0 when the body could not be read or is a delta). */
  flags: number;
  /** How many segments were checked (0 when the body could not be read). */
  segments: number;
}

/** Options of `lintPayload`. */
export interface LintOptions {
  /** Names of custom strategies the application registers (not errors). */
  strategies?: readonly string[];
}

function checkConstraints(constraints: readonly ConstraintDefinition[], path: string, errors: LintFinding[]): void {
  constraints.forEach((c, i) => {
    const at = `${path}.constraints[${i}]`;
    if (c.malformed !== undefined) {
      errors.push({ path: at, message: `constraint ${c.malformed} (it needs a string contextName and operator); it is always false` });
      return;
    }
    const problems: string[] = [];
    const env: EvalEnv = { now: () => 0, random: () => 0, hostname: '', defaults: {}, warn: (_key, message) => problems.push(message) };
    compileConstraint(c, env);
    for (const p of problems) errors.push({ path: at, message: p });
  });
}

/** The percentage parameter each built-in rollout reads. */
const PERCENTAGE_PARAMETER: Readonly<Record<string, string>> = {
  flexibleRollout: 'rollout',
  gradualRolloutUserId: 'percentage',
  gradualRolloutSessionId: 'percentage',
  gradualRolloutRandom: 'percentage',
};

/** The list parameter a built-in strategy cannot work without. */
const LIST_PARAMETER: Readonly<Record<string, string>> = {
  userWithId: 'userIds',
  remoteAddress: 'IPs',
  applicationHostname: 'hostNames',
};

/** What the engine would quietly do with a built-in strategy's parameters. */
function checkParameters(strategy: StrategyDefinition, path: string, errors: LintFinding[], warnings: LintFinding[]): void {
  const p = strategy.parameters;
  const percentParameter = PERCENTAGE_PARAMETER[strategy.name];
  if (percentParameter !== undefined) {
    const text = p[percentParameter];
    const n = text === undefined ? NaN : Number(text.trim());
    if (text === undefined || text.trim() === '') {
      errors.push({ path, message: `no ${percentParameter} parameter; read as 0%, so the strategy is always off` });
    } else if (!Number.isFinite(n)) {
      errors.push({ path, message: `${percentParameter} "${text.slice(0, 40)}" is not a number from 0 to 100; read as 0%, so the strategy is always off` });
    } else if (n < 0 || n > 100) {
      errors.push({ path, message: `${percentParameter} ${n} is outside 0 to 100; the strategy is always ${n < 0 ? 'off' : 'on'}` });
    }
  }
  const listParameterName = LIST_PARAMETER[strategy.name];
  if (listParameterName !== undefined) {
    const entries = listParameter(p[listParameterName]);
    if (entries.length === 0) errors.push({ path, message: `no ${listParameterName}; the strategy is always off` });
    if (strategy.name === 'remoteAddress') {
      for (const entry of entries) {
        if (parseCidr(entry) === undefined) errors.push({ path, message: `IPs entry "${entry.slice(0, 60)}" is not an address or CIDR range; it never matches` });
      }
    }
  }
  if (strategy.name === 'flexibleRollout' && p.stickiness === '') {
    warnings.push({ path, message: 'empty stickiness; read as default (userId, then sessionId, then random)' });
  }
}

/** Finds dependency cycles; returns each cycle once, as a list of flag names. */
function cycles(features: readonly FeatureDefinition[]): string[][] {
  const byName = new Map(features.map((f) => [f.name, f]));
  const state = new Map<string, 'visiting' | 'done'>();
  const found: string[][] = [];
  const stack: string[] = [];
  const visit = (name: string): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      found.push([...stack.slice(stack.indexOf(name)), name]);
      return;
    }
    state.set(name, 'visiting');
    stack.push(name);
    for (const d of byName.get(name)?.dependencies ?? []) if (byName.has(d.feature)) visit(d.feature);
    stack.pop();
    state.set(name, 'done');
  };
  for (const f of features) visit(f.name);
  return found;
}

/** Lints a client-API body (object or JSON text). */
export function lintPayload(body: unknown, options: LintOptions = {}): LintReport {
  const errors: LintFinding[] = [];
  const warnings: LintFinding[] = [];
  let parsed;
  try {
    parsed = parseClientPayload(body);
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    return { errors: [{ path: '$', message: err.message }], warnings, flags: 0, segments: 0 };
  }
  for (const w of parsed.warnings) warnings.push({ path: '$', message: w });
  if (parsed.payload.kind !== 'full') {
    errors.push({ path: '$', message: 'a delta body (events) is not a flags file; lint a full client-API body' });
    return { errors, warnings, flags: 0, segments: 0 };
  }
  const { features, segments } = parsed.payload;
  const known = new Set([...builtinStrategies.map((s) => s.name), ...(options.strategies ?? [])]);
  const segmentIds = new Set(segments.map((s) => s.id));
  const names = new Map<string, number>();

  segments.forEach((segment) => checkConstraints(segment.constraints, `segments[id=${segment.id}]`, errors));
  features.forEach((feature, fi) => {
    const at = `features[${fi}] "${feature.name}"`;
    if (names.has(feature.name)) warnings.push({ path: at, message: `duplicate flag name (also features[${names.get(feature.name)}]); the last one wins` });
    names.set(feature.name, fi);
    feature.strategies.forEach((strategy, si) => {
      const sat = `${at}.strategies[${si}]`;
      if (strategy.name === '') errors.push({ path: sat, message: 'strategy is malformed (no name); it is always off' });
      else if (!known.has(strategy.name)) errors.push({ path: sat, message: `unknown strategy "${strategy.name}" (register it, or pass --strategy ${strategy.name}); it is always off` });
      for (const id of strategy.segments) {
        if (!segmentIds.has(id)) errors.push({ path: sat, message: `segment ${Number.isNaN(id) ? '(unreadable id)' : id} is not defined; this strategy is always off` });
      }
      checkConstraints(strategy.constraints, sat, errors);
      checkParameters(strategy, sat, errors, warnings);
      if (strategy.variants.length > 0 && strategy.variants.every((v) => v.weight === 0)) {
        warnings.push({ path: sat, message: 'all strategy variants have weight 0; none can be chosen' });
      }
    });
    if (feature.variants.length > 0 && feature.variants.every((v) => v.weight === 0)) {
      warnings.push({ path: at, message: 'all variants have weight 0; none can be chosen' });
    }
    feature.dependencies.forEach((dep, di) => {
      const dat = `${at}.dependencies[${di}]`;
      const parent = features.find((f) => f.name === dep.feature);
      if (dep.feature === '') errors.push({ path: dat, message: 'dependency is malformed (no feature); the flag is always off' });
      else if (!parent) errors.push({ path: dat, message: `depends on "${dep.feature}", which is not in the file; the flag is always off` });
      else if (parent.dependencies.length > 0) {
        warnings.push({ path: dat, message: `parent "${dep.feature}" has dependencies of its own; Unleash allows one level, so the flag is always off` });
      }
    });
  });
  for (const cycle of cycles(features)) errors.push({ path: `features "${cycle[0]}"`, message: `dependency cycle: ${cycle.join(' -> ')}` });
  return { errors, warnings, flags: features.length, segments: segments.length };
}
