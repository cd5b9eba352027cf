/**
 * Table rows for variant selection: targets at the exact weight boundary (computed with
 * the reference murmur package), overrides, and every stickiness source.
 */
import { feature, snapshotOf, variantFlag, variantTargetOf, type Context, type EngineSettings, type Json } from './build';

const v = (name: string, weight: number, extra: Json = {}): Json => ({ name, weight, weightType: 'variable', ...extra });

/** The first id `prefix-N` whose reference target in `group` (out of `total`) satisfies `wanted`. */
function idWithTarget(group: string, total: number, wanted: (target: number) => boolean, prefix = 'user'): { id: string; target: number } {
  for (let i = 0; i < 100000; i++) {
    const id = `${prefix}-${i}`;
    const target = variantTargetOf(group, id, total);
    if (wanted(target)) return { id, target };
  }
  throw new Error('no id found');
}

describe('weights at the boundary', () => {
  test.each([
    ['f', 'user'],
    ['flag', 'us'],
    ['flag1', 'jürgen'],
    ['flag12', '用户'],
    ['grüppe', 'u'],
  ])('flag %s, ids %s…: the variant whose cumulative weight first reaches the target', (flag, prefix) => {
    const total = 1000;
    const { id, target } = idWithTarget(flag, total, (t) => t > 1 && t < total - 1, prefix);
    const pick = (weights: number[]) =>
      variantFlag(weights.map((w, i) => v(`v${i}`, w)), {}, flag).getVariant({ userId: id }).name;
    // Target t: the first variant ends exactly at t, or one short of it.
    expect(pick([target, total - target])).toBe('v0');
    expect(pick([target - 1, total - target + 1])).toBe('v1');
    // With a middle variant ending exactly at t, or one past it.
    expect(pick([target - 1, 1, total - target])).toBe('v1');
    expect(pick([target - 1, 2, total - target - 1])).toBe('v1');
    expect(pick([target - 2, 1, total - target + 1])).toBe('v2');
    // A zero-weight variant is never picked.
    expect(pick([target - 1, 0, total - target + 1])).toBe('v2');
  });

  test.each([
    ['target 1: the first variant of weight 1', (t: number) => t === 1, [1, 99], 'v0'],
    ['target 2: past a first variant of weight 1', (t: number) => t === 2, [1, 99], 'v1'],
    ['target 100: the last variant', (t: number) => t === 100, [99, 1], 'v1'],
    ['target 99: not the last variant of weight 1', (t: number) => t === 99, [99, 1], 'v0'],
    ['target 1 skips a leading zero weight', (t: number) => t === 1, [0, 1, 99], 'v1'],
  ])('%s', (_name, wanted, weights, expected) => {
    const { id } = idWithTarget('f', 100, wanted);
    expect(variantFlag(weights.map((w, i) => v(`v${i}`, w))).getVariant({ userId: id }).name).toBe(expected);
  });

  test('the reference target of 123 in Feature.Variants, total 1000, is 800', () => {
    expect(variantTargetOf('Feature.Variants', '123', 1000)).toBe(800);
  });
});

describe('results', () => {
  test('a variant answer: enabled, with its payload, frozen', () => {
    const flag = variantFlag([v('a', 1, { payload: { type: 'json', value: '{"x":1}' } })]);
    const variant = flag.getVariant({ userId: 'u' });
    expect(variant).toEqual({ name: 'a', enabled: true, feature_enabled: true, payload: { type: 'json', value: '{"x":1}' } });
    expect(Object.isFrozen(variant)).toBe(true);
    expect(Object.isFrozen(variant.payload)).toBe(true);
  });

  test('a variant without a payload has none', () => {
    expect(variantFlag([v('a', 1)]).getVariant({})).toEqual({ name: 'a', enabled: true, feature_enabled: true });
  });

  test.each<[string, Json[], boolean]>([
    ['no variants', [], true],
    ['only zero weights', [v('a', 0), v('b', 0)], true],
  ])('%s: disabled, feature on', (_name, variants) => {
    const variant = variantFlag(variants).getVariant({ userId: 'u' });
    expect(variant).toEqual({ name: 'disabled', enabled: false, feature_enabled: true });
    expect(Object.isFrozen(variant)).toBe(true);
  });

  test('a flag that is off: disabled, feature off', () => {
    const snap = snapshotOf([feature('f', [{ name: 'default' }], { enabled: false, variants: [v('a', 1)] })]);
    expect(snap.get('f')!.getVariant({ userId: 'u' })).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
  });
});

describe('overrides', () => {
  const variants = [
    v('a', 50, { overrides: [{ contextName: 'userId', values: ['u1', 'u2'] }] }),
    v('b', 50, { overrides: [{ contextName: 'plan', values: ['gold'] }, { contextName: 'userId', values: ['u2', 'u3'] }] }),
  ];

  test.each<[string, Context, string]>([
    ['a userId override', { userId: 'u1' }, 'a'],
    ['the first matching override wins', { userId: 'u2' }, 'a'],
    ['an override of the second variant', { userId: 'u3' }, 'b'],
    ['an override on a property', { userId: 'u1', properties: { plan: 'gold' } }, 'a'],
    ['an override on a property, no userId', { properties: { plan: 'gold' } }, 'b'],
    ['an override on a top-level field', { plan: 'gold' }, 'b'],
    ['a property override and a userId override of the same variant', { properties: { plan: 'gold' }, userId: 'u3' }, 'b'],
  ])('%s', (_name, context, expected) => {
    expect(variantFlag(variants).getVariant(context).name).toBe(expected);
  });

  test('no override applies: the hash decides, not the override list', () => {
    const { id } = idWithTarget('f', 100, (t) => t <= 50);
    const { id: other } = idWithTarget('f', 100, (t) => t > 50);
    const flag = variantFlag(variants);
    expect([flag.getVariant({ userId: id, properties: { plan: 'silver' } }).name, flag.getVariant({ userId: other }).name]).toEqual(['a', 'b']);
  });

  test('a number value matches an override as text', () => {
    const flag = variantFlag([v('a', 1), v('b', 1, { overrides: [{ contextName: 'n', values: ['7'] }] })], { random: () => 0 });
    expect(flag.getVariant({ properties: { n: 7 } }).name).toBe('b');
  });

  test('an override variant of weight 0 is still chosen by override', () => {
    const flag = variantFlag([v('a', 1), v('b', 0, { overrides: [{ contextName: 'userId', values: ['vip'] }] })]);
    expect(flag.getVariant({ userId: 'vip' }).name).toBe('b');
  });
});

describe('stickiness', () => {
  // Two variants of 50: an id below the target line picks a, above it b.
  const low = idWithTarget('f', 100, (t) => t <= 50);
  const high = idWithTarget('f', 100, (t) => t > 50);
  const pair = (stickiness?: string): Json[] => [v('a', 50, stickiness === undefined ? {} : { stickiness }), v('b', 50)];
  // random() picks the target floor(random * total) + 1: 0 is a, 0.99 is b.
  const randomA: EngineSettings = { random: () => 0 };
  const randomB: EngineSettings = { random: () => 0.99 };

  test.each<[string, string | undefined, Context, EngineSettings, string]>([
    ['default: userId (low)', undefined, { userId: low.id, sessionId: high.id, remoteAddress: high.id }, randomB, 'a'],
    ['default: userId (high)', undefined, { userId: high.id, sessionId: low.id }, randomA, 'b'],
    ['default: sessionId without userId', undefined, { sessionId: low.id, remoteAddress: high.id }, randomB, 'a'],
    ['default: sessionId without userId (high)', undefined, { sessionId: high.id, remoteAddress: low.id }, randomA, 'b'],
    ['default: an empty userId is absent', undefined, { userId: '', sessionId: high.id }, randomA, 'b'],
    ['default: remoteAddress without userId and sessionId', undefined, { remoteAddress: low.id }, randomB, 'a'],
    ['default: remoteAddress (high)', undefined, { remoteAddress: high.id }, randomA, 'b'],
    ['default: an empty sessionId is absent', undefined, { sessionId: '', remoteAddress: high.id }, randomA, 'b'],
    ['default: random without any id (a)', undefined, {}, randomA, 'a'],
    ['default: random without any id (b)', undefined, {}, randomB, 'b'],
    ['default: an empty remoteAddress is absent', undefined, { remoteAddress: '' }, randomB, 'b'],
    ['default: a null userId is no id', undefined, { userId: null }, randomB, 'b'],
    ['"default" by name', 'default', { userId: low.id }, randomB, 'a'],
    ['an empty stickiness is default', '', { userId: high.id }, randomA, 'b'],
    ['random ignores the ids (a)', 'random', { userId: high.id }, randomA, 'a'],
    ['random ignores the ids (b)', 'random', { userId: low.id }, randomB, 'b'],
    ['userId by name', 'userId', { userId: low.id, sessionId: high.id }, randomB, 'a'],
    ['sessionId by name', 'sessionId', { userId: high.id, sessionId: low.id }, randomB, 'a'],
    ['a custom property', 'tenant', { userId: high.id, properties: { tenant: low.id } }, randomB, 'a'],
    ['a custom property (high)', 'tenant', { userId: low.id, properties: { tenant: high.id } }, randomA, 'b'],
    ['a custom top-level field', 'tenant', { tenant: low.id }, randomB, 'a'],
    ['a missing custom field falls back to random (a)', 'tenant', { userId: high.id }, randomA, 'a'],
    ['a missing custom field falls back to random (b)', 'tenant', { userId: low.id }, randomB, 'b'],
  ])('%s', (_name, stickiness, context, settings, expected) => {
    expect(variantFlag(pair(stickiness), settings).getVariant(context).name).toBe(expected);
  });

  test('random targets: floor(random * total) + 1, at the boundary', () => {
    const variants = [v('a', 1), v('b', 1)];
    expect(variantFlag(variants, { random: () => 0.49 }).getVariant({}).name).toBe('a');
    expect(variantFlag(variants, { random: () => 0.5 }).getVariant({}).name).toBe('b');
    expect(variantFlag([v('a', 2), v('b', 1)], { random: () => 0.66 }).getVariant({}).name).toBe('a');
    expect(variantFlag([v('a', 2), v('b', 1)], { random: () => 0.67 }).getVariant({}).name).toBe('b');
  });

  test("the first variant's stickiness rules the list", () => {
    const variants = [v('a', 50, { stickiness: 'tenant' }), v('b', 50, { stickiness: 'userId' })];
    expect(variantFlag(variants, randomB).getVariant({ userId: high.id, properties: { tenant: low.id } }).name).toBe('a');
  });
});

describe('strategy variants', () => {
  const strategyVariantFlag = (strategy: Json, featureVariants: Json[] = [], settings: EngineSettings = {}) =>
    snapshotOf([feature('f', [strategy], { variants: featureVariants })], [], settings).get('f')!;

  test('they hash in the strategy groupId', () => {
    const { id, target } = idWithTarget('grp', 100, (t) => t > 1 && t < 100);
    const at = (weight: number) =>
      strategyVariantFlag({ name: 'flexibleRollout', parameters: { rollout: '100', groupId: 'grp' }, variants: [v('a', weight), v('b', 100 - weight)] }).getVariant({ userId: id }).name;
    expect([at(target), at(target - 1)]).toEqual(['a', 'b']);
  });

  test('without a groupId they hash in the flag name', () => {
    const { id, target } = idWithTarget('f', 100, (t) => t > 1 && t < 100);
    const at = (weight: number) => strategyVariantFlag({ name: 'default', variants: [v('a', weight), v('b', 100 - weight)] }).getVariant({ userId: id }).name;
    expect([at(target), at(target - 1)]).toEqual(['a', 'b']);
  });

  test("the strategy's stickiness applies when its first variant has none", () => {
    const low = idWithTarget('grp', 100, (t) => t <= 50);
    const high = idWithTarget('grp', 100, (t) => t > 50);
    const flag = strategyVariantFlag({ name: 'flexibleRollout', parameters: { rollout: '100', groupId: 'grp', stickiness: 'tenant' }, variants: [v('a', 50), v('b', 50)] });
    expect([flag.getVariant(<Context>{ userId: high.id, tenant: low.id }).name, flag.getVariant(<Context>{ userId: low.id, tenant: high.id }).name]).toEqual(['a', 'b']);
  });

  test('they win over feature variants; the matching strategy decides', () => {
    const flag = snapshotOf([
      feature('f', [
        { name: 'userWithId', parameters: { userIds: 'one' }, variants: [v('first', 1)] },
        { name: 'userWithId', parameters: { userIds: 'two' }, variants: [v('second', 1)] },
        { name: 'userWithId', parameters: { userIds: 'three' } },
      ], { variants: [v('feature', 1)] }),
    ]).get('f')!;
    expect(['one', 'two', 'three', 'four'].map((userId) => flag.getVariant({ userId }).name)).toEqual(['first', 'second', 'feature', 'disabled']);
  });

  test('a strategy with only zero-weight variants falls back to the feature variants', () => {
    const flag = strategyVariantFlag({ name: 'default', variants: [v('a', 0)] }, [v('feature', 1)]);
    expect(flag.getVariant({}).name).toBe('feature');
  });
});
