import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import { TestData } from '../../lib/test-data';

describe('TestData', () => {
  let client: UnleashClient | undefined;
  afterEach(async () => {
    await client?.destroy();
    client = undefined;
  });

  async function start(td: TestData, events: UnleashEvent[] = []) {
    client = new UnleashClient({ appName: 'td-test', offline: true, flagSource: td, eventCallback: (e) => events.push(e) });
    await client.start();
    return client;
  }

  test('flags built fluently answer as built', async () => {
    const td = new TestData();
    td.update(
      td.flag('on-flag'),
      td.flag('off-flag').off(),
      td.flag('beta').users('alice', 'bob'),
      td.flag('geo').on().constraint('country', 'IN', ['NO', 'SE']),
      td.flag('half').rollout(50, { stickiness: 'userId' }),
      td.flag('colour').variant('blue', { payload: { type: 'string', value: '#00f' } }),
    );
    const c = await start(td);
    expect(c.isEnabled('on-flag')).toBe(true);
    expect(c.isEnabled('off-flag')).toBe(false);
    expect(c.isEnabled('beta', { userId: 'alice' })).toBe(true);
    expect(c.isEnabled('beta', { userId: 'eve' })).toBe(false);
    expect(c.isEnabled('geo', { properties: { country: 'SE' } })).toBe(true);
    expect(c.isEnabled('geo', { properties: { country: 'DK' } })).toBe(false);
    let on = 0;
    for (let i = 0; i < 2000; i++) if (c.isEnabled('half', { userId: `u${i}` })) on++;
    expect(on).toBeGreaterThan(850);
    expect(on).toBeLessThan(1150);
    expect(c.getVariant('colour')).toEqual({ name: 'blue', enabled: true, feature_enabled: true, payload: { type: 'string', value: '#00f' } });
  });

  test('updates reach a running client: fetched fires and answers change', async () => {
    const td = new TestData();
    td.update(td.flag('switch').off());
    const events: UnleashEvent[] = [];
    const c = await start(td, events);
    expect(c.isEnabled('switch')).toBe(false);
    const fetchedBefore = events.filter((e) => e.type === 'fetched').length;

    td.update(td.flag('switch').on());
    expect(c.isEnabled('switch')).toBe(true);
    const fetched = events.filter((e) => e.type === 'fetched');
    expect(fetched).toHaveLength(fetchedBefore + 1);
    expect(fetched.at(-1)).toMatchObject({ type: 'fetched', features: [expect.objectContaining({ name: 'switch', enabled: true })] });

    td.remove('switch');
    expect(c.isEnabled('switch', {}, true)).toBe(true); // the fallback answers a removed flag
    expect(c.isEnabled('switch')).toBe(false);
  });

  test('flag() starts from the current definition', () => {
    const td = new TestData();
    td.update(td.flag('f').users('a').impressionData());
    const rebuilt = td.flag('f').constraint('plan', 'IN', ['pro']).build();
    expect(rebuilt.impressionData).toBe(true);
    expect(rebuilt.strategies.map((s) => [s.name, s.constraints.length])).toEqual([['userWithId', 1]]);
  });

  test('dependencies and invalid rollouts', async () => {
    const td = new TestData();
    expect(() => td.flag('x').rollout(120)).toThrow(RangeError);
    td.update(td.flag('parent').off(), td.flag('child').dependsOn('parent'));
    const c = await start(td);
    expect(c.isEnabled('child')).toBe(false);
    td.update(td.flag('parent').on());
    expect(c.isEnabled('child')).toBe(true);
  });

  test('after destroy, updates no longer reach the client', async () => {
    const td = new TestData();
    td.update(td.flag('f').off());
    const c = await start(td);
    await c.destroy();
    td.update(td.flag('f').on());
    expect(c.isEnabled('f')).toBe(false);
  });
});
