/**
 * One door for bytes: every source of a payload (the server, a bootstrap file, a bootstrap
 * URL, a dict given as a string or a Buffer, the cache file, the CLI's --features and --url
 * and its lint) decodes the same way (UTF-8, one leading byte-order mark dropped) and
 * parses through `parseClientPayload`. So a body either works from every source or from
 * none.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBootstrapBody } from '../../bootstrap/dict';
import { loadBootstrapFile } from '../../bootstrap/file';
import { loadBootstrapUrl } from '../../bootstrap/url';
import { FILE_CACHE_FORMAT, FILE_CACHE_VERSION, FileCache } from '../../cache/file-cache';
import { MemoryCache } from '../../cache/memory-cache';
import { runCli } from '../../lib/cli';
import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import { SwitchyardError } from '../../lib/errors';
import { TestServer } from '../support/test-server';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const json = JSON.stringify({ version: 2, features: [{ name: 'från-bom', enabled: true, strategies: [] }] });

let server: TestServer;
let dir: string;

beforeEach(async () => {
  server = await TestServer.start();
  dir = await mkdtemp(join(tmpdir(), 'switchyard-sources-'));
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** What a source made of the bytes: the flags it serves, or why it refused them. */
type Outcome = { flags: string[] } | { refused: string };

function refusal(err: unknown): Outcome {
  return { refused: err instanceof SwitchyardError ? err.code : String(err) };
}

async function cli(...argv: string[]): Promise<Outcome> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, interactive: false });
  if (code !== 0) return { refused: /not valid JSON/.test(out + err) ? 'PAYLOAD_NOT_JSON' : (out + err).trim() };
  return { flags: argv[0] === 'lint' ? [] : [...out.matchAll(/^(\S+)\s+ON/gm)].map((m) => m[1]!) };
}

async function file(bytes: Buffer): Promise<string> {
  const path = join(dir, 'flags.json');
  await writeFile(path, bytes);
  return path;
}

const sources: [string, (bytes: Buffer) => Promise<Outcome>][] = [
  [
    'the server (polling)',
    async (bytes) => {
      server.setDefault('GET', '/api/client/features', { body: bytes, headers: { 'content-type': 'application/json' } });
      const events: UnleashEvent[] = [];
      const client = new UnleashClient({
        url: server.url,
        appName: 'sources',
        cache: new MemoryCache(),
        refreshInterval: 0,
        disableMetrics: true,
        disableRegistration: true,
        eventCallback: (e) => events.push(e),
      });
      await client.start();
      await client.destroy();
      const error = events.find((e) => e.type === 'error');
      return error ? refusal(error.error) : { flags: client.isEnabled('från-bom') ? ['från-bom'] : [] };
    },
  ],
  ['a bootstrap file', async (bytes) => loadBootstrapFile(await file(bytes)).then((r) => ({ flags: r.payload.features.map((f) => f.name) }), refusal)],
  [
    'a bootstrap URL',
    async (bytes) => {
      server.setDefault('GET', '/flags.json', { body: bytes });
      return loadBootstrapUrl(`${server.origin}/flags.json`).then((r) => ({ flags: r.payload.features.map((f) => f.name) }), refusal);
    },
  ],
  [
    'a dict given as a Buffer',
    async (bytes) => {
      try {
        return { flags: parseBootstrapBody(bytes).payload.features.map((f) => f.name) };
      } catch (err) {
        return refusal(err);
      }
    },
  ],
  [
    'a dict given as a string',
    async (bytes) => {
      try {
        return { flags: parseBootstrapBody(bytes.toString('utf8')).payload.features.map((f) => f.name) };
      } catch (err) {
        return refusal(err);
      }
    },
  ],
  [
    'the cache file',
    async (bytes) => {
      // The cache document wraps the body; the bytes' own prefix goes in front of the file.
      const prefix = bytes.subarray(0, bytes.length - Buffer.byteLength(json));
      const document = JSON.stringify({ format: FILE_CACHE_FORMAT, version: FILE_CACHE_VERSION, savedAt: new Date(0).toISOString(), entries: { features: JSON.parse(json) } });
      await writeFile(join(dir, 'cache.json'), Buffer.concat([prefix, Buffer.from(document)]));
      const warnings: string[] = [];
      const cache = new FileCache({ directory: dir, fileName: 'cache.json', onWarning: (w) => warnings.push(w.code) });
      const client = new UnleashClient({ appName: 'sources', offline: true, cache, disableMetrics: true, eventCallback: () => undefined });
      await client.start();
      await client.destroy();
      return warnings.length > 0 ? { refused: warnings[0]! } : { flags: client.isEnabled('från-bom') ? ['från-bom'] : [] };
    },
  ],
  ['the CLI, eval --features', async (bytes) => cli('eval', '--features', await file(bytes))],
  [
    'the CLI, eval --url',
    async (bytes) => {
      server.setDefault('GET', '/flags.json', { body: bytes });
      return cli('eval', '--url', `${server.origin}/flags.json`);
    },
  ],
  ['the CLI, lint', async (bytes) => cli('lint', await file(bytes))],
];

describe.each(sources)('%s', (source, read) => {
  test('reads a body without a byte-order mark', async () => {
    expect(await read(Buffer.from(json))).toEqual({ flags: source.includes('lint') ? [] : ['från-bom'] });
  });

  test('reads the same body with one leading byte-order mark', async () => {
    expect(await read(Buffer.concat([BOM, Buffer.from(json)]))).toEqual({ flags: source.includes('lint') ? [] : ['från-bom'] });
  });

  test('refuses a body with two: only one mark is dropped, like every other source', async () => {
    const outcome = await read(Buffer.concat([BOM, BOM, Buffer.from(json)]));
    expect(outcome).toEqual({ refused: source === 'the cache file' ? 'CACHE_CORRUPT' : 'PAYLOAD_NOT_JSON' });
  });
});
