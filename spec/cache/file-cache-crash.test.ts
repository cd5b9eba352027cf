/**
 * FileCache writers killed for real: a child process writes the cache in a loop and is
 * SIGKILLed mid-write, which about half the time leaves its temp file behind. The next
 * start removes what the dead writers left, and never the temp file of a writer that is
 * still alive. Waits are for events (a line printed, a file present, an exit), never for time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FILE_CACHE_FORMAT, FileCache, type CacheWarning } from '../../cache/file-cache';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = join(root, '.tmp', `file-cache-crash-${process.pid}`);
let dir: string;

const WRITER = `
const { FileCache } = require(process.argv[2]);
const cache = new FileCache({ directory: process.argv[3], fileName: 'flags.json', onWarning: (w) => console.error(w.code, w.message) });
// Big enough that most of each write is spent with the temp file open.
const features = { version: 2, features: Array.from({ length: 20000 }, (_, i) => ({ name: 'flag-' + i, enabled: true, strategies: [] })) };
(async () => {
  for (let round = 0; ; round++) {
    await cache.mset({ features, etag: '"' + round + '"' });
    if (round === 0) console.log('writing');
  }
})();
`;

beforeAll(async () => {
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'entry.ts'), "export { FileCache } from '../../cache/file-cache';\n");
  await build({
    entryPoints: [join(work, 'entry.ts')],
    outfile: join(work, 'file-cache.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'silent',
  });
  await writeFile(join(work, 'writer.cjs'), WRITER);
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-file-cache-crash-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Writer {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<void>;
}

/** Starts a writer and resolves once its first write is on disk. */
async function startWriter(): Promise<Writer> {
  const child = spawn(process.execPath, [join(work, 'writer.cjs'), join(work, 'file-cache.cjs'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('writing\n')) resolve();
    });
    void exited.then(() => reject(new Error(`the writer exited before writing\n${err}`)));
  });
  return { child, stderr: () => err, exited };
}

const tempFiles = async (): Promise<string[]> => (await readdir(dir)).filter((name) => name.endsWith('.tmp'));

/** Resolves once a temp file exists, i.e. the writer is in the middle of a write. */
async function midWrite(): Promise<void> {
  while ((await tempFiles()).length === 0) await new Promise((resolve) => setImmediate(resolve));
}

test('temp files of writers SIGKILLed mid-write are removed at the next start; the cache file is whole', async () => {
  let kills = 0;
  const leftBehind: string[] = [];
  // Some kills land between a rename and the next write and leave nothing: go on until
  // several did leave a file. Each new writer's start removes what the one before left.
  while ((kills < 3 || leftBehind.length < 2) && kills < 40) {
    const writer = await startWriter();
    await midWrite();
    writer.child.kill('SIGKILL');
    await writer.exited;
    kills++;
    const mine = (await tempFiles()).filter((name) => name.includes(`.${writer.child.pid}-`));
    leftBehind.push(...mine);
  }
  expect(leftBehind.length).toBeGreaterThanOrEqual(2);

  const warnings: CacheWarning[] = [];
  const cache = new FileCache({ directory: dir, fileName: 'flags.json', onWarning: (w) => warnings.push(w) });
  // A killed write leaves the old file or the new one, never half of one.
  expect(await cache.get('etag')).toMatch(/^"\d+"$/);
  await cache.destroy(); // waits for the sweep
  expect(await readdir(dir)).toEqual(['flags.json']);
  expect(JSON.parse(await readFile(join(dir, 'flags.json'), 'utf8')).format).toBe(FILE_CACHE_FORMAT);
  expect(warnings).toEqual([]);
}, 60_000);

test('starts next to a live writer never remove its temp file: none of its writes fails', async () => {
  const writer = await startWriter();
  try {
    // Each start sweeps while the writer has a temp file open; removing it would make the
    // writer's rename fail, which it reports as CACHE_WRITE_FAILED on stderr.
    for (let start = 0; start < 20; start++) {
      await midWrite();
      const cache = new FileCache({ directory: dir, fileName: 'flags.json', onWarning: () => undefined });
      await cache.get('etag');
      await cache.destroy();
    }
  } finally {
    writer.child.kill('SIGKILL');
    await writer.exited;
  }
  expect(writer.stderr()).toBe('');
}, 60_000);
