/**
 * Engine.prepare: the compile in steps. Until commit() the engine's snapshot is the old
 * one; stepping to the end gives what load() gives; a pending load never committed leaves
 * no trace.
 */
import { Engine } from '../../lib/engine';
import type { ClientPayload, FeatureDefinition } from '../../lib/types';

const f = (name: string, enabled = true, extra: Partial<FeatureDefinition> = {}): FeatureDefinition => ({
  name,
  enabled,
  strategies: [{ name: 'default', parameters: {}, constraints: [], segments: [], variants: [] }],
  variants: [],
  dependencies: [],
  impressionData: false,
  ...extra,
});
const full = (...features: FeatureDefinition[]): ClientPayload => ({ kind: 'full', version: 2, features, segments: [] });

describe('Engine.prepare', () => {
  test('steps once per flag (twice: compile, then checks) and serves the old snapshot until commit', () => {
    const engine = new Engine();
    const old = engine.load(full(f('a', false)));
    const pending = engine.prepare(full(f('a'), f('b'), f('c')));
    let steps = 0;
    while (!pending.step(() => true)) {
      if (++steps > 1000) throw new Error('the pending load never finished');
      expect(engine.snapshot).toBe(old);
    }
    expect(steps).toBe(6);
    expect(engine.snapshot.get('a')!.isEnabled({})).toBe(false);
    const next = pending.commit();
    expect(engine.snapshot).toBe(next);
    expect(next.names()).toEqual(['a', 'b', 'c']);
    expect(next.get('a')!.isEnabled({})).toBe(true);
  });

  test("a full body's flags are compiled one per step, then checked one per step", () => {
    const engine = new Engine();
    const names = Array.from({ length: 64 }, (_, i) => `flag-${i}`);
    // A repeated name keeps its first place and takes its last definition, as before.
    const pending = engine.prepare(full(...names.map((n) => f(n, false)), f('flag-0', true)));
    let steps = 0;
    while (!pending.step(() => true)) if (++steps > 1000) throw new Error('the pending load never finished');
    // 65 definitions (one name twice): 65 compile steps, then 64 check steps.
    expect(steps).toBe(65 + 64);
    const next = pending.commit();
    expect(next.names()).toEqual(names);
    expect(next.get('flag-0')!.isEnabled({})).toBe(true);
  });

  test('gives what load gives: flags, dependencies and load-time warnings', () => {
    const payload = full(f('parent'), f('child', true, { dependencies: [{ feature: 'parent', enabled: true }, { feature: 'gone', enabled: true }] }));
    const loadWarnings: string[] = [];
    const loaded = new Engine({ onWarning: (m) => loadWarnings.push(m) }).load(payload);
    const stepWarnings: string[] = [];
    const engine = new Engine({ onWarning: (m) => stepWarnings.push(m) });
    const pending = engine.prepare(payload);
    for (let i = 0; !pending.step(() => true); i++) if (i > 1000) throw new Error('the pending load never finished');
    const stepped = pending.commit();
    expect(stepped.toPayload()).toEqual(loaded.toPayload());
    expect(stepWarnings).toEqual(loadWarnings);
    expect(stepWarnings).toHaveLength(1);
    expect(stepped.get('child')!.isEnabled({})).toBe(false);
  });

  test('commit before the end throws, and an abandoned load leaves the engine as it was', () => {
    const engine = new Engine();
    const old = engine.load(full(f('a')));
    const pending = engine.prepare(full(f('b'), f('c')));
    expect(pending.step(() => true)).toBe(false);
    expect(() => pending.commit()).toThrow(/before the pending load was done/);
    expect(engine.snapshot).toBe(old);
    expect(engine.snapshot.names()).toEqual(['a']);
  });

  test('a delta applies to the state current when prepare is called', () => {
    const engine = new Engine();
    engine.load(full(f('a'), f('b', false)));
    const pending = engine.prepare({ kind: 'delta', events: [{ type: 'feature-updated', eventId: 2, feature: f('b') }] });
    for (let i = 0; !pending.step(() => false); i++) if (i > 1000) throw new Error('the pending load never finished');
    const next = pending.commit();
    expect(next.names()).toEqual(['a', 'b']);
    expect(next.get('b')!.isEnabled({})).toBe(true);
  });
});
