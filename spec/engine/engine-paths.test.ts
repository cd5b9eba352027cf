/**
 * Rows for the engine's own bookkeeping that an evaluation can observe: which warnings a
 * payload produces (and which it must not), dependencies, the strategy that picks the
 * variant, and the snapshot's size and payload.
 */
import { feature, snapshotOf, type Context, type EngineSettings, type Json } from './build';

function withWarnings(features: Json[], segments: Json[] = [], settings: EngineSettings = {}) {
  const warnings: string[] = [];
  const snap = snapshotOf(features, segments, { ...settings, onWarning: (m) => warnings.push(m) });
  return { snap, warnings };
}

describe('warnings', () => {
  test('a valid payload evaluates without a warning', () => {
    const { snap, warnings } = withWarnings(
      [feature('f', [{ name: 'default', segments: [1], constraints: [{ contextName: 'a', operator: 'IN', values: ['x'] }] }], { variants: [{ name: 'v', weight: 1 }] })],
      [{ id: 1, constraints: [{ contextName: 'b', operator: 'IN', values: ['y'] }] }],
    );
    const context = { properties: { a: 'x', b: 'y' } };
    expect([snap.get('f')!.isEnabled(context), snap.get('f')!.getVariant(context).name]).toEqual([true, 'v']);
    expect(warnings).toEqual([]);
  });

  test('an unknown strategy warns once, at load, and is off', () => {
    const { snap, warnings } = withWarnings([feature('f', [{ name: 'nope' }])]);
    expect(snap.get('f')!.isEnabled({})).toBe(false);
    expect(warnings).toEqual(['unknown strategy "nope"; strategies using it are off']);
  });

  test('missing segments are named together', () => {
    const { snap, warnings } = withWarnings([feature('f', [{ name: 'default', segments: [1, 2, 3] }])], [{ id: 2, constraints: [] }]);
    expect(snap.get('f')!.isEnabled({})).toBe(false);
    expect(warnings).toEqual(['flag "f" uses segment 1, 3, which is not in the payload; that strategy is off']);
  });

  test('a missing parent warns at load only; evaluating the child is quietly off', () => {
    const { snap, warnings } = withWarnings([feature('child', [{ name: 'default' }], { dependencies: [{ feature: 'gone' }] })]);
    expect([snap.get('child')!.isEnabled({}), snap.get('child')!.getVariant({}).name]).toEqual([false, 'disabled']);
    expect(warnings).toEqual(['flag "child" depends on "gone", which is not in the payload; it is off']);
  });

  test('a context that throws: off, with the message cut to 120 characters', () => {
    const { snap, warnings } = withWarnings([feature('f', [{ name: 'default', constraints: [{ contextName: 'a', operator: 'IN', values: ['x'] }] }])]);
    const context = Object.defineProperty({}, 'a', { get: () => { throw new Error('e'.repeat(200)); } }) as Context;
    expect(snap.get('f')!.isEnabled(context)).toBe(false);
    expect(warnings).toEqual([`evaluating flag "f" failed (${'e'.repeat(120)}); answering off (reported once per flag)`]);
  });
});

describe('snapshots', () => {
  test('size, names, impression data and payload', () => {
    const snap = snapshotOf([feature('a', [], { impressionData: true }), feature('b', [{ name: 'default' }], { impressionData: false })], [{ id: 4, constraints: [] }]);
    expect(snap.size).toBe(2);
    expect([snap.get('a')!.impressionData, snap.get('b')!.impressionData]).toEqual([true, false]);
    const payload = snap.toPayload();
    expect([payload.features.map((f) => f.name), payload.segments!.map((s) => s.id)]).toEqual([['a', 'b'], [4]]);
  });
});

describe('dependencies', () => {
  const parent = (extra: Json = {}) => feature('parent', [{ name: 'userWithId', parameters: { userIds: 'p' } }], { variants: [{ name: 'pv', weight: 1 }], ...extra });

  test.each<[string, Json, Context, boolean]>([
    ['parent on', { feature: 'parent' }, { userId: 'p' }, true],
    ['parent off', { feature: 'parent' }, { userId: 'q' }, false],
    ['enabled: false with the parent off', { feature: 'parent', enabled: false }, { userId: 'q' }, true],
    ['enabled: false with the parent on', { feature: 'parent', enabled: false }, { userId: 'p' }, false],
    ['a listed parent variant', { feature: 'parent', variants: ['pv'] }, { userId: 'p' }, true],
    ['an unlisted parent variant', { feature: 'parent', variants: ['other'] }, { userId: 'p' }, false],
    ['a variant list with the parent off', { feature: 'parent', variants: ['pv'] }, { userId: 'q' }, false],
    ['an empty variant list is no condition', { feature: 'parent', variants: [] }, { userId: 'p' }, true],
  ])('%s', (_name, dependency, context, expected) => {
    const snap = snapshotOf([parent(), feature('child', [{ name: 'default' }], { dependencies: [dependency] })]);
    expect(snap.get('child')!.isEnabled(context)).toBe(expected);
  });
});
