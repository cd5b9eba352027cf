import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Engine } from '../../lib/engine';
import { evaluateIn as explain } from '../../lib/engine/evaluation';
import { parseClientPayload } from '../../lib/payload';
import type { FeatureDefinition, StrategyDefinition } from '../../lib/types';

const s = (name: string, parameters: Record<string, string> = {}, extra: Partial<StrategyDefinition> = {}): StrategyDefinition => ({
  name, parameters, constraints: [], segments: [], variants: [], ...extra,
});
const f = (name: string, extra: Partial<FeatureDefinition> = {}): FeatureDefinition => ({
  name, enabled: true, strategies: [s('default')], variants: [], dependencies: [], impressionData: false, ...extra,
});

const engine = new Engine({ hostname: 'h' });
engine.load({
  kind: 'full',
  version: 2,
  segments: [{ id: 5, constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }] }],
  features: [
    f('off', { enabled: false }),
    f('bare', { strategies: [] }),
    f('parent', { enabled: false }),
    f('child', { dependencies: [{ feature: 'parent' }] }),
    f('rollout', {
      strategies: [
        s('userWithId', { userIds: 'vip' }, { constraints: [{ contextName: 'country', operator: 'IN', values: ['NO'] }] }),
        s('flexibleRollout', { rollout: '40', stickiness: 'userId', groupId: 'g' }, { segments: [5] }),
        s('mystery'),
        s('default', {}, { segments: [99] }),
      ],
      variants: [{ name: 'blue', weight: 1 }],
    }),
  ],
});
const snap = engine.snapshot;


/**
 * The first user `u<n>` (n < 10,000) with `plan: pro` for whom `wanted` holds. Bounded, so
 * that a change turning every rollout on or off fails the test at once rather than hanging
 * it (mutation testing made such hangs cost a minute each).
 */
function findUser(wanted: (ctx: { userId: string; properties: { plan: string } }) => boolean): number {
  for (let user = 0; user < 10_000; user++) if (wanted({ userId: `u${user}`, properties: { plan: 'pro' } })) return user;
  throw new Error('no user among 10,000 has the rollout answer the test needs');
}

describe('explain', () => {
  test('FLAG_NOT_FOUND', () => {
    expect(explain(snap, 'ghost', {})).toEqual({ flag: 'ghost', enabled: false, variant: { name: 'disabled', enabled: false, feature_enabled: false }, reason: { kind: 'FLAG_NOT_FOUND' } });
  });

  test('DISABLED', () => {
    expect(explain(snap, 'off', {}).reason).toEqual({ kind: 'DISABLED' });
  });

  test('NO_STRATEGIES', () => {
    expect(explain(snap, 'bare', {})).toMatchObject({ enabled: true, reason: { kind: 'NO_STRATEGIES' } });
  });

  test('DEPENDENCY_FAILED names the parent and why', () => {
    expect(explain(snap, 'child', {}).reason).toEqual({ kind: 'DEPENDENCY_FAILED', parent: 'parent', why: 'parent is disabled' });
  });

  test('NO_STRATEGY_MATCHED reports each strategy: constraint, segment, rollout bucket, unknown, missing segment', () => {
    // find a user outside the 40% rollout
    const user = findUser((ctx) => !snap.get('rollout')!.isEnabled(ctx));
    const e = explain(snap, 'rollout', { userId: `u${user}`, properties: { country: 'SE', plan: 'pro' } });
    expect(e.enabled).toBe(false);
    expect(e.reason.kind).toBe('NO_STRATEGY_MATCHED');
    if (e.reason.kind !== 'NO_STRATEGY_MATCHED') return;
    const [first, second, third, fourth] = e.reason.strategies;
    expect(first).toEqual({
      index: 0, name: 'userWithId', failure: 'CONSTRAINT_FAILED',
      constraint: { contextName: 'country', operator: 'IN', values: ['NO'], inverted: false, caseInsensitive: false, contextValue: 'SE' },
    });
    expect(second).toMatchObject({ index: 1, name: 'flexibleRollout', failure: 'STRATEGY_DECLINED', rollout: { stickiness: 'userId', value: `u${user}`, threshold: 40 } });
    if (second?.failure === 'STRATEGY_DECLINED') expect(second.rollout!.bucket).toBeGreaterThan(40);
    expect(third).toEqual({ index: 2, name: 'mystery', failure: 'UNKNOWN_STRATEGY' });
    expect(fourth).toEqual({ index: 3, name: 'default', failure: 'SEGMENT_MISSING', segmentIds: [99] });

    const noPlan = explain(snap, 'rollout', { userId: 'x' });
    if (noPlan.reason.kind !== 'NO_STRATEGY_MATCHED') throw new Error('expected no match');
    expect(noPlan.reason.strategies[1]).toMatchObject({ failure: 'SEGMENT_FAILED', segmentId: 5, constraint: { contextName: 'plan', contextValue: undefined, segmentId: 5 } });
  });

  test('STRATEGY_MATCH gives the index, the rollout bucket and threshold, and the variant', () => {
    const user = findUser((ctx) => snap.get('rollout')!.isEnabled(ctx));
    const e = explain(snap, 'rollout', { userId: `u${user}`, properties: { plan: 'pro' } });
    expect(e).toMatchObject({ enabled: true, variant: { name: 'blue' }, reason: { kind: 'STRATEGY_MATCH', index: 1, name: 'flexibleRollout', variantFrom: 'feature', rollout: { threshold: 40 } } });
    if (e.reason.kind === 'STRATEGY_MATCH') expect(e.reason.rollout!.bucket).toBeLessThanOrEqual(40);
  });

  test('ERROR when the context cannot be read', () => {
    const hostile = { get properties(): Record<string, string> { throw new Error('bad context'); } };
    expect(explain(snap, 'rollout', hostile).reason).toEqual({ kind: 'ERROR', message: 'bad context' });
  });
});

describe('explain agrees with evaluation on the whole client specification', () => {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('@unleash/client-specification/package.json')), 'specifications');
  const files = (JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as string[]).filter((file) => !file.includes('random'));
  test.each(files)('%s', (file) => {
    const spec = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const e = new Engine({ hostname: 'h', random: () => 0.5 });
    e.load(parseClientPayload(spec.state).payload);
    for (const t of [...(spec.tests ?? []), ...(spec.variantTests ?? [])]) {
      const flag = e.snapshot.get(t.toggleName);
      const ex = explain(e.snapshot, t.toggleName, t.context);
      expect(ex.enabled).toBe(flag ? flag.isEnabled(t.context) : false);
      expect(ex.variant).toEqual(flag ? flag.getVariant(t.context) : ex.variant);
    }
  });
});

describe('dependency reasons say which way the parent failed', () => {
  const deps = new Engine();
  deps.load({
    kind: 'full',
    version: 2,
    segments: [],
    features: [
      f('switched-off', { enabled: false }),
      f('declines', { strategies: [s('userWithId', { userIds: 'vip' })], variants: [{ name: 'gold', weight: 1 }] }),
      f('on', { variants: [{ name: 'silver', weight: 1 }] }),
      f('nested', { dependencies: [{ feature: 'on' }] }),
      f('needs-off', { dependencies: [{ feature: 'switched-off' }] }),
      f('needs-declines', { dependencies: [{ feature: 'declines' }] }),
      f('needs-declines-variant', { dependencies: [{ feature: 'declines', variants: ['gold'] }] }),
      f('needs-bronze', { dependencies: [{ feature: 'on', variants: ['bronze'] }] }),
      f('needs-not-on', { dependencies: [{ feature: 'on', enabled: false }] }),
      f('needs-ghost', { dependencies: [{ feature: 'ghost' }] }),
      f('needs-nested', { dependencies: [{ feature: 'nested' }] }),
    ],
  });
  test.each<[string, Record<string, string>, string | undefined]>([
    ['needs-off', {}, 'parent is disabled'],
    ['needs-declines', { userId: 'someone' }, 'parent is off for this context'],
    ['needs-declines', { userId: 'vip' }, undefined],
    ['needs-declines-variant', { userId: 'someone' }, 'parent is off for this context'],
    ['needs-declines-variant', { userId: 'vip' }, undefined],
    ['needs-bronze', {}, 'parent variant "silver" is not one of the required variants'],
    ['needs-not-on', {}, 'parent is on for this context'],
    ['needs-ghost', {}, 'parent flag not found'],
    ['needs-nested', {}, 'parent has dependencies of its own'],
  ])('%s with %j', (name, context, why) => {
    const r = deps.snapshot.get(name)!.evaluate(context);
    if (why === undefined) {
      expect(r).toMatchObject({ enabled: true, reason: { kind: 'STRATEGY_MATCH' } });
    } else {
      expect(r).toMatchObject({ enabled: false, reason: { kind: 'DEPENDENCY_FAILED', why } });
    }
    expect(r.enabled).toBe(deps.snapshot.get(name)!.isEnabled(context));
  });
});

describe('malformed constraints', () => {
  test('are reported in words, never with an internal placeholder, and explained as failed', () => {
    const warnings: string[] = [];
    const e = new Engine({ onWarning: (m) => warnings.push(m) });
    const snapshot = e.load(
      parseClientPayload({
        version: 2,
        features: [{ name: 'm', enabled: true, strategies: [{ name: 'default', constraints: [{ operator: 'IN', values: ['x'] }] }] }],
      }).payload,
    );
    const r = snapshot.get('m')!.evaluate({});
    expect(r.enabled).toBe(false);
    expect(r.reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ failure: 'CONSTRAINT_FAILED', constraint: { operator: 'IN', unusable: 'the constraint has no contextName' } }] });
    expect(warnings).toEqual(['a constraint has no contextName; it is false']);
    expect(warnings.join('\n')).not.toMatch(/__|invalid__/);
  });
});

describe('an unusable constraint value fails closed, and the reason names it', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['NUM_EQ "abc"', { contextName: 'n', operator: 'NUM_EQ', value: 'abc' }, /^NUM_EQ has no usable number \("abc"\)$/],
    ['SEMVER_GTE "x.y.z"', { contextName: 'v', operator: 'SEMVER_GTE', value: 'x.y.z' }, /^SEMVER_GTE has no usable version \("x\.y\.z"\)$/],
    ['DATE_AFTER "someday"', { contextName: 'currentTime', operator: 'DATE_AFTER', value: 'someday' }, /^DATE_AFTER has no usable date \("someday"\)$/],
    ['REGEX "(unclosed"', { contextName: 'r', operator: 'REGEX', value: '(unclosed' }, /^REGEX pattern "\(unclosed" is invalid/],
    ['IN_CIDR with no usable range', { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['nope', '10.0.0.0/99'] }, /^IN_CIDR has no usable range \("nope,10\.0\.0\.0\/99"\)$/],
    ['an unknown operator', { contextName: 'x', operator: 'SOUNDS_LIKE', values: ['a'] }, /^unknown operator "SOUNDS_LIKE"$/],
  ])('%s, inverted or not', (_name, c, unusable) => {
    for (const inverted of [false, true]) {
      const snapshot = new Engine().load({
        kind: 'full',
        version: 2,
        segments: [],
        features: [f('x', { strategies: [s('default', {}, { constraints: [{ ...(c as { contextName: string; operator: string }), inverted }] })] })],
      });
      const context = { n: '1', v: '1.0.0', r: 'a', remoteAddress: '10.0.0.1', x: 'a', currentTime: '2026-01-01T00:00:00Z' };
      const r = snapshot.get('x')!.evaluate(context);
      expect(r.enabled).toBe(false);
      expect(snapshot.get('x')!.isEnabled(context)).toBe(false);
      if (r.reason.kind !== 'NO_STRATEGY_MATCHED') throw new Error(`unexpected ${r.reason.kind}`);
      const miss = r.reason.strategies[0]!;
      if (miss.failure !== 'CONSTRAINT_FAILED') throw new Error(`unexpected ${miss.failure}`);
      expect(miss.constraint.unusable).toMatch(unusable);
      expect(miss.constraint.inverted).toBe(inverted);
    }
  });

  test('a usable constraint that fails has no unusable note', () => {
    const snapshot = new Engine().load({
      kind: 'full', version: 2, segments: [],
      features: [f('x', { strategies: [s('default', {}, { constraints: [{ contextName: 'n', operator: 'NUM_GT', value: '5' }] })] })],
    });
    const r = snapshot.get('x')!.evaluate({ properties: { n: 1 } });
    expect(r.reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ constraint: { contextValue: '1' } }] });
    if (r.reason.kind === 'NO_STRATEGY_MATCHED' && r.reason.strategies[0]!.failure === 'CONSTRAINT_FAILED') expect(r.reason.strategies[0]!.constraint.unusable).toBeUndefined();
  });
});

describe('rollout details in reasons name the stickiness that decided', () => {
  const rollouts = new Engine({ random: () => 0.995 }).load({
    kind: 'full',
    version: 2,
    segments: [],
    features: [
      f('default-100', { strategies: [s('flexibleRollout', { rollout: '100', stickiness: 'default', groupId: 'g' })] }),
      f('default-0', { strategies: [s('flexibleRollout', { rollout: '0', stickiness: 'default', groupId: 'g' })] }),
      f('field-0', { strategies: [s('flexibleRollout', { rollout: '0', stickiness: 'tenant', groupId: 'g' })] }),
      f('random-0', { strategies: [s('gradualRolloutRandom', { percentage: '0' })] }),
    ],
  });
  const reasonOf = (name: string, context: Record<string, unknown>) => rollouts.get(name)!.evaluate(context).reason;

  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['a userId', { userId: 'u1', sessionId: 's1' }, { stickiness: 'default→userId', value: 'u1', threshold: 100 }],
    ['a sessionId without userId', { sessionId: 's1' }, { stickiness: 'default→sessionId', value: 's1', threshold: 100 }],
    ['neither: a random bucket', {}, { stickiness: 'default→random', bucket: 100, threshold: 100 }],
  ])('default stickiness with %s, matched', (_name, context, rollout) => {
    const reason = reasonOf('default-100', context);
    expect(reason).toMatchObject({ kind: 'STRATEGY_MATCH', rollout });
    if (reason.kind === 'STRATEGY_MATCH') {
      expect(Object.keys(reason.rollout!).sort()).toEqual(Object.keys({ bucket: 0, threshold: 0, stickiness: '', ...rollout }).sort());
      expect(reason.rollout!.bucket).toBeGreaterThanOrEqual(1);
    }
  });

  test.each<[string, string, Record<string, unknown>, Record<string, unknown>]>([
    ['default stickiness, declined', 'default-0', { userId: 'u1' }, { stickiness: 'default→userId', value: 'u1', threshold: 0 }],
    ['a field rollout without the field', 'field-0', {}, { stickiness: 'tenant', threshold: 0 }],
    ['a field rollout with the field', 'field-0', { properties: { tenant: 't1' } }, { stickiness: 'tenant', value: 't1', threshold: 0 }],
    ['a random rollout', 'random-0', {}, { stickiness: 'random', bucket: 100, threshold: 0 }],
  ])('%s', (_name, flag, context, rollout) => {
    const reason = reasonOf(flag, context);
    expect(reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ failure: 'STRATEGY_DECLINED', rollout }] });
    if (reason.kind === 'NO_STRATEGY_MATCHED' && reason.strategies[0]!.failure === 'STRATEGY_DECLINED') {
      const detail = reason.strategies[0]!.rollout!;
      // A missing field has no bucket; every other rollout reports the one it drew.
      expect('bucket' in detail).toBe(!(flag === 'field-0' && context.properties === undefined));
    }
  });
});

describe('a reason never throws, whatever the context', () => {
  // Found by the deferred-flag property test: the report of a failed constraint read the
  // context again, and a context that is not an object made evaluate() throw.
  // A constraint with no contextName fails without reading the context (the case found).
  const flagWith = (contextName: string | undefined) =>
    new Engine({ onWarning: () => {} }).load(parseClientPayload({ features: [{ name: 'f', enabled: true, strategies: [{ name: 'default', constraints: [{ contextName, operator: 'IN', values: ['x'] }] }] }] }).payload).get('f')!;
  let reads = 0;
  const flaky = {
    get properties(): Record<string, string> {
      // The walk reads it once; the report's second read throws.
      if (++reads > 1) throw new Error('gone');
      return { plan: 'y' };
    },
  };
  test.each([
    ['undefined', undefined, undefined],
    ['null', null, undefined],
    ['a number', 42, 'plan'],
    ['a string', 'ctx', 'plan'],
    ['a getter that throws on the second read', flaky, 'plan'],
  ])('%s: NO_STRATEGY_MATCHED, the value unread', (_, context, contextName) => {
    reads = 0;
    const result = flagWith(contextName).evaluate(context as never);
    expect(result.enabled).toBe(false);
    expect(result.reason.kind).toBe('NO_STRATEGY_MATCHED');
    const miss = result.reason.kind === 'NO_STRATEGY_MATCHED' ? result.reason.strategies[0]! : undefined;
    expect(miss?.failure).toBe('CONSTRAINT_FAILED');
    expect(miss?.failure === 'CONSTRAINT_FAILED' && miss.constraint.contextValue).toBeUndefined();
  });
});
