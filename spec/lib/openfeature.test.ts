import { OpenFeature, ProviderEvents, ProviderStatus } from '@openfeature/server-sdk';
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { HttpError } from '../../lib/http';
import type { UnleashConfig } from '../../lib/options';
import { SwitchyardProvider, toUnleashContext, type ProviderClient } from '../../lib/openfeature';
import { TestData } from '../../lib/test-data';
import { ManualScheduler } from '../support/manual-scheduler';
import { TestServer } from '../support/test-server';

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

describe('a provider that cannot start says why', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await TestServer.start();
  });

  afterEach(async () => {
    await OpenFeature.close();
    await server.close();
  });

  function client(options: Partial<UnleashConfig> = {}): UnleashClient {
    const c = new UnleashClient({ url: server.url, appName: 'of-test', cache: new MemoryCache(), disableMetrics: true, customHeaders: { Authorization: 'of-secret-token' }, ...options });
    c.on('error', () => undefined);
    c.on('warning', () => undefined);
    return c;
  }

  test('a 401 is reported as the 401, not as an unreachable server', async () => {
    server.setDefault('GET', '/api/client/features', { status: 401 });
    // Registration fails too, and may fail first: the fetch's error is the one that explains.
    server.setDefault('POST', '/api/client/register', { status: 401 });
    const provider = new SwitchyardProvider(client());
    const failure = await provider.initialize().then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(failure!.message).toMatch(/^switchyard: no flags could be loaded: GET http:\/\/127\.0\.0\.1:\d+\/api\/client\/features: the server answered 401 Unauthorized; polling stopped\. Check the client API token/);
    expect(failure!.message).not.toMatch(/unreachable/);
    expect(failure!.message).not.toContain('of-secret-token');
    expect(failure!.cause).toBeInstanceOf(HttpError);
    expect(failure!.cause).toMatchObject({ code: 'HTTP_STATUS', status: 401 });
    await provider.onClose();
  });

  test('through the OpenFeature SDK, the error event carries the real cause', async () => {
    server.setDefault('GET', '/api/client/features', { status: 403 });
    const errors: string[] = [];
    OpenFeature.addHandler(ProviderEvents.Error, (details) => errors.push(details?.message ?? ''));
    await expect(OpenFeature.setProviderAndWait(new SwitchyardProvider(client({ disableRegistration: true })))).rejects.toThrow(/answered 403 Forbidden/);
    expect(OpenFeature.getClient().providerStatus).toBe(ProviderStatus.ERROR);
    expect(errors.some((message) => /answered 403 Forbidden/.test(message))).toBe(true);
  });

  test('a refused connection is named as such', async () => {
    const url = server.url;
    await server.close();
    server = await TestServer.start(); // for afterEach; the client points at the closed port
    const provider = new SwitchyardProvider(client({ url, disableRegistration: true }));
    await expect(provider.initialize()).rejects.toThrow(/no flags could be loaded: GET .*: the connection failed \(ECONNREFUSED\)/);
    await provider.onClose();
  });

  test('with no error at all (no answer within the timeout), it says that', async () => {
    server.setDefault('GET', '/api/client/features', { hold: true });
    const scheduler = new ManualScheduler();
    const provider = new SwitchyardProvider(client({ disableRegistration: true, scheduler }));
    const initialized = provider.initialize();
    await server.waitForRequest('GET', '/api/client/features');
    await scheduler.fireNext('deadline');
    await expect(initialized).rejects.toThrow(/no flags could be loaded: the server did not answer within the timeout/);
    await provider.onClose();
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
