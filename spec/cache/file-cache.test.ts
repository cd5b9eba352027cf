import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CacheKeys } from '../../cache/base-cache';
import { SwitchyardError } from '../../lib/errors';
import {
  CacheWarning,
  cacheFileName,
  FILE_CACHE_FORMAT,
  FILE_CACHE_VERSION,
  FileCache,
  tempFileName,
  type FileCacheOptions,
} from '../../cache/file-cache';

let dir: string;
let warnings: CacheWarning[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-file-cache-'));
  warnings = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(options: Partial<FileCacheOptions> = {}): FileCache {
  return new FileCache({ appName: 'orders', directory: dir, onWarning: (w) => warnings.push(w), ...options });
}

const features = {
  version: 2,
  features: [{ name: 'a', enabled: true, strategies: [], variants: [], dependencies: [], impressionData: false }],
  segments: [],
};

describe('FileCache: file naming', () => {
  test('the default file lives in the OS temp dir and is keyed by appName', () => {
    const cache = new FileCache({ appName: 'billing-api' });
    expect(cache.path).toBe(join(tmpdir(), 'switchyard-billing-api.json'));
  });

  test('unsafe app names become safe, distinct file names', () => {
    const names = ['../../etc/passwd', 'a/b', 'a?b', 'a b', 'Zürich', 'C:\\x', ''].map(cacheFileName);
    for (const name of names) expect(name).toMatch(/^switchyard-[A-Za-z0-9._-]*\.json$/);
    expect(new Set(names).size).toBe(names.length);
    expect(basename(new FileCache({ appName: '../../etc/passwd', directory: dir }).path)).toBe(names[0]);
    expect(cacheFileName('svc_1.2-x')).toBe('switchyard-svc_1.2-x.json');
  });

  test('fileName and directory override the default', () => {
    expect(new FileCache({ directory: dir, fileName: 'flags.json' }).path).toBe(join(dir, 'flags.json'));
  });

  test('configuration mistakes throw at once, naming the option', () => {
    expect(() => new FileCache({})).toThrow(/"appName"/);
    expect(() => new FileCache({ appName: '' })).toThrow(TypeError);
    expect(() => new FileCache({ fileName: '../x.json' })).toThrow(/"fileName"/);
    expect(() => new FileCache({ appName: 'x', directory: '' })).toThrow(/"directory"/);
  });
});

describe('FileCache: storage', () => {
  test('round trip through the file, in a versioned document', async () => {
    const writer = open();
    await writer.mset({ [CacheKeys.FEATURES]: features, [CacheKeys.ETAG]: '"1fc:18"' });
    await writer.destroy();

    const doc = JSON.parse(await readFile(writer.path, 'utf8'));
    expect(doc).toMatchObject({ format: FILE_CACHE_FORMAT, version: FILE_CACHE_VERSION });
    expect(Number.isNaN(Date.parse(doc.savedAt))).toBe(false);
    expect(doc.entries).toEqual({ features, etag: '"1fc:18"' });

    const reader = open();
    expect(await reader.get(CacheKeys.FEATURES)).toEqual(features);
    expect(await reader.get(CacheKeys.ETAG)).toBe('"1fc:18"');
    expect(await reader.exists(CacheKeys.ETAG)).toBe(true);
    expect(await reader.exists('nothing')).toBe(false);
    expect(warnings).toEqual([]);
  });

  test('a missing file is an empty cache, without warning', async () => {
    const cache = open();
    expect(await cache.get(CacheKeys.FEATURES)).toBeUndefined();
    expect(await cache.exists(CacheKeys.FEATURES)).toBe(false);
    expect(warnings).toEqual([]);
  });

  test('storing undefined removes the key from the file', async () => {
    const cache = open();
    await cache.mset({ etag: '"1"', features });
    await cache.set('etag', undefined);
    expect(await cache.exists('etag')).toBe(false);
    expect(JSON.parse(await readFile(cache.path, 'utf8')).entries).toEqual({ features });
  });

  test('creates a missing directory on first write', async () => {
    const cache = open({ directory: join(dir, 'nested', 'deeper') });
    await cache.set('etag', '"x"');
    expect(await open({ directory: join(dir, 'nested', 'deeper') }).get('etag')).toBe('"x"');
  });

  test('bootstrapFromDict writes the validated body through to the file', async () => {
    const cache = open();
    await cache.bootstrapFromDict(JSON.stringify({ version: 2, features: [{ name: 'boot', enabled: true }] }));
    const reopened = open();
    const stored = (await reopened.get(CacheKeys.FEATURES)) as typeof features;
    expect(stored.features.map((f) => f.name)).toEqual(['boot']);
    expect(await reopened.exists(CacheKeys.ETAG)).toBe(false);
  });

  test('destroy waits for a pending write, and later writes are ignored', async () => {
    const cache = open();
    void cache.set('etag', '"before"');
    await cache.destroy();
    await cache.destroy();
    await cache.set('etag', '"after"');
    expect(JSON.parse(await readFile(cache.path, 'utf8')).entries.etag).toBe('"before"');
  });

  test('a value that is not JSON-serialisable is reported and not stored; the others are', async () => {
    const cache = open();
    await cache.mset({ bad: 10n, etag: '"ok"' });
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_WRITE_FAILED']);
    // JSON.stringify's own error says why (a BigInt), and quotes nothing of the value.
    expect(warnings[0]!.cause).toBeInstanceOf(TypeError);
    expect(await cache.exists('bad')).toBe(false);
    expect(JSON.parse(await readFile(cache.path, 'utf8')).entries).toEqual({ etag: '"ok"' });
  });
});

describe('FileCache: atomic writes', () => {
  test('readers never see a partially written file, and no temp file is left', async () => {
    const writer = open();
    // Big enough that a plain truncate-and-write would be visible half-done to a reader.
    const big = (tag: string) => ({
      version: 2,
      features: Array.from({ length: 4000 }, (_, i) => ({ name: `${tag}-${i}`, enabled: i % 2 === 0 })),
    });
    await writer.set('features', big('v0'));

    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const doc = JSON.parse(await readFile(writer.path, 'utf8'));
        expect(doc.format).toBe(FILE_CACHE_FORMAT);
        expect(doc.entries.features.features).toHaveLength(4000);
        reads++;
      }
    })();
    for (let round = 1; round <= 15; round++) await writer.set('features', big(`v${round}`));
    writing = false;
    await reader;

    expect(reads).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual([basename(writer.path)]);
    const last = JSON.parse(await readFile(writer.path, 'utf8'));
    expect(last.entries.features.features[0].name).toBe('v15-0');
  });

  test('two quick writes without awaiting leave the last one', async () => {
    const cache = open();
    const first = cache.set('etag', '"1"');
    const second = cache.set('etag', '"2"');
    const third = cache.mset({ etag: '"3"', features });
    await Promise.all([first, second, third]);
    expect(await open().get('etag')).toBe('"3"');
    expect(await readdir(dir)).toEqual([basename(cache.path)]);
  });

  test('a failed rename removes its temp file and keeps the value in memory', async () => {
    // The target path is a non-empty directory, so rename() over it fails.
    const cache = open({ fileName: 'occupied' });
    await mkdir(join(dir, 'occupied', 'child'), { recursive: true });
    await expect(cache.set('etag', '"mem"')).resolves.toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_READ_FAILED', 'CACHE_WRITE_FAILED']);
    expect(await cache.get('etag')).toBe('"mem"');
    expect(await readdir(dir)).toEqual(['occupied']);
  });

  test('stale temp files of a crashed writer are removed, fresh ones are left alone', async () => {
    const cache = open();
    const stale = join(dir, `.${basename(cache.path)}.123.aaaaaaaaaaaa.tmp`);
    const fresh = join(dir, `.${basename(cache.path)}.456.bbbbbbbbbbbb.tmp`);
    const unrelated = join(dir, 'other.tmp');
    for (const file of [stale, fresh, unrelated]) await writeFile(file, '{"partial":');
    const old = new Date(Date.now() - 60 * 60 * 1000);
    await utimes(stale, old, old);
    await utimes(unrelated, old, old);

    await cache.get('etag');
    await cache.destroy(); // waits for the sweep
    expect((await readdir(dir)).sort()).toEqual([basename(fresh), 'other.tmp'].sort());
  });
});

describe('FileCache: temp files left by a writer that died are removed at the next start', () => {
  /** The pid of a process that has exited. */
  async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.on('exit', resolve));
    return child.pid!;
  }

  /** A temp file named as the writer names it, last modified `ageMs` ago. */
  async function leftOver(path: string, pid: number, ageMs = 0, rename?: (name: string) => string): Promise<string> {
    let file = tempFileName(path, pid);
    if (rename) file = join(dir, rename(basename(file)));
    await writeFile(file, '{"format":"switchyard-cache","ver');
    const when = new Date(Date.now() - ageMs);
    await utimes(file, when, when);
    return basename(file);
  }

  test('each temp file is judged by its writer: gone writers’ files go, live writers’ files stay', async () => {
    const cache = open();
    const processStart = Date.now() - process.uptime() * 1000;
    const otherHost = (name: string): string => name.replace(/-([0-9a-f]{8})\./, (_, tag) => `-${tag === 'ffffffff' ? '00000000' : 'ffffffff'}.`);
    const dead = await deadPid();
    const files = {
      deadWriterHere: await leftOver(cache.path, dead),
      liveWriterHere: await leftOver(cache.path, process.ppid),
      thisProcessNow: await leftOver(cache.path, process.pid),
      samePidBeforeThisProcessStarted: await leftOver(cache.path, process.pid, Date.now() - processStart + 1000),
      otherHostFresh: await leftOver(cache.path, dead, 0, otherHost),
      otherHostOld: await leftOver(cache.path, dead, 11 * 60 * 1000, otherHost),
      liveWriterHereOld: await leftOver(cache.path, process.ppid, 11 * 60 * 1000),
    };
    await cache.get('etag');
    await cache.destroy(); // waits for the sweep
    expect((await readdir(dir)).sort()).toEqual([files.liveWriterHere, files.thisProcessNow, files.otherHostFresh].sort());
    expect(warnings).toEqual([]);
  });

  test('the sweep runs at the start, before this instance writes, and never touches its own write', async () => {
    const cache = open();
    const leftover = await leftOver(cache.path, await deadPid());
    await cache.set('etag', '"1"');
    await cache.destroy();
    expect(await readdir(dir)).toEqual([basename(cache.path)]);
    expect(leftover).toMatch(/^\.switchyard-orders\.json\.\d+-[0-9a-f]{8}\.[0-9a-f]{12}\.tmp$/);
  });
});

describe('FileCache: bad files and failures are warnings, never throws', () => {
  test('a corrupt (truncated) file is reported without quoting it, ignored, then replaced', async () => {
    const cache = open();
    await writeFile(cache.path, '{"format":"switchyard-cache","version":1,"entries":{"etag":"secret-tok');
    expect(await cache.get('etag')).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBeInstanceOf(CacheWarning);
    expect(warnings[0]).toBeInstanceOf(SwitchyardError);
    expect(warnings[0]).toMatchObject({ code: 'CACHE_CORRUPT', path: cache.path, name: 'CacheWarning' });
    expect('cause' in warnings[0]!).toBe(false);
    expect(warnings[0].message).not.toContain('secret-tok');

    await cache.set('etag', '"new"');
    expect(JSON.parse(await readFile(cache.path, 'utf8')).entries).toEqual({ etag: '"new"' });
  });

  test('an empty file is corrupt', async () => {
    const cache = open();
    await writeFile(cache.path, '');
    expect(await cache.exists('features')).toBe(false);
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_CORRUPT']);
  });

  test('a cache document without an entries object is corrupt', async () => {
    const cache = open();
    await writeFile(cache.path, JSON.stringify({ format: FILE_CACHE_FORMAT, version: FILE_CACHE_VERSION, entries: [] }));
    expect(await cache.get('features')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_CORRUPT']);
  });

  test('a foreign JSON file is reported and ignored; the next write copies it aside, then replaces it', async () => {
    const cache = open();
    const foreign = JSON.stringify({ name: 'someone-elses-config', features: ['x'] });
    await writeFile(cache.path, foreign);
    expect(await cache.get('features')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_FOREIGN']);
    expect(warnings[0]!.message).toContain('will be replaced by the next write');
    await cache.set('etag', '"1"');
    await cache.set('etag', '"2"');
    expect(JSON.parse(await readFile(cache.path, 'utf8')).entries).toEqual({ etag: '"2"' });
    // Copied once, byte for byte, beside the cache file; the second write just writes.
    const copies = (await readdir(dir)).filter((name) => name.startsWith(`${basename(cache.path)}.foreign-`));
    expect(copies).toHaveLength(1);
    expect(await readFile(join(dir, copies[0]!), 'utf8')).toBe(foreign);
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_FOREIGN', 'CACHE_FOREIGN']);
    expect(warnings[1]!.message).toContain(copies[0]);
  });

  test('a foreign file is not written over while no copy of it can be made', async () => {
    // Only the clock is faked: it names the copy, so the test can occupy that name.
    jest.useFakeTimers({ now: Date.parse('2026-03-01T10:00:00.000Z'), doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    try {
      const cache = open();
      await writeFile(cache.path, '{"mine":true}');
      const blocker = `${cache.path}.foreign-2026-03-01T10-00-00-000Z`;
      await writeFile(blocker, 'an earlier copy');
      await cache.set('etag', '"1"');
      await cache.set('etag', '"2"');
      expect(await readFile(cache.path, 'utf8')).toBe('{"mine":true}');
      expect(await readFile(blocker, 'utf8')).toBe('an earlier copy');
      expect(await cache.get('etag')).toBe('"2"'); // served from memory
      expect(warnings.map((w) => w.code)).toEqual(['CACHE_FOREIGN', 'CACHE_FOREIGN']);
      expect(warnings[1]!.message).toMatch(/cannot copy .* \(EEXIST\); not writing over it/);

      jest.setSystemTime(Date.parse('2026-03-01T10:00:01.000Z'));
      await cache.set('etag', '"3"');
      expect(JSON.parse(await readFile(cache.path, 'utf8')).entries).toEqual({ etag: '"3"' });
      expect(await readFile(`${cache.path}.foreign-2026-03-01T10-00-01-000Z`, 'utf8')).toBe('{"mine":true}');
    } finally {
      jest.useRealTimers();
    }
  });

  describe('a file nested too deeply to write back (100 000 levels)', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);

    test.each([
      ['as an entry', `{"format":"${FILE_CACHE_FORMAT}","version":1,"entries":{"etag":"\\"e\\"","features":${deep}}}`, 'CACHE_CORRUPT'],
      ['as the format version', `{"format":"${FILE_CACHE_FORMAT}","version":${deep},"entries":{}}`, 'CACHE_VERSION_UNSUPPORTED'],
      ['as the whole file', deep, 'CACHE_FOREIGN'],
    ])('%s: ignored, the instance keeps working, the next write replaces it', async (_label, text, code) => {
      const cache = open();
      await writeFile(cache.path, text);
      expect(await cache.get('etag')).toBeUndefined();
      expect(await cache.exists('features')).toBe(false);
      expect(warnings[0]).toMatchObject({ code });
      await cache.mset({ features, etag: '"new"' });
      expect(JSON.parse(await readFile(cache.path, 'utf8')).entries).toEqual({ features, etag: '"new"' });
      expect(await open().get('features')).toEqual(features);
    });
  });

  test('a JSON array or scalar file is foreign too', async () => {
    await writeFile(join(dir, 'a.json'), '[1,2]');
    await writeFile(join(dir, 'b.json'), '42');
    expect(await open({ fileName: 'a.json' }).get('x')).toBeUndefined();
    expect(await open({ fileName: 'b.json' }).get('x')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_FOREIGN', 'CACHE_FOREIGN']);
  });

  test('a file from a newer format version is ignored and replaced', async () => {
    const cache = open();
    await writeFile(cache.path, JSON.stringify({ format: FILE_CACHE_FORMAT, version: 99, entries: { etag: '"n"' } }));
    expect(await cache.get('etag')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_VERSION_UNSUPPORTED']);
    await cache.set('etag', '"1"');
    expect(JSON.parse(await readFile(cache.path, 'utf8')).version).toBe(FILE_CACHE_VERSION);
  });

  test('an unwritable directory gives one warning, no crash, and values stay in memory', async () => {
    // A regular file where a directory should be: fails even for root, unlike chmod.
    await writeFile(join(dir, 'not-a-dir'), 'x');
    const cache = open({ directory: join(dir, 'not-a-dir', 'cache') });
    await expect(cache.set('etag', '"1"')).resolves.toBeUndefined();
    await expect(cache.mset({ etag: '"2"', features })).resolves.toBeUndefined();
    expect(await cache.get('etag')).toBe('"2"');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'CACHE_WRITE_FAILED' });
    expect(warnings[0].message).toMatch(/ENOTDIR|EEXIST/);
    await expect(cache.destroy()).resolves.toBeUndefined();
  });

  test('a write that succeeds after failures ends the failing spell, so the next failure is reported again', async () => {
    const blocker = join(dir, 'later');
    await writeFile(blocker, 'x');
    const cache = open({ directory: blocker });
    await cache.set('etag', '"1"');
    await rm(blocker);
    await cache.set('etag', '"2"');
    expect(await open({ directory: blocker }).get('etag')).toBe('"2"');
    await rm(blocker, { recursive: true });
    await writeFile(blocker, 'x');
    await cache.set('etag', '"3"');
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_WRITE_FAILED', 'CACHE_WRITE_FAILED']);
  });

  test('an unreadable path (a directory) is reported as CACHE_READ_FAILED', async () => {
    await mkdir(join(dir, 'dir.json'));
    const cache = open({ fileName: 'dir.json' });
    expect(await cache.get('features')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_READ_FAILED']);
  });

  test('a throwing warning handler does not break the cache', async () => {
    await writeFile(join(dir, 'bad.json'), 'nope');
    const cache = open({
      fileName: 'bad.json',
      onWarning: () => {
        throw new Error('handler bug');
      },
    });
    expect(await cache.get('etag')).toBeUndefined();
    await cache.set('etag', '"ok"');
    expect(await open({ fileName: 'bad.json' }).get('etag')).toBe('"ok"');
  });

  test('without a handler, warnings go to process.emitWarning', async () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await writeFile(join(dir, 'bad.json'), 'nope');
      const cache = new FileCache({ directory: dir, fileName: 'bad.json' });
      await cache.get('etag');
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][0]).toBeInstanceOf(CacheWarning);
    } finally {
      spy.mockRestore();
    }
  });

  test('the onWarning option and listeners added later all hear; process.emitWarning only while nobody listens', async () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await writeFile(join(dir, 'bad.json'), 'nope');
      const heard: string[] = [];
      const cache = open({ fileName: 'bad.json' });
      const off = cache.onWarning((w) => heard.push(w.code));
      await cache.get('etag');
      expect(warnings.map((w) => w.code)).toEqual(['CACHE_CORRUPT']);
      expect(heard).toEqual(['CACHE_CORRUPT']);
      off();

      const quiet = new FileCache({ directory: dir, fileName: 'bad.json' });
      const offQuiet = quiet.onWarning((w) => heard.push(w.code));
      await quiet.get('etag');
      expect(heard).toEqual(['CACHE_CORRUPT', 'CACHE_CORRUPT']);
      expect(spy).not.toHaveBeenCalled();
      offQuiet();
      await new FileCache({ directory: dir, fileName: 'bad.json' }).get('etag');
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('FileCache: two instances sharing a file', () => {
  test('a second instance reads what the first wrote', async () => {
    const a = open();
    await a.mset({ features, etag: '"a"' });
    const b = open();
    expect(await b.get('etag')).toBe('"a"');
    expect(await b.get('features')).toEqual(features);
  });

  test('sequential writes from two live instances leave the last writer’s whole document', async () => {
    const a = open();
    const b = open();
    await a.get('etag'); // both have read the (missing) file
    await b.get('etag');
    await a.mset({ features, etag: '"a"' });
    await b.mset({ etag: '"b"' });
    const c = open();
    expect(await c.get('etag')).toBe('"b"');
    // b never saw a's features: the file holds b's consistent view, not a mix of both.
    expect(await c.exists('features')).toBe(false);
  });

  test('concurrent writes leave one complete document and no temp file', async () => {
    const a = open();
    const b = open();
    await Promise.all([a.mset({ features, etag: '"a"' }), b.mset({ features, etag: '"b"' })]);
    const doc = JSON.parse(await readFile(a.path, 'utf8'));
    expect(['"a"', '"b"']).toContain(doc.entries.etag);
    expect(doc.entries.features).toEqual(features);
    expect(await readdir(dir)).toEqual([basename(a.path)]);
    expect(warnings).toEqual([]);
  });
});
