/**
 * client.getAllFlags: every flag's answer for one context as a Frontend API body, checked
 * against the browser SDK itself (unleash-proxy-client), bootstrapped with it and fetching
 * it from a loopback server, and counted only when asked.
 */
import { EVENTS, InMemoryStorageProvider, UnleashClient as BrowserClient } from 'unleash-proxy-client';
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { TestData } from '../../lib/test-data';
import type { Context } from '../../lib/types';
import { ManualScheduler } from '../support/manual-scheduler';
import { TestServer } from '../support/test-server';

function testData(): TestData {
  const td = new TestData();
  td.update(
    td.flag('on'),
    td.flag('off').off(),
    td.flag('beta').users('alice', '7'),
    td.flag('half').rollout(50, { stickiness: 'userId' }),
    td.flag('colour').variant('blue', { payload: { type: 'string', value: '#00f' } }).variant('red', { weight: 2 }),
    td.flag('child').dependsOn('beta'),
    td.flag('loud').impressionData(),
  );
  return td;
}

const NAMES = ['on', 'off', 'beta', 'half', 'colour', 'child', 'loud', 'never-defined'];
const CONTEXTS: Context[] = ['alice', 'bob', '1', '2', '3', '7', '42', '1000'].map((userId) => ({ userId }));

let server: TestServer;
const clients: UnleashClient[] = [];
const browsers: BrowserClient[] = [];

beforeEach(async () => {
  server = await TestServer.start();
});
afterEach(async () => {
  for (const b of browsers.splice(0)) b.stop();
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  await server.close();
});

async function offlineClient(): Promise<UnleashClient> {
  const c = new UnleashClient({ appName: 'all-flags', offline: true, flagSource: testData() });
  clients.push(c);
  await c.start();
  return c;
}

/** A browser client that must never fetch: its fetch records the call and fails. */
function browserClient(options: { bootstrap?: unknown }, fetches: string[]): BrowserClient {
  const b = new BrowserClient({
    url: `${server.url}/frontend`,
    clientKey: 'frontend-token',
    appName: 'all-flags',
    disableRefresh: true,
    disableMetrics: true,
    storageProvider: new InMemoryStorageProvider(),
    ...(options.bootstrap === undefined
      ? {}
      : {
          bootstrap: options.bootstrap as never,
          fetch: (url: string) => {
            fetches.push(url);
            return Promise.reject(new Error('no traffic expected'));
          },
        }),
  });
  browsers.push(b);
  return b;
}

describe('getAllFlags', () => {
  test('every flag with its answer, variant and impressionData, in the server order', async () => {
    const client = await offlineClient();
    const all = client.getAllFlags({ userId: 'alice' });
    expect(all.toggles.map((t) => t.name)).toEqual(['on', 'off', 'beta', 'half', 'colour', 'child', 'loud']);
    expect(all.toggles[1]).toEqual({ name: 'off', enabled: false, variant: { name: 'disabled', enabled: false, feature_enabled: false }, impressionData: false });
    expect(all.toggles[6]).toEqual({ name: 'loud', enabled: true, variant: { name: 'disabled', enabled: false, feature_enabled: true }, impressionData: true });
    for (const t of all.toggles) {
      expect(t.enabled).toBe(client.isEnabled(t.name, { userId: 'alice' }));
      expect(t.variant).toEqual(client.getVariant(t.name, { userId: 'alice' }));
    }
    // enabledOnly: what the Frontend API itself answers.
    expect(client.getAllFlags({ userId: 'bob' }, { enabledOnly: true }).toggles.every((t) => t.enabled)).toBe(true);
    expect(client.getAllFlags({ userId: 'bob' }, { enabledOnly: true }).toggles.map((t) => t.name)).not.toContain('beta');
  });

  test.each([false, true])('bootstraps unleash-proxy-client (enabledOnly %s), which then answers as this client does, without a request', async (enabledOnly) => {
    const client = await offlineClient();
    let compared = 0;
    for (const ctx of CONTEXTS) {
      const fetches: string[] = [];
      // Through JSON, as a server would send it.
      const body = JSON.parse(JSON.stringify(client.getAllFlags(ctx, { enabledOnly }))) as { toggles: unknown[] };
      const browser = browserClient({ bootstrap: body.toggles }, fetches);
      await new Promise((resolve) => browser.once(EVENTS.READY, resolve));
      for (const name of NAMES) {
        expect([name, browser.isEnabled(name)]).toEqual([name, client.isEnabled(name, ctx)]);
        expect([name, browser.getVariant(name)]).toEqual([name, client.getVariant(name, ctx)]);
        compared++;
      }
      expect(fetches).toEqual([]);
    }
    expect(compared).toBe(CONTEXTS.length * NAMES.length);
  });

  test('served as a Frontend API body from a loopback server, the browser client fetches it and answers the same', async () => {
    const client = await offlineClient();
    const ctx = { userId: '7' };
    server.setDefault('GET', '/api/frontend', { body: client.getAllFlags(ctx, { enabledOnly: true }) });
    const browser = browserClient({}, []);
    await browser.start();
    expect(server.requestsTo('/api/frontend')).toHaveLength(1);
    for (const name of NAMES) {
      expect([name, browser.isEnabled(name)]).toEqual([name, client.isEnabled(name, ctx)]);
      expect([name, browser.getVariant(name)]).toEqual([name, client.getVariant(name, ctx)]);
    }
    expect(browser.isEnabled('child')).toBe(true);
  });

  test('counts as one getVariant per flag only when asked (countMetrics)', async () => {
    server.serveFeatures({ version: 2, features: testData().payload().features, segments: [] });
    const client = new UnleashClient({ url: server.url, appName: 'all-flags', cache: new MemoryCache(), disableRegistration: true, scheduler: new ManualScheduler() });
    clients.push(client);
    await client.start();
    client.getAllFlags({ userId: 'alice' });
    client.isEnabled('on');
    await client.flushMetrics();
    client.getAllFlags({ userId: 'alice' }, { countMetrics: true });
    await client.flushMetrics();
    const [first, second] = server.requestsTo('/api/client/metrics').map((r) => (r.json() as { bucket: { toggles: Record<string, unknown> } }).bucket.toggles);
    expect(first).toEqual({ on: { yes: 1, no: 0, variants: {} } });
    expect(second).toEqual({
      on: { yes: 1, no: 0, variants: { disabled: 1 } },
      off: { yes: 0, no: 1, variants: { disabled: 1 } },
      beta: { yes: 1, no: 0, variants: { disabled: 1 } },
      half: expect.anything(),
      colour: { yes: 1, no: 0, variants: { [client.getVariant('colour', { userId: 'alice' }).name]: 1 } },
      child: { yes: 1, no: 0, variants: { disabled: 1 } },
      loud: { yes: 1, no: 0, variants: { disabled: 1 } },
    });
  });
});
