import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapError } from '../../bootstrap/dict';
import { loadBootstrapFile } from '../../bootstrap/file';
import { CacheKeys } from '../../cache/base-cache';
import { MemoryCache } from '../../cache/memory-cache';
import { SwitchyardError } from '../../lib/errors';
import type { FeaturesPayload } from '../../lib/types';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-bootstrap-file-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const body = {
  version: 2,
  features: [
    { name: 'payments.retry', enabled: true, strategies: [{ name: 'default' }] },
    { name: 'payments.legacy', enabled: false, strategies: [] },
  ],
  segments: [],
};

async function write(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<BootstrapError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BootstrapError);
  expect(err).toBeInstanceOf(SwitchyardError);
  return err as BootstrapError;
}

describe('cache.bootstrapFromFile', () => {
  test('seeds the cache from a file', async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromFile(await write('flags.json', JSON.stringify(body)));
    expect(cache.bootstrapped).toBe(true);
    const stored = cache.get(CacheKeys.FEATURES) as FeaturesPayload;
    expect(stored.features.map((f) => [f.name, f.enabled])).toEqual([
      ['payments.retry', true],
      ['payments.legacy', false],
    ]);
  });

  test('accepts a file saved with a UTF-8 byte-order mark', async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromFile(await write('bom.json', `\uFEFF${JSON.stringify(body)}`));
    expect((cache.get(CacheKeys.FEATURES) as FeaturesPayload).features).toHaveLength(2);
  });

  test('a missing file is FILE_NOT_FOUND and leaves the cache untouched', async () => {
    const cache = new MemoryCache();
    const path = join(dir, 'nope.json');
    const err = await failure(cache.bootstrapFromFile(path));
    expect(err.code).toBe('FILE_NOT_FOUND');
    expect(err.location).toBe(path);
    expect(err.message).toContain(path);
    expect(cache.bootstrapped).toBe(false);
    expect(cache.exists(CacheKeys.FEATURES)).toBe(false);
  });

  test('a directory is FILE_UNREADABLE', async () => {
    await mkdir(join(dir, 'sub'));
    const err = await failure(loadBootstrapFile(join(dir, 'sub')));
    expect(err.code).toBe('FILE_UNREADABLE');
    expect(err.message).toMatch(/EISDIR/);
  });

  test('an empty path is refused', async () => {
    expect((await failure(loadBootstrapFile(''))).code).toBe('FILE_NOT_FOUND');
  });

  test('a file that is not JSON is PAYLOAD_NOT_JSON, without quoting the file', async () => {
    const cache = new MemoryCache();
    const err = await failure(cache.bootstrapFromFile(await write('bad.json', 'features: [token-abc123]')));
    expect(err.code).toBe('PAYLOAD_NOT_JSON');
    expect(err.message).not.toContain('token-abc123');
    expect(cache.bootstrapped).toBe(false);
  });

  test('JSON of the wrong shape is PAYLOAD_INVALID', async () => {
    const err = await failure(loadBootstrapFile(await write('shape.json', '{"toggles": []}')));
    expect(err.code).toBe('PAYLOAD_INVALID');
    expect(err.message).toMatch(/features/);
  });
});
