import { Engine } from '../../lib/engine';
import type { Context, FeatureDefinition, StrategyDefinition } from '../../lib/types';
import { Strategy } from '../../strategies/strategy';

function strategy(name: string, parameters: Record<string, string> = {}, extra: Partial<StrategyDefinition> = {}): StrategyDefinition {
  return { name, parameters, constraints: [], segments: [], variants: [], ...extra };
}

function feature(name: string, strategies: StrategyDefinition[], extra: Partial<FeatureDefinition> = {}): FeatureDefinition {
  return { name, enabled: true, strategies, variants: [], dependencies: [], impressionData: false, ...extra };
}

function engineWith(features: FeatureDefinition[], options: ConstructorParameters<typeof Engine>[0] = {}) {
  const engine = new Engine({ hostname: 'web-1.example.com', ...options });
  engine.load({ kind: 'full', version: 2, features, segments: [] });
  return engine.snapshot;
}

/** The share of `n` users a flag is on for. */
function share(flag: { isEnabled(c: Context): boolean }, n: number, make: (i: number) => Context): number {
  let on = 0;
  for (let i = 0; i < n; i++) if (flag.isEnabled(make(i))) on++;
  return on / n;
}

describe('built-in strategies', () => {
  test.each<[string, StrategyDefinition, Context, boolean]>([
    ['default is on', strategy('default'), {}, true],
    ['userWithId on for a listed id', strategy('userWithId', { userIds: 'a, b ,c' }), { userId: 'b' }, true],
    ['userWithId off for another id', strategy('userWithId', { userIds: 'a,b' }), { userId: 'x' }, false],
    ['userWithId off without a userId', strategy('userWithId', { userIds: 'a' }), {}, false],
    ['gradualRolloutUserId 100% with a user', strategy('gradualRolloutUserId', { percentage: '100', groupId: 'g' }), { userId: 'u' }, true],
    ['gradualRolloutUserId needs a userId', strategy('gradualRolloutUserId', { percentage: '100', groupId: 'g' }), {}, false],
    ['gradualRolloutUserId 0% is off', strategy('gradualRolloutUserId', { percentage: '0', groupId: 'g' }), { userId: 'u' }, false],
    ['gradualRolloutSessionId 100% with a session', strategy('gradualRolloutSessionId', { percentage: '100' }), { sessionId: 's' }, true],
    ['gradualRolloutSessionId needs a sessionId', strategy('gradualRolloutSessionId', { percentage: '100' }), { userId: 'u' }, false],
    ['gradualRolloutRandom 100%', strategy('gradualRolloutRandom', { percentage: '100' }), {}, true],
    ['gradualRolloutRandom 0%', strategy('gradualRolloutRandom', { percentage: '0' }), {}, false],
    ['flexibleRollout 100% default stickiness, no ids (random)', strategy('flexibleRollout', { rollout: '100', stickiness: 'default' }), {}, true],
    ['flexibleRollout custom stickiness missing field is off', strategy('flexibleRollout', { rollout: '100', stickiness: 'tenant' }), { userId: 'u' }, false],
    ['flexibleRollout custom stickiness from properties', strategy('flexibleRollout', { rollout: '100', stickiness: 'tenant' }), { properties: { tenant: 't1' } }, true],
    ['flexibleRollout unreadable rollout is off', strategy('flexibleRollout', { rollout: 'lots' }), { userId: 'u' }, false],
    ['remoteAddress exact IP', strategy('remoteAddress', { IPs: '10.0.0.1, 192.168.0.0/16' }), { remoteAddress: '10.0.0.1' }, true],
    ['remoteAddress CIDR', strategy('remoteAddress', { IPs: '10.0.0.1, 192.168.0.0/16' }), { remoteAddress: '192.168.7.9' }, true],
    ['remoteAddress IPv6 CIDR', strategy('remoteAddress', { IPs: '2001:db8::/32' }), { remoteAddress: '2001:db8::1' }, true],
    ['remoteAddress miss', strategy('remoteAddress', { IPs: '10.0.0.1' }), { remoteAddress: '10.0.0.2' }, false],
    ['remoteAddress without an address', strategy('remoteAddress', { IPs: '10.0.0.1' }), {}, false],
    ['applicationHostname matches the injected host name, case-insensitively', strategy('applicationHostname', { hostNames: 'db-1, WEB-1.example.com' }), {}, true],
    ['applicationHostname miss', strategy('applicationHostname', { hostNames: 'db-1' }), {}, false],
    ['an unknown strategy is off', strategy('no-such-strategy'), {}, false],
  ])('%s', (_name, def, context, expected) => {
    expect(engineWith([feature('f', [def])]).get('f')!.isEnabled(context)).toBe(expected);
  });

  test('flexibleRollout rolls out to about its percentage, stickily', () => {
    const flag = engineWith([feature('f', [strategy('flexibleRollout', { rollout: '30', stickiness: 'userId', groupId: 'g' })])]).get('f')!;
    const ratio = share(flag, 20000, (i) => ({ userId: `user-${i}` }));
    expect(ratio).toBeGreaterThan(0.28);
    expect(ratio).toBeLessThan(0.32);
    for (let i = 0; i < 100; i++) {
      expect(flag.isEnabled({ userId: `user-${i}` })).toBe(flag.isEnabled({ userId: `user-${i}` }));
    }
  });

  test('groupId defaults to the flag name, so two flags without one bucket the same users alike', () => {
    const snapshot = engineWith([
      feature('same', [strategy('flexibleRollout', { rollout: '50', stickiness: 'userId' })]),
      feature('explicit', [strategy('flexibleRollout', { rollout: '50', stickiness: 'userId', groupId: 'same' })]),
    ]);
    for (let i = 0; i < 200; i++) {
      const c = { userId: `u${i}` };
      expect(snapshot.get('same')!.isEnabled(c)).toBe(snapshot.get('explicit')!.isEnabled(c));
    }
  });

  test('random rollouts use the injected random source', () => {
    let r = 0.1;
    const snapshot = engineWith([feature('f', [strategy('gradualRolloutRandom', { percentage: '50' })])], { random: () => r });
    expect(snapshot.get('f')!.isEnabled({})).toBe(true);
    r = 0.9;
    expect(snapshot.get('f')!.isEnabled({})).toBe(false);
  });
});

describe('custom strategies', () => {
  class TeamStrategy extends Strategy {
    calls = 0;
    constructor() {
      super('team');
    }
    isEnabled(parameters: Record<string, string>, context: Context): boolean {
      this.calls++;
      return parameters.teams!.split(',').includes(String(context.properties?.team));
    }
  }

  test('a registered strategy decides with its parameters and the context', () => {
    const team = new TeamStrategy();
    const snapshot = engineWith([feature('f', [strategy('team', { teams: 'red,blue' })])], { strategies: [team] });
    expect(snapshot.get('f')!.isEnabled({ properties: { team: 'red' } })).toBe(true);
    expect(snapshot.get('f')!.isEnabled({ properties: { team: 'green' } })).toBe(false);
  });

  test('constraints are checked before the custom strategy runs', () => {
    const team = new TeamStrategy();
    const constrained = strategy('team', { teams: 'red' }, { constraints: [{ contextName: 'country', operator: 'IN', values: ['NO'] }] });
    const snapshot = engineWith([feature('f', [constrained])], { strategies: [team] });
    expect(snapshot.get('f')!.isEnabled({ properties: { team: 'red', country: 'SE' } })).toBe(false);
    expect(team.calls).toBe(0);
    expect(snapshot.get('f')!.isEnabled({ properties: { team: 'red', country: 'NO' } })).toBe(true);
    expect(team.calls).toBe(1);
  });

  test('a throwing strategy is off and reported once, and other strategies still run', () => {
    class Broken extends Strategy {
      constructor() {
        super('broken');
      }
      isEnabled(): boolean {
        throw new Error('boom');
      }
    }
    const warnings: string[] = [];
    const snapshot = engineWith(
      [feature('f', [strategy('broken'), strategy('userWithId', { userIds: 'u' })])],
      { strategies: [new Broken()], onWarning: (m) => warnings.push(m) },
    );
    expect(snapshot.get('f')!.isEnabled({ userId: 'x' })).toBe(false);
    expect(snapshot.get('f')!.isEnabled({ userId: 'x' })).toBe(false);
    expect(snapshot.get('f')!.isEnabled({ userId: 'u' })).toBe(true);
    expect(warnings.filter((w) => w.includes('custom strategy "broken" threw (Error: boom)'))).toHaveLength(1);
  });

  test.each<[string, (context: Context) => unknown, RegExp]>([
    ['throws an Error naming the user', (context) => { throw new Error(`no team for ${String(context.userId)}`); }, /^threw Error: no team for u\d+$/],
    ['throws a non-Error', () => { throw 'plain string'; }, /^threw plain string$/],
    ['returns a Promise', async () => true, /^returned a Promise/],
    ['returns a truthy non-boolean', () => 'yes', /^returned string, not a boolean$/],
    ['returns a Promise that rejects', () => Promise.reject(new Error('async boom')), /^returned a Promise/],
    ['returns undefined', () => undefined, /^returned undefined, not a boolean$/],
    ['returns null', () => null, /^returned null, not a boolean$/],
    ['returns a thenable whose then throws', () => ({ then() { throw new Error('bad thenable'); } }), /^returned a Promise/],
  ])('a custom strategy that %s is off, explained as STRATEGY_ERROR, and reported once for 5,000 users', (_what, decide, message) => {
    class Plugin extends Strategy {
      constructor() {
        super('plugin');
      }
      isEnabled(_parameters: Readonly<Record<string, string>>, context: Context): boolean {
        return decide(context) as boolean;
      }
    }
    const warnings: string[] = [];
    const snapshot = engineWith([feature('f', [strategy('plugin'), strategy('userWithId', { userIds: 'u7' })])], {
      strategies: [new Plugin()],
      onWarning: (m) => warnings.push(m),
    });
    const flag = snapshot.get('f')!;
    for (let i = 0; i < 5000; i++) expect(flag.isEnabled({ userId: `u${i}` })).toBe(i === 7);
    expect(warnings.filter((w) => w.includes('custom strategy "plugin"'))).toHaveLength(1);
    const reason = flag.evaluate({ userId: 'u1' }).reason;
    expect(reason.kind).toBe('NO_STRATEGY_MATCHED');
    if (reason.kind !== 'NO_STRATEGY_MATCHED') return;
    const miss = reason.strategies[0]!;
    expect(miss).toMatchObject({ index: 0, name: 'plugin', failure: 'STRATEGY_ERROR' });
    if (miss.failure === 'STRATEGY_ERROR') expect(miss.message).toMatch(message);
    // A strategy that simply says no is not an error.
    expect(reason.strategies[1]).toEqual({ index: 1, name: 'userWithId', failure: 'STRATEGY_DECLINED' });
  });

  test('an unknown strategy is warned about once per name', () => {
    const warnings: string[] = [];
    engineWith([feature('a', [strategy('mystery')]), feature('b', [strategy('mystery')])], { onWarning: (m) => warnings.push(m) });
    expect(warnings.filter((w) => w.includes('unknown strategy "mystery"'))).toHaveLength(1);
  });

  test('a strategy without a name is refused at construction', () => {
    class Nameless extends Strategy {
      constructor() {
        super('');
      }
      isEnabled(): boolean {
        return true;
      }
    }
    expect(() => new Engine({ strategies: [new Nameless()] })).toThrow(/non-empty name/);
  });

  test('registered names include built-ins and custom strategies', () => {
    const names = new Engine({ strategies: [new TeamStrategy()] }).registeredStrategyNames();
    expect(names).toEqual(expect.arrayContaining(['default', 'flexibleRollout', 'applicationHostname', 'team']));
  });
});
