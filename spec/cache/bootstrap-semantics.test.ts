/**
 * A bootstrap seeds only an empty cache unless told to override: it must never replace
 * the last good flags a persistent cache kept from the server in an earlier run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheKeys } from '../../cache/base-cache';
import { FileCache } from '../../cache/file-cache';
import { MemoryCache } from '../../cache/memory-cache';
import { BootstrapError } from '../../bootstrap/dict';
import { UnleashClient } from '../../lib/client';
import { TestServer } from '../support/test-server';

const body = (...names: string[]) => ({ version: 2, features: names.map((name) => ({ name, enabled: true, strategies: [{ name: 'default' }] })) });
const names = (value: unknown) => (value as { features: { name: string }[] }).features.map((f) => f.name);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-bootstrap-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('bootstrapping a cache that holds flags', () => {
  test('is skipped by default and applied with override', async () => {
    const cache = new MemoryCache();
    expect(await cache.bootstrapFromDict(body('first'))).toBe(true);
    expect(await cache.bootstrapFromDict(body('second'))).toBe(false);
    expect(names(cache.get(CacheKeys.FEATURES))).toEqual(['first']);
    expect(await cache.bootstrapFromDict(body('third'), { override: true })).toBe(true);
    expect(names(cache.get(CacheKeys.FEATURES))).toEqual(['third']);
  });

  test('a bad body still rejects, so a broken bootstrap is noticed on every start', async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromDict(body('first'));
    await expect(cache.bootstrapFromDict('{not json')).rejects.toBeInstanceOf(BootstrapError);
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"flags": []}');
    await expect(cache.bootstrapFromFile(file)).rejects.toMatchObject({ code: 'PAYLOAD_INVALID' });
  });

  test('bootstrapFromUrl checks the body but keeps the flags a cache holds', async () => {
    const server = await TestServer.start();
    try {
      server.serveFeatures(body('from-url'));
      const cache = new MemoryCache();
      await cache.bootstrapFromDict(body('kept'));
      expect(await cache.bootstrapFromUrl(`${server.url}/client/features`)).toBe(false);
      expect(names(cache.get(CacheKeys.FEATURES))).toEqual(['kept']);
      expect(await cache.bootstrapFromUrl(`${server.url}/client/features`, { override: true })).toBe(true);
      expect(names(cache.get(CacheKeys.FEATURES))).toEqual(['from-url']);
    } finally {
      await server.close();
    }
  });

  test("a restart with a FileCache serves the server's last good flags, not an older bootstrap file", async () => {
    const server = await TestServer.start();
    const bootstrapFile = join(dir, 'bootstrap.json');
    await writeFile(bootstrapFile, JSON.stringify(body('from-bootstrap')));
    try {
      // First run: bootstrap, then the server's flags arrive and are persisted.
      server.serveFeatures(body('from-server'));
      const first = new FileCache({ appName: 'restart', directory: dir });
      expect(await first.bootstrapFromFile(bootstrapFile)).toBe(true);
      const a = new UnleashClient({ appName: 'restart', url: server.url, cache: first, disableMetrics: true, disableRegistration: true, refreshInterval: 0 });
      const fetched = new Promise<void>((resolve) => a.on('fetched', () => resolve()));
      await a.start();
      await fetched;
      await a.destroy();
      await first.destroy();
      // Second run, offline: the same bootstrap call must not replace what the server sent.
      const second = new FileCache({ appName: 'restart', directory: dir });
      expect(await second.bootstrapFromFile(bootstrapFile)).toBe(false);
      const b = new UnleashClient({ appName: 'restart', offline: true, cache: second });
      const ready = new Promise((resolve) => b.on('ready', resolve));
      await b.start();
      expect(await ready).toEqual({ type: 'ready', from: 'cache' });
      expect(b.isEnabled('from-server')).toBe(true);
      expect(b.isEnabled('from-bootstrap')).toBe(false);
      await b.destroy();
    } finally {
      await server.close();
    }
  });
});
