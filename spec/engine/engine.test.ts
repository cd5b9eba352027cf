import { applyDelta, Engine } from '../../lib/engine';
import { parseClientPayload, readClientPayload } from '../../lib/payload';
import { isDeferred } from '../../lib/engine/compact';
import { takenAsTheyAre } from '../support/checked';
import type { ConstraintDefinition, FeatureDefinition, StrategyDefinition } from '../../lib/types';

const s = (name: string, parameters: Record<string, string> = {}, extra: Partial<StrategyDefinition> = {}): StrategyDefinition => ({
  name, parameters, constraints: [], segments: [], variants: [], ...extra,
});
const f = (name: string, extra: Partial<FeatureDefinition> = {}): FeatureDefinition => ({
  name, enabled: true, strategies: [s('default')], variants: [], dependencies: [], impressionData: false, ...extra,
});

function load(features: FeatureDefinition[], segments = [] as { id: number; constraints: StrategyDefinition['constraints'] }[], warnings: string[] = []) {
  const engine = new Engine({ onWarning: (m) => warnings.push(m) });
  engine.load({ kind: 'full', version: 2, features, segments });
  return engine.snapshot;
}

describe('flags', () => {
  test('a disabled flag is off whatever its strategies say', () => {
    expect(load([f('x', { enabled: false })]).get('x')!.isEnabled({})).toBe(false);
  });

  test('a flag with no strategies is on', () => {
    expect(load([f('x', { strategies: [] })]).get('x')!.isEnabled({})).toBe(true);
  });

  test('strategies are ORed, constraints within a strategy ANDed', () => {
    const flag = load([
      f('x', {
        strategies: [
          s('default', {}, { constraints: [
            { contextName: 'a', operator: 'IN', values: ['1'] },
            { contextName: 'b', operator: 'IN', values: ['1'] },
          ] }),
          s('userWithId', { userIds: 'vip' }),
        ],
      }),
    ]).get('x')!;
    expect(flag.isEnabled({ properties: { a: '1', b: '1' } })).toBe(true);
    expect(flag.isEnabled({ properties: { a: '1', b: '2' } })).toBe(false);
    expect(flag.isEnabled({ userId: 'vip', properties: { a: '1', b: '2' } })).toBe(true);
  });

  test('an unknown flag is absent from the snapshot', () => {
    expect(load([]).get('nope')).toBeUndefined();
  });
});

describe('segments', () => {
  const segment = { id: 7, constraints: [{ contextName: 'country', operator: 'IN', values: ['NO'] }] };

  test("a segment's constraints apply to the strategies that reference it", () => {
    const flag = load([f('x', { strategies: [s('default', {}, { segments: [7] })] })], [segment]).get('x')!;
    expect(flag.isEnabled({ properties: { country: 'NO' } })).toBe(true);
    expect(flag.isEnabled({ properties: { country: 'SE' } })).toBe(false);
  });

  test('a missing segment makes that strategy off, with one warning', () => {
    const warnings: string[] = [];
    const snapshot = load(
      [f('x', { strategies: [s('default', {}, { segments: [99] })] }), f('y', { strategies: [s('default', {}, { segments: [99] })] })],
      [],
      warnings,
    );
    expect(snapshot.get('x')!.isEnabled({})).toBe(false);
    expect(warnings.filter((w) => w.includes('segment 99'))).toHaveLength(2);
  });
});

describe('dependencies', () => {
  const parentOn = f('parent', {
    variants: [{ name: 'blue', weight: 1000, stickiness: 'default' }],
  });

  test('a child is on only when its parent is', () => {
    const on = load([parentOn, f('child', { dependencies: [{ feature: 'parent', enabled: true }] })]);
    expect(on.get('child')!.isEnabled({})).toBe(true);
    const off = load([f('parent', { enabled: false }), f('child', { dependencies: [{ feature: 'parent' }] })]);
    expect(off.get('child')!.isEnabled({})).toBe(false);
  });

  test('enabled: false requires the parent to be off', () => {
    const snapshot = load([f('parent', { enabled: false }), f('child', { dependencies: [{ feature: 'parent', enabled: false }] })]);
    expect(snapshot.get('child')!.isEnabled({})).toBe(true);
  });

  test("a variants list requires the parent's variant to be in it", () => {
    const yes = load([parentOn, f('child', { dependencies: [{ feature: 'parent', variants: ['blue'] }] })]);
    expect(yes.get('child')!.isEnabled({ userId: 'u' })).toBe(true);
    const no = load([parentOn, f('child', { dependencies: [{ feature: 'parent', variants: ['red'] }] })]);
    expect(no.get('child')!.isEnabled({ userId: 'u' })).toBe(false);
  });

  test('a missing parent makes the child off', () => {
    expect(load([f('child', { dependencies: [{ feature: 'ghost' }] })]).get('child')!.isEnabled({})).toBe(false);
  });

  test('dependencies are one level deep: a parent with its own dependency fails the child', () => {
    const snapshot = load([
      f('grandparent'),
      f('parent', { dependencies: [{ feature: 'grandparent' }] }),
      f('child', { dependencies: [{ feature: 'parent' }] }),
    ]);
    expect(snapshot.get('parent')!.isEnabled({})).toBe(true);
    expect(snapshot.get('child')!.isEnabled({})).toBe(false);
  });

  test('a dependency cycle does not recurse forever', () => {
    const snapshot = load([f('a', { dependencies: [{ feature: 'b' }] }), f('b', { dependencies: [{ feature: 'a' }] })]);
    expect(snapshot.get('a')!.isEnabled({})).toBe(false);
    expect(snapshot.get('b')!.getVariant({})).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
  });
});

describe('variants', () => {
  const variants = [
    { name: 'a', weight: 500, stickiness: 'userId', payload: { type: 'string', value: 'A' } },
    { name: 'b', weight: 500, stickiness: 'userId', overrides: [{ contextName: 'userId', values: ['forced-b'] }] },
  ];

  test('feature variants are sticky and carry their payload', () => {
    const flag = load([f('x', { variants })]).get('x')!;
    const v = flag.getVariant({ userId: 'user-1' });
    expect(['a', 'b']).toContain(v.name);
    expect(flag.getVariant({ userId: 'user-1' })).toBe(v);
    if (v.name === 'a') expect(v.payload).toEqual({ type: 'string', value: 'A' });
    expect(Object.isFrozen(v)).toBe(true);
  });

  test('overrides win over the hash', () => {
    expect(load([f('x', { variants })]).get('x')!.getVariant({ userId: 'forced-b' }).name).toBe('b');
  });

  test('variants split by weight', () => {
    const flag = load([f('x', { variants: [{ name: 'small', weight: 100 }, { name: 'big', weight: 900 }] })]).get('x')!;
    let small = 0;
    for (let i = 0; i < 10000; i++) if (flag.getVariant({ userId: `u${i}` }).name === 'small') small++;
    expect(small).toBeGreaterThan(800);
    expect(small).toBeLessThan(1200);
  });

  test('the first matching strategy with variants wins over feature variants', () => {
    const flag = load([
      f('x', {
        variants,
        strategies: [
          s('userWithId', { userIds: 'sv' }, { variants: [{ name: 'strategy-variant', weight: 1000 }] }),
          s('default'),
        ],
      }),
    ]).get('x')!;
    expect(flag.getVariant({ userId: 'sv' }).name).toBe('strategy-variant');
    expect(['a', 'b']).toContain(flag.getVariant({ userId: 'other' }).name);
  });

  test('a flag that is on without variants answers the disabled variant with feature_enabled', () => {
    expect(load([f('x')]).get('x')!.getVariant({})).toEqual({ name: 'disabled', enabled: false, feature_enabled: true });
  });

  test('all-zero weights are no variants', () => {
    expect(load([f('x', { variants: [{ name: 'z', weight: 0 }] })]).get('x')!.getVariant({}).name).toBe('disabled');
  });
});

describe('deltas', () => {
  test('events apply in order to the current state', () => {
    const engine = new Engine();
    engine.load(parseClientPayload({ version: 2, features: [f('keep'), f('gone')] }).payload);
    const before = engine.snapshot;
    engine.load(parseClientPayload({
      events: [
        { type: 'feature-removed', eventId: 1, featureName: 'gone' },
        { type: 'segment-updated', eventId: 2, segment: { id: 1, constraints: [{ contextName: 'userId', operator: 'IN', values: ['u'] }] } },
        { type: 'feature-updated', eventId: 3, feature: f('new', { strategies: [s('default', {}, { segments: [1] })] }) },
      ],
    }).payload);
    const after = engine.snapshot;
    expect(after.names().sort()).toEqual(['keep', 'new']);
    expect(after.get('new')!.isEnabled({ userId: 'u' })).toBe(true);
    expect(after.get('new')!.isEnabled({ userId: 'v' })).toBe(false);
    // snapshots are immutable: the old one still answers as before
    expect(before.names().sort()).toEqual(['gone', 'keep']);

    engine.load(parseClientPayload({ events: [{ type: 'segment-removed', eventId: 4, segmentId: 1 }] }).payload);
    expect(engine.snapshot.get('new')!.isEnabled({ userId: 'u' })).toBe(false);

    engine.load(parseClientPayload({ events: [{ type: 'hydration', eventId: 5, features: [f('only')], segments: [] }] }).payload);
    expect(engine.snapshot.names()).toEqual(['only']);
  });

  test('a delta takes as they are the definitions it keeps and those the door built for it; a hand-built one is compacted', () => {
    const engine = new Engine();
    const full = parseClientPayload({ version: 2, features: [f('kept'), f('changed')] }).payload;
    engine.load(full);
    const kept = engine.snapshot.get('kept')!.definition;
    expect(kept).toBe(full.kind === 'full' && full.features[0]);
    const update = parseClientPayload({ events: [{ type: 'feature-updated', eventId: 1, feature: f('changed', { enabled: false }) }] }).payload;
    engine.load(update);
    expect(engine.snapshot.get('kept')!.definition).toBe(kept);
    expect(engine.snapshot.get('changed')!.definition).toBe(update.kind === 'delta' && update.events[0]!.type === 'feature-updated' && update.events[0]!.feature);
    const hydration = parseClientPayload({ events: [{ type: 'hydration', eventId: 2, features: [f('fresh')], segments: [] }] }).payload;
    engine.load(hydration);
    expect(engine.snapshot.get('fresh')!.definition).toBe(hydration.kind === 'delta' && hydration.events[0]!.type === 'hydration' && hydration.events[0]!.features[0]);
    // Not from the door: copied into compact form (all its lists present).
    const handBuilt = { name: 'hand', enabled: true, strategies: [{ name: 'default', parameters: {} }] } as unknown as FeatureDefinition;
    engine.load({ kind: 'delta', events: [{ type: 'feature-updated', eventId: 3, feature: handBuilt }] });
    const compacted = engine.snapshot.get('hand')!.definition;
    expect(compacted).not.toBe(handBuilt);
    expect(compacted).toMatchObject({ name: 'hand', variants: [], dependencies: [], strategies: [{ name: 'default', constraints: [], segments: [], variants: [] }] });
    expect(engine.snapshot.get('fresh')!.isEnabled({})).toBe(true);
    // And a full payload the snapshot gives back (a cache's) is taken as it is.
    const again = new Engine().load({ kind: 'full', ...engine.snapshot.toPayload() });
    expect(again.get('hand')!.definition).toBe(compacted);
    expect(new Engine().load({ kind: 'full', ...engine.snapshot.toPayload(), features: [handBuilt] }).get('hand')!.definition).not.toBe(handBuilt);
  });

  test('an object pushed into a list the door or a snapshot gave is compacted, not taken as it is', () => {
    const answers = (snapshot: ReturnType<Engine['load']>) => ['a', 'b', 'c'].map((n) => [snapshot.get(n)?.isEnabled({}), snapshot.get(n)?.evaluate({}).reason.kind]);
    const engine = new Engine();
    engine.load(parseClientPayload({ features: [f('a')] }).payload);
    const payload = engine.snapshot.toPayload();
    expect(Object.isFrozen(payload.features[0])).toBe(true);
    payload.features.push({ name: 'b', enabled: true } as FeatureDefinition, { name: 'c', enabled: true, strategies: [{ name: 'default' }] } as FeatureDefinition);
    const fresh = new Engine().load(parseClientPayload(JSON.parse(JSON.stringify(payload))).payload);
    expect(answers(new Engine().load({ kind: 'full', ...payload }))).toEqual(answers(fresh));
    expect(answers(fresh)).toEqual([[true, 'STRATEGY_MATCH'], [true, 'NO_STRATEGIES'], [true, 'STRATEGY_MATCH']]);
    // The same for a parsed hydration's list.
    const hydration = parseClientPayload({ events: [{ type: 'hydration', eventId: 1, features: [f('a')], segments: [] }] }).payload;
    if (hydration.kind === 'delta' && hydration.events[0]!.type === 'hydration') hydration.events[0]!.features.push({ name: 'b', enabled: true } as FeatureDefinition);
    engine.load(hydration);
    expect(engine.snapshot.get('b')!.evaluate({}).reason.kind).toBe('NO_STRATEGIES');
  });

  test('toPayload round-trips the state', () => {
    const engine = new Engine();
    engine.load(parseClientPayload({ version: 2, features: [f('a', { variants: [{ name: 'v', weight: 1 }] })], segments: [{ id: 3, constraints: [] }] }).payload);
    const again = new Engine();
    again.load(parseClientPayload(JSON.parse(JSON.stringify(engine.snapshot.toPayload()))).payload);
    expect(again.snapshot.toPayload()).toEqual(engine.snapshot.toPayload());
  });
});

describe('hostile input never throws', () => {
  test.each([null, undefined, 42, 'str', { properties: null }, { properties: 'x' }, { userId: 5 }, Object.create(null)])(
    'context %p',
    (context) => {
      const snapshot = load([f('x', { strategies: [s('flexibleRollout', { rollout: '50' }, { constraints: [{ contextName: 'userId', operator: 'NOT_IN', values: [] }] })] })]);
      const flag = snapshot.get('x')!;
      expect(() => flag.isEnabled(context as never)).not.toThrow();
      expect(() => flag.getVariant(context as never)).not.toThrow();
    },
  );

  test('a context whose getters throw makes the flag off and is reported', () => {
    const warnings: string[] = [];
    const flag = load([f('x', { strategies: [s('userWithId', { userIds: 'u' })] })], [], warnings).get('x')!;
    const hostile = { get userId(): string { throw new Error('nope'); } };
    expect(flag.isEnabled(hostile)).toBe(false);
    expect(warnings.some((w) => w.includes('evaluating flag "x" failed (nope)'))).toBe(true);
  });
});

describe('lazy compilation', () => {
  const regex = (value: string) => ({ contextName: 'userId', operator: 'REGEX', value });
  const badRegex = (name: string) => f(name, { strategies: [s('default', {}, { constraints: [regex('(unclosed')] })] });

  test('cheap problems are reported at load; compile-time ones on the flag\'s first evaluation, once', () => {
    const warnings: string[] = [];
    const snapshot = load(
      [badRegex('x'), f('y', { strategies: [s('mystery')], dependencies: [{ feature: 'ghost' }] })],
      [],
      warnings,
    );
    expect(warnings.some((w) => w.includes('unknown strategy "mystery"'))).toBe(true);
    expect(warnings.some((w) => w.includes('depends on "ghost"'))).toBe(true);
    expect(warnings.some((w) => w.includes('REGEX'))).toBe(false);
    const flag = snapshot.get('x')!;
    expect(flag.name).toBe('x');
    expect(flag.impressionData).toBe(false);
    expect(warnings.some((w) => w.includes('REGEX'))).toBe(false);
    expect(flag.isEnabled({ userId: '(unclosed' })).toBe(false);
    expect(warnings.filter((w) => w.includes('REGEX constraint on "userId" has an invalid pattern'))).toHaveLength(1);
    expect(flag.getVariant({ userId: 'u' })).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
    expect(warnings.filter((w) => w.includes('REGEX'))).toHaveLength(1);
  });

  test('evaluating a flag with its reason compiles it, once', () => {
    const warnings: string[] = [];
    const snapshot = load([badRegex('x')], [], warnings);
    expect(snapshot.get('x')!.evaluate({ userId: 'u' }).reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED' });
    snapshot.get('x')!.isEnabled({ userId: 'u' });
    expect(warnings.filter((w) => w.includes('invalid pattern'))).toHaveLength(1);
  });

  test('a parent is compiled on demand by its child', () => {
    const warnings: string[] = [];
    const parent = f('p', { strategies: [s('default', {}, { constraints: [regex('^a')] })], variants: [{ name: 'v', weight: 1 }] });
    const snapshot = load(
      [
        parent,
        f('c', { dependencies: [{ feature: 'p' }] }),
        f('cv', { dependencies: [{ feature: 'p', variants: ['v'] }] }),
        f('cn', { dependencies: [{ feature: 'p', enabled: false }] }),
      ],
      [],
      warnings,
    );
    expect(snapshot.get('c')!.isEnabled({ userId: 'abc' })).toBe(true);
    expect(snapshot.get('c')!.isEnabled({ userId: 'xbc' })).toBe(false);
    expect(snapshot.get('cv')!.isEnabled({ userId: 'abc' })).toBe(true);
    expect(snapshot.get('cn')!.isEnabled({ userId: 'abc' })).toBe(false);
    expect(snapshot.get('cn')!.isEnabled({ userId: 'xbc' })).toBe(true);
    expect(snapshot.get('p')!.getVariant({ userId: 'abc' }).name).toBe('v');
    expect(warnings).toEqual([]);
  });

  test('a strategy with 200,000 segment references, or a segment with 200,000 constraints, compiles and answers', () => {
    // Both used to be spread into a call's arguments at compile time, which runs out of
    // stack past about 125,000; the flag then answered off on every call.
    const holds: ConstraintDefinition = { contextName: 'region', operator: 'IN', values: ['eu'] };
    const many = Array.from({ length: 200_000 }, () => holds);
    const snapshot = load(
      [
        f('refs', { strategies: [s('default', {}, { segments: new Array<number>(200_000).fill(1) })] }),
        f('refs-own', { strategies: [s('default', {}, { constraints: [holds], segments: new Array<number>(200_000).fill(1) })] }),
        f('long-segment', { strategies: [s('default', {}, { segments: [2] })] }),
        f('long-segment-twice', { strategies: [s('default', {}, { segments: [2, 1] })] }),
      ],
      [
        { id: 1, constraints: [holds] },
        { id: 2, constraints: many },
      ],
    );
    for (const name of ['refs', 'refs-own', 'long-segment', 'long-segment-twice']) {
      const flag = snapshot.get(name)!;
      expect([name, flag.isEnabled({ properties: { region: 'eu' } }), flag.evaluate({ properties: { region: 'eu' } }).reason.kind]).toEqual([name, true, 'STRATEGY_MATCH']);
      expect([name, flag.isEnabled({ properties: { region: 'us' } })]).toEqual([name, false]);
    }
  });

  test('running out of stack while a flag first compiles is not remembered: the next evaluation compiles it again', () => {
    // A caller deep in recursion (a hook or strategy that re-enters evaluation) evaluates the
    // flag at every depth on the way back up, so some evaluation runs the first compile with
    // almost no stack left, wherever in the compile that happens to be.
    const rollout = s('flexibleRollout', { rollout: '100', stickiness: 'default', groupId: 'g' }, {
      constraints: [regex('^a'), { contextName: 'region', operator: 'IN', values: ['eu', 'us'] }],
    });
    const warnings: string[] = [];
    const snapshot = load([f('on', { strategies: [rollout], variants: [{ name: 'v', weight: 1, stickiness: 'default' }] })], [], warnings);
    const flag = snapshot.get('on')!;
    const context = { userId: 'alice', region: 'eu' };
    const deep = (): void => {
      try {
        deep();
      } catch {
        // the stack ran out below this frame
      }
      try {
        flag.isEnabled(context);
      } catch {
        // or in this very call, before the flag's own guard
      }
    };
    deep();
    expect(flag.evaluate(context).reason.kind).toBe('STRATEGY_MATCH');
    expect(flag.isEnabled(context)).toBe(true);
    expect(flag.getVariant(context).name).toBe('v');
    expect(warnings.filter((w) => w.includes('could not be compiled'))).toEqual([]);
  });

  test('a disabled flag and a flag without strategies answer as before', () => {
    const snapshot = load([f('off', { enabled: false, strategies: [s('default', {}, { constraints: [regex('(')] })] }), f('bare', { strategies: [] })]);
    expect(snapshot.get('off')!.isEnabled({})).toBe(false);
    expect(snapshot.get('off')!.getVariant({})).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
    expect(snapshot.get('bare')!.isEnabled({})).toBe(true);
    expect(snapshot.get('bare')!.getVariant({})).toEqual({ name: 'disabled', enabled: false, feature_enabled: true });
  });
});

describe('applyDelta', () => {
  test('is a pure reducer: the state it was given is left as it was', () => {
    const a = f('a');
    const b = f('b');
    const seg = { id: 1, constraints: [] };
    const state = { features: new Map([['a', a]]), segments: new Map([[1, seg]]) };
    const next = applyDelta(state, [
      { type: 'feature-updated', eventId: 1, feature: b },
      { type: 'feature-removed', eventId: 2, featureName: 'a' },
      { type: 'segment-removed', eventId: 3, segmentId: 1 },
      { type: 'feature-removed', eventId: 4, featureName: 'never-there' },
    ]);
    expect([...next.features.keys()]).toEqual(['b']);
    expect(next.segments.size).toBe(0);
    expect([...state.features.keys()]).toEqual(['a']);
    expect(state.segments.get(1)).toBe(seg);
    expect(next.features.get('b')).toBe(b);
  });

  test('a hydration replaces everything before it, and later events apply on top', () => {
    const state = { features: new Map([['old', f('old')]]), segments: new Map() };
    const next = applyDelta(state, [
      { type: 'hydration', eventId: 1, features: [f('x'), f('y')], segments: [{ id: 2, constraints: [] }] },
      { type: 'feature-updated', eventId: 2, feature: f('x', { enabled: false }) },
    ]);
    expect([...next.features.keys()]).toEqual(['x', 'y']);
    expect(next.features.get('x')!.enabled).toBe(false);
    expect([...next.segments.keys()]).toEqual([2]);
  });
});

describe('deferred flags (the client door: each flag checked when first needed)', () => {
  const body = {
    version: 2,
    features: [
      { name: 'a', enabled: true, strategies: [{ name: 'default', constraints: [{ contextName: 'n', operator: 'NUM_GT', value: 5 }] }] },
      { name: 'b', enabled: true, strategies: [{ name: 'default' }] },
      { name: 'c', enabled: false, strategies: [] },
    ],
  };

  test('loading checks nothing but names; a flag is checked on its first evaluation, once, and the others stay as they came', () => {
    const engine = new Engine();
    const snapshot = engine.load(readClientPayload(body).payload);
    const stored = () => snapshot.toPayload().features;
    expect(stored()).toEqual(body.features);
    expect(stored().every((f) => isDeferred(f))).toBe(true);
    expect(snapshot.get('a')!.isEnabled({ properties: { n: '6' } })).toBe(true);
    const [a, b, c] = stored();
    expect(isDeferred(a!)).toBe(false);
    const checked = parseClientPayload({ features: [body.features[0]] }).payload;
    expect(a).toStrictEqual(checked.kind === 'full' && checked.features[0]);
    expect(snapshot.get('a')!.definition).toBe(a);
    expect([b, c].every((f) => isDeferred(f!))).toBe(true);
    // A switched-off flag answers off without being checked.
    expect(snapshot.get('c')!.isEnabled({})).toBe(false);
    expect(isDeferred(stored()[2]!)).toBe(true);
  });

  test('checkDeferred checks one flag per step, says when it is done, and leaves every flag compact', () => {
    const snapshot = new Engine().load(readClientPayload(body).payload);
    expect(snapshot.toPayload().features.every((f) => isDeferred(f))).toBe(true);
    let steps = 0;
    while (!snapshot.checkDeferred(() => true)) if (++steps > 10) throw new Error('never done');
    // Three flags: a yield after each, then the call that finds none left says done.
    expect(steps).toBe(3);
    expect(takenAsTheyAre(snapshot.toPayload().features)).toBe(true);
    expect(snapshot.checkDeferred(() => true)).toBe(true);
  });

  test('definitions() are the checked definitions, in payload order', () => {
    const snapshot = new Engine().load(readClientPayload(body).payload);
    const checked = parseClientPayload(body).payload;
    expect(snapshot.definitions()).toStrictEqual(checked.kind === 'full' && checked.features);
  });

  test('a pending load asked never to yield finishes in one step', () => {
    const pending = new Engine().prepare(parseClientPayload(body).payload);
    expect(pending.step(() => false)).toBe(true);
  });

  test('a delta keeps untouched flags deferred and applies to their checked form', () => {
    const engine = new Engine();
    engine.load(readClientPayload(body).payload);
    const next = engine.load({ kind: 'delta', events: [{ type: 'feature-removed', eventId: 2, featureName: 'c' }] });
    expect(next.names()).toEqual(['a', 'b']);
    expect(next.toPayload().features.every((f) => isDeferred(f))).toBe(true);
    expect(next.get('a')!.isEnabled({ properties: { n: '4' } })).toBe(false);
  });
});
