import { hostname } from 'node:os';
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { applicationHostname } from '../../lib/host';

describe('the host name applicationHostname compares with', () => {
  test.each([
    [{ HOSTNAME: 'my-pod-7' }, 'my-pod-7'],
    [{ HOSTNAME: 'My-Pod-7' }, 'My-Pod-7'],
    [{ HOSTNAME: '' }, 'os-host'],
    [{}, 'os-host'],
    [{ HOST: 'elsewhere' }, 'os-host'],
  ])('with %p: %p', (env, expected) => {
    expect(applicationHostname(env, () => 'os-host')).toBe(expected);
  });

  test('defaults to process.env and the OS host name', () => {
    const fromEnv = process.env.HOSTNAME;
    expect(applicationHostname()).toBe(fromEnv !== undefined && fromEnv !== '' ? fromEnv : hostname());
  });
});

describe('a client', () => {
  const saved = process.env.HOSTNAME;
  const clients: UnleashClient[] = [];

  afterEach(async () => {
    if (saved === undefined) delete process.env.HOSTNAME;
    else process.env.HOSTNAME = saved;
    await Promise.all(clients.splice(0).map((c) => c.destroy()));
  });

  async function onFor(hostNames: string): Promise<boolean> {
    const cache = new MemoryCache();
    await cache.bootstrapFromDict({
      version: 2,
      features: [{ name: 'pods', enabled: true, strategies: [{ name: 'applicationHostname', parameters: { hostNames } }] }],
    });
    const client = new UnleashClient({ appName: 'host-test', offline: true, cache, disableMetrics: true });
    clients.push(client);
    await client.start();
    return client.isEnabled('pods');
  }

  test.each([
    ['my-pod-7', 'my-pod-7', true],
    ['my-pod-7', 'web-1, my-pod-7', true],
    ['MY-POD-7', 'my-pod-7', true],
    ['my-pod-7', 'MY-POD-7', true],
    ['my-pod-7', 'my-pod-8', false],
    ['my-pod-7', hostname() === 'my-pod-7' ? 'unrelated' : hostname(), false],
  ])('with HOSTNAME=%p and hostNames %p: %p', async (envHost, hostNames, expected) => {
    process.env.HOSTNAME = envHost;
    expect(await onFor(hostNames)).toBe(expected);
  });

  test('uses the OS host name when HOSTNAME is empty or unset', async () => {
    process.env.HOSTNAME = '';
    expect(await onFor(hostname().toUpperCase())).toBe(true);
    delete process.env.HOSTNAME;
    expect(await onFor(hostname())).toBe(true);
    expect(await onFor('not-this-host-at-all')).toBe(false);
  });
});
