import { OpenFeature, ProviderEvents, ProviderStatus } from '@openfeature/server-sdk';
import { UnleashClient } from '../../lib/client';
import { SwitchyardProvider, toUnleashContext, type ProviderClient } from '../../lib/openfeature';
import { TestData } from '../../lib/test-data';

function setup() {
  const td = new TestData();
  td.update(
    td.flag('bool-on'),
    td.flag('bool-off').off(),
    td.flag('targeted').users('alice'),
    td.flag('split').rollout(50, { stickiness: 'userId' }),
    td.flag('text').variant('blue', { payload: { type: 'string', value: 'azure' } }),
    td.flag('named').variant('plain'),
    td.flag('num').variant('n', { payload: { type: 'number', value: '42.5' } }),
    td.flag('bad-num').variant('n', { payload: { type: 'number', value: 'forty' } }),
    td.flag('obj').variant('o', { payload: { type: 'json', value: '{"limit":3,"tags":["a"]}' } }),
    td.flag('bad-obj').variant('o', { payload: { type: 'json', value: '{nope' } }),
  );
  const client = new UnleashClient({ appName: 'of-test', offline: true, flagSource: td });
  return { td, client, provider: new SwitchyardProvider(client) };
}

describe('SwitchyardProvider through the OpenFeature SDK', () => {
  afterEach(async () => {
    await OpenFeature.close();
  });

  test('boolean evaluations answer enabled, with the reason of the same evaluation', async () => {
    const { provider } = setup();
    await OpenFeature.setProviderAndWait(provider);
    const of = OpenFeature.getClient();
    expect(await of.getBooleanValue('bool-on', false)).toBe(true);
    expect(await of.getBooleanDetails('bool-on', false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', flagMetadata: { reason: 'STRATEGY_MATCH', strategy: 'default' } });
    expect(await of.getBooleanDetails('bool-off', true)).toMatchObject({ value: false, reason: 'DISABLED' });
    expect(await of.getBooleanValue('targeted', false, { targetingKey: 'alice' })).toBe(true);
    expect(await of.getBooleanValue('targeted', false, { targetingKey: 'bob' })).toBe(false);
    const split = await of.getBooleanDetails('split', false, { targetingKey: 'user-1' });
    expect(split.reason).toBe('SPLIT');
    expect(split.flagMetadata).toEqual(expect.objectContaining({ threshold: 50 }));
  });

  test('each call is one evaluation, and on a random rollout the reason never contradicts the value', async () => {
    const td = new TestData();
    td.update(td.flag('coin').rollout(50, { stickiness: 'random' }).variant('heads').variant('tails'));
    const client = new UnleashClient({ appName: 'of-test', offline: true, flagSource: td });
    let evaluations = 0;
    const counting: ProviderClient = {
      start: () => client.start(),
      destroy: () => client.destroy(),
      get hasFlags() {
        return client.hasFlags;
      },
      on: (type, handler) => client.on(type, handler),
      evaluate: (name, context) => {
        evaluations++;
        return client.evaluate(name, context);
      },
    };
    await OpenFeature.setProviderAndWait(new SwitchyardProvider(counting));
    const of = OpenFeature.getClient();
    let on = 0;
    for (let i = 0; i < 1000; i++) {
      const b = await of.getBooleanDetails('coin', false);
      const meta = b.flagMetadata as Record<string, unknown>;
      if (b.value) {
        on++;
        expect(meta.reason).toBe('STRATEGY_MATCH');
        expect(meta.bucket as number).toBeLessThanOrEqual(50);
        expect(['heads', 'tails']).toContain(b.variant);
      } else {
        expect(meta.reason).toBe('NO_STRATEGY_MATCHED');
        expect(b.variant).toBeUndefined();
      }
      const str = await of.getStringDetails('coin', 'default');
      if (str.flagMetadata.reason === 'STRATEGY_MATCH') expect(['heads', 'tails']).toContain(str.value);
      else expect(str.value).toBe('default');
    }
    expect(evaluations).toBe(2000);
    expect(on).toBeGreaterThan(350);
    expect(on).toBeLessThan(650);
  });

  test('a missing flag is FLAG_NOT_FOUND with the default value', async () => {
    const { provider } = setup();
    await OpenFeature.setProviderAndWait(provider);
    const details = await OpenFeature.getClient().getBooleanDetails('ghost', true);
    expect(details).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND', reason: 'ERROR' });
  });

  test('string, number and object evaluations read variant payloads', async () => {
    const { provider } = setup();
    await OpenFeature.setProviderAndWait(provider);
    const of = OpenFeature.getClient();
    expect(await of.getStringDetails('text', 'x')).toMatchObject({ value: 'azure', variant: 'blue' });
    expect(await of.getStringValue('named', 'x')).toBe('plain');
    expect(await of.getStringValue('bool-off', 'fallback')).toBe('fallback');
    expect(await of.getStringDetails('bool-on', 'fallback')).toMatchObject({ value: 'fallback', reason: 'DEFAULT' });
    expect(await of.getNumberValue('num', 0)).toBe(42.5);
    expect(await of.getNumberDetails('bad-num', 7)).toMatchObject({ value: 7, errorCode: 'PARSE_ERROR' });
    expect(await of.getNumberDetails('text', 7)).toMatchObject({ value: 7, errorCode: 'TYPE_MISMATCH' });
    expect(await of.getObjectValue('obj', {})).toEqual({ limit: 3, tags: ['a'] });
    expect(await of.getObjectDetails('bad-obj', { d: 1 })).toMatchObject({ value: { d: 1 }, errorCode: 'PARSE_ERROR' });
  });

  test('configuration changes reach OpenFeature as provider events', async () => {
    const { provider, td } = setup();
    await OpenFeature.setProviderAndWait(provider);
    const changed: string[][] = [];
    OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (details) => changed.push((details?.flagsChanged as string[] | undefined) ?? []));
    td.update(td.flag('bool-off').on());
    await new Promise((resolve) => setImmediate(resolve));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.at(-1)).toContain('bool-off');
    expect(await OpenFeature.getClient().getBooleanValue('bool-off', false)).toBe(true);
  });

  test('a client with no flags makes the provider fail to initialise, and evaluations answer the default', async () => {
    const client = new UnleashClient({ appName: 'empty', offline: true, cache: new (await import('../../cache/memory-cache')).MemoryCache() });
    client.on('warning', () => {});
    const provider = new SwitchyardProvider(client);
    await expect(OpenFeature.setProviderAndWait(provider)).rejects.toBeDefined();
    expect(OpenFeature.getClient().providerStatus).toBe(ProviderStatus.ERROR);
    expect(await OpenFeature.getClient().getBooleanValue('anything', true)).toBe(true);
  });
});

describe('context mapping', () => {
  test('targetingKey becomes userId; top-level fields stay; the rest become string properties', () => {
    expect(toUnleashContext({ targetingKey: 'u1', sessionId: 's', plan: 'pro', seats: 5, beta: true, when: new Date('2026-01-01T00:00:00Z'), properties: { region: 'eu' } })).toEqual({
      userId: 'u1',
      sessionId: 's',
      properties: { plan: 'pro', seats: '5', beta: 'true', when: '2026-01-01T00:00:00.000Z', region: 'eu' },
    });
    expect(toUnleashContext({ targetingKey: 'tk', userId: 'explicit' }).userId).toBe('explicit');
  });
});
