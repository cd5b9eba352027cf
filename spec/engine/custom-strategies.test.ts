/**
 * `Snapshot.callsCustomStrategies()`: worked out by the compile's pass over every strategy
 * (the client then fills appName/environment into contexts only when it is true).
 */
import { Engine } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';
import { Strategy } from '../../strategies/strategy';

class PlanStrategy extends Strategy {
  constructor() {
    super('plan');
  }
  isEnabled(parameters: Readonly<Record<string, string>>): boolean {
    return parameters.plan === 'pro';
  }
}

const flag = (name: string, strategy: string) => ({ name, enabled: true, strategies: [{ name: 'default' }, { name: strategy, parameters: { plan: 'pro' } }] });

function snapshotOf(...features: unknown[]) {
  const engine = new Engine({ strategies: [new PlanStrategy()], onWarning: () => undefined });
  return engine.load(parseClientPayload({ version: 2, features }).payload);
}

test.each([
  ['no flag uses a custom strategy', [flag('a', 'default'), flag('b', 'userWithId')], false],
  ['an unknown strategy is not a custom one', [flag('a', 'nobodyKnowsMe')], false],
  ['the last strategy of the last flag is custom', [flag('a', 'default'), flag('b', 'plan')], true],
  ['the first flag uses one', [flag('a', 'plan'), flag('b', 'default')], true],
  ['no flags', [], false],
])('%s', (_, features, expected) => {
  expect(snapshotOf(...features).callsCustomStrategies()).toBe(expected);
});

test('a delta that brings a custom strategy in', () => {
  const engine = new Engine({ strategies: [new PlanStrategy()] });
  engine.load(parseClientPayload({ version: 2, features: [flag('a', 'default')] }).payload);
  expect(engine.snapshot.callsCustomStrategies()).toBe(false);
  engine.load(parseClientPayload({ events: [{ type: 'feature-updated', eventId: 2, feature: flag('b', 'plan') }] }).payload);
  expect(engine.snapshot.callsCustomStrategies()).toBe(true);
});

test('the empty snapshot of a new engine', () => {
  expect(new Engine({ strategies: [new PlanStrategy()] }).snapshot.callsCustomStrategies()).toBe(false);
});
