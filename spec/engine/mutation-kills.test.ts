/**
 * Rows that pin behaviour mutation testing (`npm run mutate`, see MUTANTS.md) found no test
 * for: the exact shape of variant answers and variant details, the `random` stickiness
 * against a context field of that name, and how a custom strategy's odd answers are
 * reported (which warning, once per strategy, what the reason says).
 */
import { constraintFlag, feature, snapshotOf, strategyFlag, variantFlag, type Context, type Json } from './build';
import { applyDelta, Engine, Strategy, type FlagState } from '../../lib/engine';
import type { FeatureDefinition, SegmentDefinition } from '../../lib/types';
import { readField, readNumber } from '../../lib/engine/context';
import { parseClientPayload, readClientPayload } from '../../lib/payload';
import { IdList, listContains } from '../../lib/engine/id-list';
import { inCidr, parseAddress, parseCidr } from '../../lib/engine/ip';

const v = (name: string, weight: number, extra: Json = {}): Json => ({ name, weight, weightType: 'variable', ...extra });

describe('variant answers and details', () => {
  test('a variant without a payload has no payload key at all', () => {
    const variant = variantFlag([v('a', 1)]).getVariant({ userId: 'u' });
    expect(Object.keys(variant).sort()).toEqual(['enabled', 'feature_enabled', 'name']);
  });

  test('a random pick reports no hashed value, not even an undefined one', () => {
    const reason = variantFlag([v('a', 1), v('b', 1)], { random: () => 0 }).evaluate({}).reason;
    expect(reason.kind).toBe('STRATEGY_MATCH');
    if (reason.kind === 'STRATEGY_MATCH') {
      expect(reason.variantDetail).toEqual({ from: 'feature', stickiness: 'default', target: 1, totalWeight: 2 });
      expect('value' in reason.variantDetail!).toBe(false);
    }
  });

  test('a hashed pick reports the value it hashed', () => {
    const reason = variantFlag([v('a', 1), v('b', 1)]).evaluate({ userId: 'u1' }).reason;
    expect(reason).toMatchObject({ kind: 'STRATEGY_MATCH', variantDetail: { stickiness: 'default', value: 'u1' } });
  });

  test.each<[string, string | undefined, Context, string]>([
    ['default', undefined, { userId: 'u1' }, 'default'],
    ['random', 'random', { userId: 'u1' }, 'random'],
    ['a field', 'tenant', { properties: { tenant: 't1' } }, 'tenant'],
    ['a field, by override', 'tenant', { properties: { tenant: 't1', plan: 'gold' } }, 'tenant'],
  ])('the variant detail names the stickiness: %s', (_name, stickiness, context, expected) => {
    const first = v('a', 1, { ...(stickiness === undefined ? {} : { stickiness }), overrides: [{ contextName: 'plan', values: ['gold'] }] });
    const reason = variantFlag([first, v('b', 1)]).evaluate(context).reason;
    expect(reason).toMatchObject({ kind: 'STRATEGY_MATCH', variantDetail: { stickiness: expected } });
  });

  // With stickiness `random`, a context field that happens to be called `random` is not hashed.
  test.each<[string, Context, number, string]>([
    ['a random field ignored (a)', { properties: { random: 'x' } }, 0, 'a'],
    ['a random field ignored (b)', { properties: { random: 'x' } }, 0.99, 'b'],
    ['a top-level random field ignored (a)', { random: 'y' }, 0, 'a'],
    ['a top-level random field ignored (b)', { random: 'y' }, 0.99, 'b'],
  ])('stickiness random: %s', (_name, context, draw, expected) => {
    const flag = variantFlag([v('a', 50, { stickiness: 'random' }), v('b', 50)], { random: () => draw });
    expect(flag.getVariant(context).name).toBe(expected);
    const reason = flag.evaluate(context).reason;
    if (reason.kind === 'STRATEGY_MATCH') expect('value' in reason.variantDetail!).toBe(false);
  });
});

describe('custom strategy answers', () => {
  function custom(answers: Record<string, () => unknown>) {
    const warnings: string[] = [];
    const strategies = Object.entries(answers).map(([name, answer]) => ({ name, isEnabled: answer as () => boolean }));
    const snapshot = snapshotOf(
      Object.keys(answers).map((name) => feature(name, [{ name, parameters: {} }])),
      [],
      { strategies, onWarning: (m) => warnings.push(m) },
    );
    return { warnings, snapshot };
  }

  test('true and false are answers, with no warning', () => {
    const { warnings, snapshot } = custom({ yes: () => true, no: () => false });
    expect(snapshot.get('yes')!.isEnabled({})).toBe(true);
    expect(snapshot.get('no')!.isEnabled({})).toBe(false);
    expect(snapshot.get('no')!.evaluate({}).reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ failure: 'STRATEGY_DECLINED' }] });
    expect(warnings).toEqual([]);
  });

  test('each throwing strategy is reported once, not once for all', () => {
    const { warnings, snapshot } = custom({ a: () => { throw new Error('A'); }, b: () => { throw new Error('B'); } });
    for (let i = 0; i < 3; i++) for (const name of ['a', 'b']) expect(snapshot.get(name)!.isEnabled({})).toBe(false);
    expect(warnings).toEqual([
      'custom strategy "a" threw (Error: A); it counts as false (reported once per strategy)',
      'custom strategy "b" threw (Error: B); it counts as false (reported once per strategy)',
    ]);
  });

  test('each strategy with a non-boolean answer is reported once, not once for all', () => {
    const { warnings, snapshot } = custom({ a: () => 1, b: () => 'yes' });
    for (let i = 0; i < 3; i++) for (const name of ['a', 'b']) expect(snapshot.get(name)!.isEnabled({})).toBe(false);
    expect(warnings).toEqual([
      'custom strategy "a" returned number, not a boolean; it counts as false (reported once per strategy)',
      'custom strategy "b" returned string, not a boolean; it counts as false (reported once per strategy)',
    ]);
  });

  test('a long error message is cut to 120 characters in the warning and 200 in the reason', () => {
    const long = 'x'.repeat(300);
    const { warnings, snapshot } = custom({ long: () => { throw new Error(long); } });
    const reason = snapshot.get('long')!.evaluate({}).reason;
    expect(warnings).toEqual([`custom strategy "long" threw (${`Error: ${long}`.slice(0, 120)}); it counts as false (reported once per strategy)`]);
    expect(reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ failure: 'STRATEGY_ERROR', message: `threw ${`Error: ${long}`.slice(0, 200)}` }] });
  });

  test('an object without then() is an object, not a Promise', () => {
    const { warnings, snapshot } = custom({ obj: () => ({ then: 1 }) });
    expect(snapshot.get('obj')!.isEnabled({})).toBe(false);
    expect(warnings).toEqual(['custom strategy "obj" returned object, not a boolean; it counts as false (reported once per strategy)']);
  });

  test("a thenable answer is observed once, with a rejection handler that swallows", () => {
    const calls: unknown[][] = [];
    const thenable = { then: (...args: unknown[]) => void calls.push(args) };
    const { warnings, snapshot } = custom({ later: () => thenable });
    expect(snapshot.get('later')!.isEnabled({})).toBe(false);
    expect(calls).toHaveLength(1);
    const [onFulfilled, onRejected] = calls[0]!;
    expect(onFulfilled).toBeUndefined();
    expect(typeof onRejected).toBe('function');
    expect((onRejected as (e: unknown) => unknown)(new Error('late'))).toBeUndefined();
    expect(warnings).toEqual(['custom strategy "later" returned a Promise (isEnabled must answer synchronously); it counts as false (reported once per strategy)']);
  });
});

describe('a missing id or address declines, it is no error', () => {
  test.each<[string, string, Record<string, string>, Context]>([
    ['userWithId without userId', 'userWithId', { userIds: 'u1, u2' }, {}],
    ['remoteAddress without remoteAddress', 'remoteAddress', { IPs: '10.0.0.1, 10.0.0.0/8' }, {}],
  ])('%s', (_name, strategy, parameters, context) => {
    const warnings: string[] = [];
    const flag = strategyFlag(strategy, parameters, { onWarning: (m) => warnings.push(m) });
    // An address seen first, so that a cached parse cannot answer for the missing one.
    flag.isEnabled({ userId: 'u1', remoteAddress: '10.0.0.1' });
    expect(flag.evaluate(context).reason).toEqual({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ index: 0, name: strategy, failure: 'STRATEGY_DECLINED' }] });
    expect(warnings).toEqual([]);
  });
});

describe('applyDelta', () => {
  const flag = (name: string, tag = ''): FeatureDefinition => ({ name, enabled: true, strategies: [], variants: [], dependencies: [], impressionData: false, description: tag });
  const segment = (id: number): SegmentDefinition => ({ id, constraints: [] });
  const state = (features: FeatureDefinition[], segments: SegmentDefinition[]): FlagState => ({
    features: new Map(features.map((f) => [f.name, f])),
    segments: new Map(segments.map((s) => [s.id, s])),
  });
  const names = (s: FlagState) => [...s.features.keys()];
  const ids = (s: FlagState) => [...s.segments.keys()];

  test('a hydration replaces every flag and every segment', () => {
    const before = state([flag('a'), flag('b')], [segment(1), segment(2)]);
    const after = applyDelta(before, [{ type: 'hydration', eventId: 1, features: [flag('c')], segments: [segment(3)] }]);
    expect(names(after)).toEqual(['c']);
    expect(ids(after)).toEqual([3]);
    expect(names(before)).toEqual(['a', 'b']);
    expect(ids(before)).toEqual([1, 2]);
  });

  test('updates add or replace by name and id, removals drop, absent removals are no-ops, in order', () => {
    const before = state([flag('a', 'old')], [segment(1)]);
    const after = applyDelta(before, [
      { type: 'feature-updated', eventId: 1, feature: flag('a', 'new') },
      { type: 'feature-updated', eventId: 2, feature: flag('b') },
      { type: 'segment-updated', eventId: 3, segment: { id: 1, constraints: [], name: 'renamed' } },
      { type: 'segment-updated', eventId: 4, segment: segment(2) },
      { type: 'feature-removed', eventId: 5, featureName: 'b' },
      { type: 'feature-removed', eventId: 6, featureName: 'never' },
      { type: 'segment-removed', eventId: 7, segmentId: 2 },
      { type: 'segment-removed', eventId: 8, segmentId: 99 },
      { type: 'feature-updated', eventId: 9, feature: flag('c') },
    ]);
    expect(names(after)).toEqual(['a', 'c']);
    expect(after.features.get('a')!.description).toBe('new');
    expect(ids(after)).toEqual([1]);
    expect(after.segments.get(1)!.name).toBe('renamed');
    expect(before.features.get('a')!.description).toBe('old');
    expect(before.segments.get(1)!.name).toBeUndefined();
  });
});

describe('strategy parameters', () => {
  test.each<[string, string, string, boolean]>([
    ['an empty entry is no host name', 'db-1,,web-1', '', false],
    ['a blank entry is no host name', 'db-1, ,web-1', '', false],
    ['entries are trimmed', 'db-1,  web-1  ', 'web-1', true],
    ['the host name is lower-cased', 'web-1', 'WEB-1', true],
    ['the entries are lower-cased', 'WEB-1', 'web-1', true],
  ])('applicationHostname: %s', (_name, hostNames, hostname, expected) => {
    expect(strategyFlag('applicationHostname', { hostNames }, { hostname }).isEnabled({})).toBe(expected);
  });

  test.each<[string, string, boolean]>([
    ['a padded percentage', ' 100 ', true],
    ['a percentage padded with a newline and a tab', '\n100\t', true],
    ['no percentage', '', false],
    ['junk', '1oo', false],
  ])('gradualRolloutUserId: %s', (_name, percentage, expected) => {
    expect(strategyFlag('gradualRolloutUserId', { percentage }).isEnabled({ userId: 'u1' })).toBe(expected);
  });
});

describe('explanations of a declined strategy', () => {
  test('the first strategy, all constraints held, declined by its rollout: no constraint is blamed', () => {
    const held = [
      { contextName: 'userId', operator: 'IN', values: ['u1'] },
      { contextName: 'plan', operator: 'IN', values: ['gold'] },
      { contextName: 'region', operator: 'IN', values: ['eu'] },
    ];
    const snapshot = snapshotOf([feature('f', [{ name: 'flexibleRollout', parameters: { rollout: '0', stickiness: 'userId' }, constraints: held }])]);
    const reason = snapshot.get('f')!.evaluate({ userId: 'u1', properties: { plan: 'gold', region: 'eu' } }).reason;
    expect(reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ index: 0, failure: 'STRATEGY_DECLINED', rollout: { threshold: 0 } }] });
  });

  test('a later strategy, all constraints held, declined by its rollout: no constraint is blamed either', () => {
    const held = [
      { contextName: 'plan', operator: 'IN', values: ['gold'] },
      { contextName: 'region', operator: 'IN', values: ['eu'] },
    ];
    const snapshot = snapshotOf([feature('f', [
      { name: 'default', constraints: [{ contextName: 'plan', operator: 'IN', values: ['silver'] }] },
      { name: 'flexibleRollout', parameters: { rollout: '0', stickiness: 'userId' }, constraints: held },
    ])]);
    const reason = snapshot.get('f')!.evaluate({ userId: 'u1', properties: { plan: 'gold', region: 'eu' } }).reason;
    expect(reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ index: 0, failure: 'CONSTRAINT_FAILED' }, { index: 1, failure: 'STRATEGY_DECLINED' }] });
  });
});

describe('constraints: rows the mutation run of constraints.ts found missing', () => {
  const warningsOf = (constraints: Json[], context: Context = {}): string[] => {
    const warnings: string[] = [];
    snapshotOf([feature('f', [{ name: 'default', constraints }])], [], { onWarning: (w) => warnings.push(w) }).get('f')!.evaluate(context);
    return warnings;
  };
  const unusableOf = (constraint: Json): string | undefined => {
    const reason = constraintFlag(constraint, { onWarning: () => {} }).evaluate({}).reason;
    const miss = reason.kind === 'NO_STRATEGY_MATCHED' ? reason.strategies[0] : undefined;
    return miss?.failure === 'CONSTRAINT_FAILED' ? miss.constraint.unusable : undefined;
  };

  // Each kind of problem is reported once per distinct problem (the key names it), not once in all.
  test.each<[string, Json, Json]>([
    ['unusable values', { contextName: 'n', operator: 'NUM_GT', value: 'x' }, { contextName: 'n', operator: 'NUM_GT', value: 'y' }],
    ['invalid patterns', { contextName: 's', operator: 'REGEX', value: '(' }, { contextName: 's', operator: 'REGEX', value: '[' }],
    ['unreadable CIDR entries', { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8', 'nope'] }, { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8', 'nah'] }],
    ['malformed constraints', { operator: 'IN', values: ['a'] }, { contextName: 'c', operator: 7 }],
    ['unknown operators', { contextName: 'c', operator: 'NUM_APPROX', value: '1' }, { contextName: 'c', operator: 'STR_FUZZY', values: ['a'] }],
  ])('two distinct %s give two warnings', (_name, a, b) => {
    expect(warningsOf([a, b]).length).toBe(2);
    expect(warningsOf([a, a]).length).toBe(1);
  });

  test.each<[string, Json, string]>([
    ['no number', { contextName: 'n', operator: 'NUM_GT' }, 'NUM_GT has no usable number (none given)'],
    ['an empty number', { contextName: 'n', operator: 'NUM_GT', value: '' }, 'NUM_GT has no usable number (none given)'],
    ['a word for a number', { contextName: 'n', operator: 'NUM_EQ', value: 'abc' }, 'NUM_EQ has no usable number ("abc")'],
    ['no pattern', { contextName: 's', operator: 'REGEX' }, 'REGEX has no usable pattern (none given)'],
    ['no date', { contextName: 'currentTime', operator: 'DATE_AFTER' }, 'DATE_AFTER has no usable date (none given)'],
  ])('the reason names the unusable value: %s', (_name, constraint, expected) => {
    expect(unusableOf(constraint)).toBe(expected);
  });

  test('a long context name is cut at 60 characters in warnings, one of exactly 60 is not', () => {
    const at = (n: number) => warningsOf([{ contextName: 'c'.repeat(n), operator: 'NUM_GT', value: 'x' }])[0]!;
    expect(at(61)).toContain(`"${'c'.repeat(60)}…"`);
    expect(at(60)).toContain(`"${'c'.repeat(60)}"`);
  });

  test("an invalid pattern's error is quoted in at most 80 characters", () => {
    const pattern = `(${'a'.repeat(300)}`;
    const warning = warningsOf([{ contextName: 's', operator: 'REGEX', value: pattern }])[0]!;
    const why = /invalid pattern \((.*)\); it is false/.exec(warning)?.[1];
    expect(why).toBeDefined();
    expect(why!.length).toBeLessThanOrEqual(80);
  });

  test.each<[string, string, bigint, boolean]>([
    ['DATE_AFTER, later', 'DATE_AFTER', BigInt(Date.UTC(2027, 0, 1)), true],
    ['DATE_AFTER, earlier', 'DATE_AFTER', BigInt(Date.UTC(2025, 0, 1)), false],
    ['DATE_BEFORE, earlier', 'DATE_BEFORE', BigInt(Date.UTC(2025, 0, 1)), true],
    ['DATE_BEFORE, later', 'DATE_BEFORE', BigInt(Date.UTC(2027, 0, 1)), false],
    ['DATE_AFTER, the same millisecond', 'DATE_AFTER', BigInt(Date.UTC(2026, 0, 1)), false],
    ['DATE_BEFORE, the same millisecond', 'DATE_BEFORE', BigInt(Date.UTC(2026, 0, 1)), false],
  ])('a bigint currentTime is epoch milliseconds: %s', (_name, operator, currentTime, expected) => {
    expect(constraintFlag({ contextName: 'currentTime', operator, value: '2026-01-01T00:00:00Z' }).isEnabled({ currentTime } as never)).toBe(expected);
  });

  test('a date with space around it is read once trimmed', () => {
    const flag = constraintFlag({ contextName: 'currentTime', operator: 'DATE_AFTER', value: ' 2026-01-01T00:00:00Z ' });
    expect(flag.isEnabled({ currentTime: '2027-01-01T00:00:00Z' })).toBe(true);
    expect(flag.isEnabled({ currentTime: '2025-01-01T00:00:00Z' })).toBe(false);
  });

  test('NUM_EQ: a difference of exactly Number.EPSILON is not equal', () => {
    const flag = constraintFlag({ contextName: 'n', operator: 'NUM_EQ', value: '1' });
    expect(flag.isEnabled({ properties: { n: String(1 + Number.EPSILON) } })).toBe(false);
    expect(flag.isEnabled({ properties: { n: '1' } })).toBe(true);
  });

  test.each<[string, string, boolean]>([
    ['IN', 'a', true],
    ['IN', 'c', true],
    ['IN', 'z', false],
    ['NOT_IN', 'a', false],
    ['NOT_IN', 'z', true],
  ])('%s on a short list in no order finds every entry (%s)', (operator, value, expected) => {
    expect(constraintFlag({ contextName: 'x', operator, values: ['c', 'b', 'a'] }).isEnabled({ properties: { x: value } })).toBe(expected);
  });

  test('inverted STR_CONTAINS, case-insensitive, on an ASCII value it does not contain: on, and nothing reported', () => {
    const warnings: string[] = [];
    const flag = constraintFlag({ contextName: 's', operator: 'STR_CONTAINS', values: ['abc', 'def'], caseInsensitive: true, inverted: true }, { onWarning: (w) => warnings.push(w) });
    expect(flag.isEnabled({ properties: { s: 'xyz' } })).toBe(true);
    expect(warnings).toEqual([]);
  });

  test.each<[string, string]>([
    ['STR_CONTAINS', 'xundefinedx'],
    ['STR_STARTS_WITH', 'undefinedx'],
    ['STR_ENDS_WITH', 'xundefined'],
  ])('%s never matches past the end of its list (value %s)', (operator, value) => {
    expect(constraintFlag({ contextName: 's', operator, values: ['abc'] }).isEnabled({ properties: { s: value } })).toBe(false);
  });

  test('constraints that fail to compile are reported once each, with the error cut at 80 characters', () => {
    const warnings: string[] = [];
    const throwing = { toLowerCase: () => { throw new Error(`broken ${'x'.repeat(200)}`); } };
    const constraint = (contextName: string) => ({ contextName, operator: 'STR_CONTAINS', values: [throwing], caseInsensitive: true });
    const def = { name: 'f', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [constraint('a'), constraint('b')], segments: [], variants: [] }], variants: [], dependencies: [] };
    new Engine({ onWarning: (w) => warnings.push(w) }).load({ kind: 'full', version: 2, features: [def as never], segments: [] }).get('f')!.isEnabled({});
    expect(warnings).toHaveLength(2);
    for (const w of warnings) expect(/could not be compiled \((.*)\); it is false/.exec(w)![1]!.length).toBe(80);
  });

  test('a constraint that fails to compile is off and reported as that constraint, not its strategy', () => {
    const warnings: string[] = [];
    // Only an unchecked definition (through the engine) can hold a number where text is due.
    const def = { name: 'f', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 's', operator: 'STR_CONTAINS', values: [1], caseInsensitive: true }], segments: [], variants: [] }], variants: [], dependencies: [] };
    const flag = new Engine({ onWarning: (w) => warnings.push(w) }).load({ kind: 'full', version: 2, features: [def as never], segments: [] }).get('f')!;
    const result = flag.evaluate({ properties: { s: '1' } });
    expect(result.enabled).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^constraint on "s" could not be compiled \(.+\); it is false$/);
    const miss = result.reason.kind === 'NO_STRATEGY_MATCHED' ? result.reason.strategies[0] : undefined;
    expect(miss?.failure === 'CONSTRAINT_FAILED' && miss.constraint.unusable).toMatch(/^the constraint could not be compiled \(.+\)$/);
  });
});

describe('engine and flag: rows the mutation run of engine.ts and flag.ts found missing', () => {
  test('a definition built by hand without its lists (through /engine) loads and answers', () => {
    const snapshot = new Engine({ onWarning: () => {} }).load({
      kind: 'full',
      version: 2,
      features: [{ name: 'f', enabled: true, strategies: [{ name: 'default', segments: [1] }] } as never],
      segments: [{ id: 1 } as never],
    });
    expect(snapshot.get('f')!.isEnabled({})).toBe(true);
  });

  test("the engine's contextDefaults are read by constraints on appName and environment", () => {
    const flag = snapshotOf([feature('f', [{ name: 'default', constraints: [{ contextName: 'appName', operator: 'IN', values: ['shop'] }] }])], [], { contextDefaults: { appName: 'shop' } }).get('f')!;
    expect(flag.isEnabled({})).toBe(true);
    expect(flag.isEnabled({ appName: 'other' })).toBe(false);
  });

  test.each<[string, Json[], number]>([
    ['segments 1,23 and 12,3 (one flag)', [feature('f', [{ name: 'default', segments: [1, 23] }, { name: 'default', segments: [12, 3] }])], 2],
    ['two unknown strategies', [feature('f', [{ name: 'nope' }, { name: 'nah' }])], 2],
    ['two missing parents', [feature('f', [{ name: 'default' }], { dependencies: [{ feature: 'p1' }, { feature: 'p2' }] })], 2],
  ])('load-time problems are reported once each: %s', (_name, features, count) => {
    const warnings: string[] = [];
    snapshotOf(features, [], { onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(count);
  });

  test('a long unknown strategy name is cut at 60 characters', () => {
    const warnings: string[] = [];
    snapshotOf([feature('f', [{ name: 's'.repeat(100) }])], [], { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([`unknown strategy "${'s'.repeat(60)}"; strategies using it are off`]);
  });

  test('a strategy whose parameters fail to compile is off and reported as that strategy', () => {
    const warnings: string[] = [];
    // Only an unchecked definition (through /engine) can hold a number where the IP list is due.
    const def = { name: 'f', enabled: true, strategies: [{ name: 'remoteAddress', parameters: { IPs: 5 }, constraints: [], segments: [], variants: [] }], variants: [], dependencies: [] };
    const flag = new Engine({ onWarning: (w) => warnings.push(w) }).load({ kind: 'full', version: 2, features: [def as never], segments: [] }).get('f')!;
    expect(flag.isEnabled({ remoteAddress: '5' })).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^strategy "remoteAddress" of flag "f" could not be compiled \(.{1,80}\); it is off$/);
  });

  test('strategies that fail to compile are reported once each, the error cut at 80 characters; running out of stack is not remembered', () => {
    const warnings: string[] = [];
    const strategy = (IPs: unknown) => ({ name: 'remoteAddress', parameters: { IPs }, constraints: [], segments: [], variants: [] });
    const flag = (name: string, IPs: unknown) => ({ name, enabled: true, strategies: [strategy(IPs)], variants: [], dependencies: [] });
    const long = { split: () => { throw new Error(`broken ${'x'.repeat(200)}`); } };
    let deep = 0;
    const stack = { split: () => { if (++deep === 1) throw new RangeError('Maximum call stack size exceeded'); return ['10.0.0.1']; } };
    const snapshot = new Engine({ onWarning: (w) => warnings.push(w) }).load({ kind: 'full', version: 2, features: [flag('f', long), flag('g', 5), flag('h', stack)] as never[], segments: [] });
    expect(snapshot.get('f')!.isEnabled({ remoteAddress: '10.0.0.1' })).toBe(false);
    expect(snapshot.get('g')!.isEnabled({ remoteAddress: '10.0.0.1' })).toBe(false);
    expect(warnings).toHaveLength(2);
    for (const w of warnings) expect(/could not be compiled \((.*)\); it is off/.exec(w)![1]!.length).toBeLessThanOrEqual(80);
    expect(warnings[0]).toContain(`(broken ${'x'.repeat(73)})`);
    // The stack ran out while compiling h: this call is off, the next compiles again and answers.
    expect(snapshot.get('h')!.isEnabled({ remoteAddress: '10.0.0.1' })).toBe(false);
    expect(snapshot.get('h')!.isEnabled({ remoteAddress: '10.0.0.1' })).toBe(true);
    expect(warnings.filter((w) => w.includes('"h"') && w.includes('could not be compiled'))).toEqual([]);
  });

  test("a strategy's own variants say they come from the strategy", () => {
    const snapshot = snapshotOf([feature('f', [{ name: 'default', variants: [{ name: 'v', weight: 1000, weightType: 'variable' }] }])]);
    const reason = snapshot.get('f')!.evaluate({ userId: 'u' }).reason;
    expect(reason).toMatchObject({ kind: 'STRATEGY_MATCH', variantDetail: { from: 'strategy' } });
  });

  test('a context that throws: off with an ERROR reason, reported once per flag, a non-Error named as such', () => {
    const warnings: string[] = [];
    const snapshot = snapshotOf([feature('a', [{ name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'userId' } }]), feature('b', [{ name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'userId' } }])], [], { onWarning: (w) => warnings.push(w) });
    const hostile = { get userId(): string { throw 'not an Error'; } };
    const result = snapshot.get('a')!.evaluate(hostile as never);
    expect(result.enabled).toBe(false);
    expect(result.reason.kind).toBe('ERROR');
    expect(snapshot.get('b')!.isEnabled(hostile as never)).toBe(false);
    expect(warnings).toEqual([
      'evaluating flag "a" failed (unknown error); answering off (reported once per flag)',
      'evaluating flag "b" failed (unknown error); answering off (reported once per flag)',
    ]);
  });
});

describe('strategies: rows the mutation run of strategies/ found missing', () => {
  class Always extends Strategy {
    isEnabled(): boolean {
      return true;
    }
  }

  test.each<[string, unknown, RegExp]>([
    ['an empty object', {}, /^customStrategies must hold Strategy instances/],
    ['null', null, /^customStrategies must hold Strategy instances/],
    ['a strategy with an empty name', new Always(''), /^a custom strategy needs a non-empty name$/],
    ['a strategy with a number for a name', new Always(5 as never), /^a custom strategy needs a non-empty name$/],
  ])('the engine refuses %s as a strategy with a TypeError', (_name, strategy, message) => {
    expect(() => new Engine({ strategies: [strategy as never] })).toThrow(TypeError);
    expect(() => new Engine({ strategies: [strategy as never] })).toThrow(message);
  });

  test('an object with an isEnabled method is accepted as a strategy', () => {
    const plain = { name: 'plain', isEnabled: () => true };
    expect(snapshotOf([feature('f', [{ name: 'plain' }])], [], { strategies: [plain as never] }).get('f')!.isEnabled({})).toBe(true);
  });

  test('a custom strategy that replaces a built-in one says so, once per name', () => {
    const warnings: string[] = [];
    new Engine({ strategies: [new Always('default'), new Always('userWithId')], onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual(['custom strategy "default" replaces the built-in one', 'custom strategy "userWithId" replaces the built-in one']);
  });

  test('remoteAddress: each unreadable entry is reported once, cut at 60 characters; no IPs at all is no problem', () => {
    const warnings: string[] = [];
    const flag = (IPs: string | undefined) =>
      snapshotOf([feature('f', [{ name: 'remoteAddress', parameters: IPs === undefined ? {} : { IPs } }])], [], { onWarning: (w) => warnings.push(w) }).get('f')!;
    expect(flag(undefined).isEnabled({ remoteAddress: '10.0.0.1' })).toBe(false);
    expect(warnings).toEqual([]);
    flag(`nope, ${'x'.repeat(61)}, ${'y'.repeat(60)}, 10.0.0.1`).isEnabled({ remoteAddress: '10.0.0.1' });
    expect(warnings).toEqual([
      'remoteAddress strategy ignores "nope" in IPs: not an address or CIDR range',
      `remoteAddress strategy ignores "${'x'.repeat(60)}…" in IPs: not an address or CIDR range`,
      `remoteAddress strategy ignores "${'y'.repeat(60)}" in IPs: not an address or CIDR range`,
    ]);
  });
});

describe('context reads: rows the mutation run of context.ts found missing', () => {
  test.each<[string, Context, string, string | undefined]>([
    ['an object value is absent, not an error', { properties: { plan: {} as unknown as string } }, 'plan', undefined],
    ['a symbol value is absent', { properties: { plan: Symbol('x') as unknown as string } }, 'plan', undefined],
    ['an empty top-level value falls through to properties', { tenant: '', properties: { tenant: 'acme' } } as Context, 'tenant', 'acme'],
    ['an unreadable top-level value falls through to properties', { tenant: {}, properties: { tenant: 'acme' } } as unknown as Context, 'tenant', 'acme'],
    ['properties: null', { properties: null } as unknown as Context, 'plan', undefined],
    ['an empty property is absent', { properties: { plan: '' } }, 'plan', undefined],
  ])('readField: %s', (_name, context, field, expected) => {
    expect(readField(context, field)).toBe(expected);
  });

  test('readField and readNumber without defaults: appName and environment are absent', () => {
    expect(readField({}, 'appName')).toBeUndefined();
    expect(readField({}, 'environment')).toBeUndefined();
    expect(readNumber({}, 'environment')).toBeNaN();
  });

  test('an empty or unreadable property gives way to the default', () => {
    expect(readField({ properties: { environment: '' } }, 'environment', { environment: 'prod' })).toBe('prod');
    expect(readNumber({ properties: { environment: '' } }, 'environment', { environment: '5' })).toBe(5);
    expect(readNumber({ properties: { environment: {} as unknown as string } }, 'environment', { environment: '7' })).toBe(7);
    expect(readNumber({ properties: null } as unknown as Context, 'environment', { environment: '3' })).toBe(3);
  });
});

describe('id lists: rows the mutation run of id-list.ts found missing', () => {
  // listContains is the path of lists too long to index; IdList must answer the same.
  test.each<[string, string, boolean]>([
    ['x, a', ' a', false],
    ['x,a ', 'a ', false],
    ['a,b', 'a,b', false],
    [',a', '', false],
    [' a', 'a', true],
    ['\ta,b', 'a', true],
    ['xa', 'a', false],
    ['a ,b', 'a', true],
    ['a,   ,b', 'b', true],
    ['a,   ,b', ' ', false],
    ['a,,b', '', false],
    [' ,a', 'a', true],
    ['  ,b,a', 'a', true],
  ])('%j has %j: %s', (list, id, expected) => {
    expect(listContains(list, id)).toBe(expected);
    expect(new IdList(list).has(id)).toBe(expected);
    expect(list.split(',').map((s) => s.trim()).filter((s) => s !== '').includes(id)).toBe(expected);
  });

  test('an all-space entry among others leaves every other entry found', () => {
    const list = new IdList('d,   ,b, \t ,a,c');
    for (const id of ['a', 'b', 'c', 'd']) expect(list.has(id)).toBe(true);
    for (const id of ['', ' ', 'e', 'aa']) expect(list.has(id)).toBe(false);
  });
});

describe('addresses: rows the mutation run of ip.ts found missing', () => {
  const v4 = (a: number, b: number, c: number, d: number) => [0, 0, 0xffff, ((a << 24) | (b << 16) | (c << 8) | d) >>> 0];
  test.each<[string, number[] | undefined]>([
    ['\u00a010.0.0.1\u00a0', v4(10, 0, 0, 1)],
    ['\u300010.0.0.1', v4(10, 0, 0, 1)],
    ['\u00e910.0.0.1', undefined],
    ['10.0.0.1\u00e9', undefined],
    ['\u000110.0.0.1', undefined],
    ['10.0.0.1\u0008', undefined],
    ['10.0.0.1\r', v4(10, 0, 0, 1)],
    ['\t10.0.0.1\n', v4(10, 0, 0, 1)],
    ['fe80::1%eth9', [0xfe800000, 0, 0, 1]],
    ['fe80::1%ETH0', [0xfe800000, 0, 0, 1]],
    ['fe80::1%A', [0xfe800000, 0, 0, 1]],
    ['fe80::1%Z', [0xfe800000, 0, 0, 1]],
    ['fe80::1%z', [0xfe800000, 0, 0, 1]],
    ['fe80::1%a-b', [0xfe800000, 0, 0, 1]],
    ['fe80::1%a_b', [0xfe800000, 0, 0, 1]],
    ['fe80::1%a~b', [0xfe800000, 0, 0, 1]],
    ['fe80::1%a.b', [0xfe800000, 0, 0, 1]],
    ['fe80::1%eth!0', undefined],
    ['fe80::1%eth[0', undefined],
    ['fe80::1%eth:0', undefined],
    ['fe80::1%eth/0', undefined],
    ['fe80::1%eth@0', undefined],
    ['fe80::1%eth`0', undefined],
    ['fe80::1%eth{0', undefined],
    [':11:2:3:4:5:6:7', undefined],
    [':1:2:3:4:5:6:7:8', undefined],
    ['::0.0.0.0', [0, 0, 0, 0]],
    ['::ffff:0.0.0.0', v4(0, 0, 0, 0)],
    ['x::1]', undefined],
    ['[::1]', [0, 0, 0, 1]],
    ['[::1', undefined],
  ])('parseAddress(%j)', (text, expected) => {
    expect(parseAddress(text)).toEqual(expected);
  });

  test('an IPv6 address whose low words look mapped is still IPv6', () => {
    // [0x00010000, 0, 0xffff, …]: not ::ffff:a.b.c.d, so in IPv6 ranges only.
    expect(inCidr(parseAddress('1::ffff:102:304')!, parseCidr('1::/16')!)).toBe(true);
    expect(inCidr(parseAddress('1::ffff:102:304')!, parseCidr('1.2.3.0/24')!)).toBe(false);
    // [0, 1, 0xffff, …]
    expect(inCidr(parseAddress('::1:0:ffff:102:304')!, parseCidr('::/32')!)).toBe(true);
    expect(inCidr(parseAddress('::1:0:ffff:102:304')!, parseCidr('1.2.3.4/32')!)).toBe(false);
  });
});

describe('reasons: rows the mutation run of evaluation.ts found missing (exact shapes: no key without a value)', () => {
  test('a match without rollout or variants', () => {
    expect(strategyFlag('default', {}).evaluate({}).reason).toStrictEqual({ kind: 'STRATEGY_MATCH', index: 0, name: 'default', variantFrom: 'none' });
  });

  test('a flag without strategies, with and without variants', () => {
    const plain = snapshotOf([feature('f', [])]).get('f')!;
    expect(plain.evaluate({}).reason).toStrictEqual({ kind: 'NO_STRATEGIES' });
    const withVariants = snapshotOf([feature('f', [], { variants: [v('a', 1)] })]).get('f')!;
    expect(withVariants.evaluate({ userId: 'u' }).reason).toMatchObject({ kind: 'NO_STRATEGIES', variantDetail: { from: 'feature', stickiness: 'default', value: 'u' } });
  });

  test('a declined strategy without a rollout', () => {
    const reason = strategyFlag('userWithId', { userIds: 'a' }).evaluate({ userId: 'b' }).reason;
    expect(reason).toStrictEqual({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ index: 0, name: 'userWithId', failure: 'STRATEGY_DECLINED' }] });
  });

  test.each<[string, Json, Context, Json]>([
    ['one value', { contextName: 'n', operator: 'NUM_GT', value: '5' }, { properties: { n: '3' } }, { contextName: 'n', operator: 'NUM_GT', inverted: false, caseInsensitive: false, contextValue: '3', value: '5' }],
    ['a list', { contextName: 'plan', operator: 'IN', values: ['a', 'b'] }, { properties: { plan: 'c' } }, { contextName: 'plan', operator: 'IN', inverted: false, caseInsensitive: false, contextValue: 'c', values: ['a', 'b'] }],
    ['an empty list', { contextName: 'plan', operator: 'IN', values: [] }, { properties: { plan: 'c' } }, { contextName: 'plan', operator: 'IN', inverted: false, caseInsensitive: false, contextValue: 'c' }],
    ['case-insensitive', { contextName: 'plan', operator: 'STR_CONTAINS', values: ['X'], caseInsensitive: true }, { properties: { plan: 'c' } }, { contextName: 'plan', operator: 'STR_CONTAINS', inverted: false, caseInsensitive: true, contextValue: 'c', values: ['X'] }],
  ])('the report of a failed constraint: %s', (_name, constraint, context, expected) => {
    const reason = constraintFlag(constraint).evaluate(context).reason;
    expect(reason).toStrictEqual({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ index: 0, name: 'default', failure: 'CONSTRAINT_FAILED', constraint: expected }] });
  });

  test('a constraint failing in the second segment, after the strategy own constraint held', () => {
    const segments = [
      { id: 1, constraints: [{ contextName: 'a', operator: 'IN', values: ['1'] }, { contextName: 'b', operator: 'IN', values: ['1'] }] },
      { id: 2, constraints: [{ contextName: 'c', operator: 'IN', values: ['1'] }, { contextName: 'd', operator: 'IN', values: ['1'] }] },
    ];
    const strategy = { name: 'default', parameters: {}, constraints: [{ contextName: 'own', operator: 'IN', values: ['1'] }], segments: [1, 2] };
    const flag = snapshotOf([feature('f', [strategy])], segments).get('f')!;
    const context = { properties: { own: '1', a: '1', b: '1', c: '1', d: '2' } };
    expect(flag.evaluate(context).reason).toStrictEqual({
      kind: 'NO_STRATEGY_MATCHED',
      strategies: [{ index: 0, name: 'default', failure: 'SEGMENT_FAILED', segmentId: 2, constraint: { contextName: 'd', operator: 'IN', inverted: false, caseInsensitive: false, contextValue: '2', values: ['1'], segmentId: 2 } }],
    });
    // The first constraint of the second segment: its place is the first segment's length.
    expect(flag.evaluate({ properties: { ...context.properties, c: '2' } }).reason).toMatchObject({
      strategies: [{ failure: 'SEGMENT_FAILED', segmentId: 2, constraint: { contextName: 'c', contextValue: '2' } }],
    });
  });

  test('a context that is not an object: the report reads a defaulted field as the walk did', () => {
    const flag = constraintFlag({ contextName: 'appName', operator: 'IN', values: ['other'] }, { contextDefaults: { appName: 'web' } });
    const reason = flag.evaluate('ctx' as never).reason;
    expect(reason.kind === 'NO_STRATEGY_MATCHED' && reason.strategies[0]!.failure === 'CONSTRAINT_FAILED' && reason.strategies[0]!.constraint.contextValue).toBe('web');
  });
});

describe('engine: rows the second mutation run of engine.ts found missing (after the compact-list and name-index changes)', () => {
  const plain = (name: string) => ({ name, enabled: true, strategies: [{ name: 'default', parameters: {} }] });

  test('checkDeferred: done at once when nothing is deferred, and in one call when nothing asks to yield', () => {
    const checked = new Engine().load(parseClientPayload({ features: [plain('a'), plain('b')] }).payload);
    expect(checked.checkDeferred(() => true)).toBe(true);
    // Nothing to check with: the string table is dropped at load.
    expect(checked.get('a')!.shared.interner).toBeUndefined();
    const deferred = new Engine().load(readClientPayload({ features: [plain('a'), plain('b'), plain('c')] }).payload);
    expect(deferred.get('a')!.shared.interner).toBeDefined();
    expect(deferred.checkDeferred(() => false)).toBe(true);
    // Once every flag is checked, the table goes.
    expect(deferred.get('a')!.shared.interner).toBeUndefined();
  });

  test('hand-built lists that are null or empty become the one shared frozen empty list', () => {
    const snapshot = new Engine().load({
      kind: 'full',
      version: 2,
      features: [{ name: 'f', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: null, segments: [], variants: [] }], variants: null, dependencies: [] } as never],
      segments: [],
    });
    const definition = snapshot.get('f')!.definition;
    expect(snapshot.get('f')!.isEnabled({})).toBe(true);
    expect(Object.isFrozen(definition.variants)).toBe(true);
    expect(definition.variants).toBe(definition.dependencies);
    expect(definition.strategies[0]!.constraints).toBe(definition.variants);
  });

  test('segments the door built are taken as they are', () => {
    const payload = parseClientPayload({ features: [], segments: [{ id: 1, constraints: [{ contextName: 'a', operator: 'IN', values: ['1'] }] }] }).payload;
    const snapshot = new Engine().load(payload);
    expect(snapshot.state().segments.get(1)).toBe(payload.kind === 'full' && payload.segments[0]);
  });

  test('a hand-built hydration is compacted like any hand-built definition', () => {
    const engine = new Engine();
    const handBuilt = { name: 'h', enabled: true, strategies: [{ name: 'default', parameters: {} }] } as unknown as FeatureDefinition;
    engine.load({ kind: 'delta', events: [{ type: 'hydration', eventId: 1, features: [handBuilt], segments: [] }] });
    const definition = engine.snapshot.get('h')!.definition;
    expect(definition).not.toBe(handBuilt);
    expect(definition.dependencies).toEqual([]);
  });

  test('a pending load asked for its snapshot too early says so', () => {
    const pending = new Engine().prepare(parseClientPayload({ features: [plain('a')] }).payload);
    expect(() => pending.compiled()).toThrow('Engine: compiled() before the pending load was done');
  });

  test('flags without dependencies share one empty list of parents', () => {
    const snapshot = new Engine().load(parseClientPayload({ features: [plain('a'), plain('b')] }).payload);
    expect(snapshot.get('a')!.parents).toHaveLength(0);
    expect(snapshot.get('a')!.parents).toBe(snapshot.get('b')!.parents);
  });
});
