/**
 * `appName` and `environment` defaults are read by the engine wherever a flag reads those
 * fields, exactly as if the context carried them; a context's own value wins.
 */
import { Engine } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';
import type { Context } from '../../lib/types';

const DEFAULTS = { appName: 'checkout', environment: 'production' };

const variants = (stickiness: string, overrideOn = 'appName') => [
  { name: 'a', weight: 500, stickiness, overrides: [{ contextName: overrideOn, values: ['checkout', 'production'] }] },
  { name: 'b', weight: 500, stickiness },
];

/** Every way a flag can read a defaulted field. */
const body = (field: string) => ({
  version: 2,
  segments: [{ id: 1, constraints: [{ contextName: field, operator: 'IN', values: ['checkout', 'production'] }] }],
  features: [
    { name: 'constraint', enabled: true, strategies: [{ name: 'default', constraints: [{ contextName: field, operator: 'IN', values: ['checkout', 'production'] }] }] },
    { name: 'str', enabled: true, strategies: [{ name: 'default', constraints: [{ contextName: field, operator: 'STR_STARTS_WITH', values: ['CHECK', 'PROD'], caseInsensitive: true }] }] },
    { name: 'num', enabled: true, strategies: [{ name: 'default', constraints: [{ contextName: field, operator: 'NUM_EQ', value: '0', inverted: true }] }] },
    { name: 'segment', enabled: true, strategies: [{ name: 'default', segments: [1] }] },
    { name: 'stickiness', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: field, groupId: 'g' } }], variants: variants(field) },
    { name: 'override', enabled: true, strategies: [{ name: 'default' }], variants: variants('userId', field) },
  ],
});

describe.each(['appName', 'environment'])('%s defaults', (field) => {
  const withDefaults = new Engine({ contextDefaults: DEFAULTS, random: () => 0 }).load(parseClientPayload(body(field)).payload);
  const without = new Engine({ random: () => 0 }).load(parseClientPayload(body(field)).payload);

  test.each<[string, Context]>([
    ['an empty context', {}],
    ['a context with other fields', { userId: 'u1', properties: { plan: 'pro' } }],
  ])('answer as if %s carried them', (_name, context) => {
    const filled = { ...context, ...DEFAULTS };
    for (const name of withDefaults.names()) {
      expect([name, withDefaults.get(name)!.isEnabled(context)]).toEqual([name, without.get(name)!.isEnabled(filled)]);
      expect([name, withDefaults.get(name)!.getVariant(context)]).toEqual([name, without.get(name)!.getVariant(filled)]);
    }
    expect(withDefaults.get('constraint')!.isEnabled(context)).toBe(true);
    expect(without.get('constraint')!.isEnabled(context)).toBe(false);
  });

  test.each<[string, Context]>([
    ['at the top level', { [field]: 'other' }],
    ['in properties', { properties: { [field]: 'other' } }],
  ])("a context's own value wins, %s", (_name, context) => {
    expect(withDefaults.get('constraint')!.isEnabled(context)).toBe(false);
    expect(withDefaults.get('segment')!.isEnabled(context)).toBe(false);
  });

  test('the reason quotes the default the constraint saw', () => {
    const r = withDefaults.get('constraint')!.evaluate({ [field]: 'other' });
    expect(r.reason).toMatchObject({ kind: 'NO_STRATEGY_MATCHED', strategies: [{ constraint: { contextValue: 'other' } }] });
  });
});
