/**
 * `evaluate` and the fast path are one walk: for every kind of stickiness (random ones
 * included) they give the same answers from the same draws, and a reason never
 * contradicts the value it comes with.
 */
import fc from 'fast-check';
import { Engine } from '../../lib/engine';
import type { EvaluationResult, StrategyMiss } from '../../lib/engine/evaluation';
import { parseClientPayload } from '../../lib/payload';
import type { Context } from '../../lib/types';
import { Strategy } from '../../strategies/strategy';

/** A seeded PRNG (mulberry32): two engines given the same seed draw the same numbers. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class CoinStrategy extends Strategy {
  constructor() {
    super('coin');
  }
  isEnabled(parameters: Readonly<Record<string, string>>, context: Context): boolean {
    return String(context.properties?.side ?? '') === parameters.side;
  }
}

const variants = (stickiness: string) => [
  { name: 'red', weight: 300, stickiness },
  { name: 'green', weight: 500, stickiness },
  { name: 'blue', weight: 200, stickiness, overrides: [{ contextName: 'userId', values: ['forced'] }] },
];

const rollout = (stickiness: string, percent: string) => ({ name: 'flexibleRollout', parameters: { rollout: percent, stickiness, groupId: 'g' } });

/** One flag per stickiness kind, each a 50% rollout with variants, plus random and custom ones. */
const BODY = {
  version: 2,
  features: [
    { name: 'default-stickiness', enabled: true, strategies: [rollout('default', '50')], variants: variants('default') },
    { name: 'random-stickiness', enabled: true, strategies: [rollout('random', '50')], variants: variants('random') },
    { name: 'custom-stickiness', enabled: true, strategies: [rollout('tenant', '50')], variants: variants('tenant') },
    { name: 'gradual-random', enabled: true, strategies: [{ name: 'gradualRolloutRandom', parameters: { percentage: '30' } }], variants: variants('default') },
    {
      name: 'strategy-variants',
      enabled: true,
      strategies: [
        { ...rollout('random', '20'), variants: [{ name: 'a', weight: 1, stickiness: 'random' }, { name: 'b', weight: 1, stickiness: 'random' }] },
        { ...rollout('default', '60'), constraints: [{ contextName: 'tenant', operator: 'IN', values: ['t1', 't2', 't3'] }] },
      ],
      variants: variants('default'),
    },
    { name: 'custom-strategy', enabled: true, strategies: [{ name: 'coin', parameters: { side: 'heads' } }, rollout('random', '10')], variants: variants('random') },
    { name: 'needs-red-parent', enabled: true, strategies: [rollout('default', '100')], dependencies: [{ feature: 'random-stickiness', variants: ['red'] }] },
  ],
};

const FLAGS = BODY.features.map((f) => f.name);

function engineWith(seed: number): Engine {
  const engine = new Engine({ hostname: 'h', random: seeded(seed), strategies: [new CoinStrategy()] });
  engine.load(parseClientPayload(BODY).payload);
  return engine;
}

const contextArb: fc.Arbitrary<Context> = fc.record(
  {
    userId: fc.oneof(fc.constant('forced'), fc.string({ maxLength: 6 })),
    sessionId: fc.string({ maxLength: 6 }),
    tenant: fc.constantFrom('t1', 't2', 't3', 't4'),
    properties: fc.record({ side: fc.constantFrom('heads', 'tails') }),
  },
  { requiredKeys: [] },
);

/** Checks that a result's reason never contradicts its value. */
function expectConsistent(r: EvaluationResult): void {
  expect(r.variant.feature_enabled).toBe(r.enabled);
  const reason = r.reason;
  if (reason.kind === 'STRATEGY_MATCH') {
    expect(r.enabled).toBe(true);
    if (reason.rollout !== undefined) {
      expect(reason.rollout.bucket).toBeDefined();
      expect(reason.rollout.bucket!).toBeLessThanOrEqual(reason.rollout.threshold);
    }
    expect(r.variant.enabled).toBe(reason.variantFrom !== 'none');
    const detail = reason.variantDetail;
    if (detail !== undefined && detail.override === undefined) {
      // The target picks the variant: walk the weights as Unleash does.
      const list = detail.from === 'feature' ? variants('x') : [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }];
      let sum = 0;
      const picked = list.find((v) => (sum += v.weight) >= detail.target!);
      expect(r.variant.name).toBe(picked!.name);
    }
  } else if (reason.kind === 'DEPENDENCY_FAILED') {
    expect(r.enabled).toBe(false);
    // The variant named is the one the walk drew, never a fresh draw.
    const named = /parent variant "(\w+)"/.exec(reason.why)?.[1];
    if (named !== undefined) expect(named).not.toBe('red');
  } else if (reason.kind === 'NO_STRATEGY_MATCHED') {
    expect(r.enabled).toBe(false);
    for (const miss of reason.strategies as StrategyMiss[]) {
      if (miss.failure === 'STRATEGY_DECLINED' && miss.rollout?.bucket !== undefined) {
        expect(miss.rollout.bucket).toBeGreaterThan(miss.rollout.threshold);
      }
    }
  }
}

describe('evaluate and the fast path are one walk', () => {
  test.each(FLAGS)('%s: same answers from the same draws, for any context', (name) => {
    fc.assert(
      fc.property(fc.integer(), fc.array(contextArb, { minLength: 1, maxLength: 30 }), (seed, contexts) => {
        const fast = engineWith(seed).snapshot.get(name)!;
        const detailed = engineWith(seed).snapshot.get(name)!;
        for (const context of contexts) {
          const r = detailed.evaluate(context);
          expect(r.variant).toEqual(fast.getVariant(context));
          expect(r.enabled).toBe(r.variant.feature_enabled);
          expectConsistent(r);
        }
      }),
      { numRuns: 150 },
    );
  });

  test.each(FLAGS)('%s: isEnabled agrees with evaluate from the same draws', (name) => {
    // isEnabled draws the same strategy buckets and skips only the variant draw, which
    // comes last: from the same seed, the answers agree.
    fc.assert(
      fc.property(fc.integer(), contextArb, (seed, context) => {
        expect(engineWith(seed).snapshot.get(name)!.evaluate(context).enabled).toBe(engineWith(seed).snapshot.get(name)!.isEnabled(context));
      }),
      { numRuns: 300 },
    );
  });

  test('with the real Math.random, 10,000 explanations of a 50% default-stickiness rollout never contradict themselves', () => {
    const engine = new Engine();
    engine.load(parseClientPayload(BODY).payload);
    const flag = engine.snapshot.get('default-stickiness')!;
    let on = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = flag.evaluate({});
      expectConsistent(r);
      if (r.enabled) on++;
    }
    // A 50% rollout on random buckets: both answers occur (the chance of this failing is nil).
    expect(on).toBeGreaterThan(4000);
    expect(on).toBeLessThan(6000);
  });
});
