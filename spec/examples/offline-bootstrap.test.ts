/**
 * examples/offline-bootstrap: the example starts with UNLEASH_URL on a loopback port where
 * nothing listens, serves the flags of its bootstrap file, then picks up the flags of a
 * server started later on that very port, and keeps them in its cache file for the next
 * start. Every phase is read from its stdout; nothing here waits for a fixed time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDist, startExample, type ExampleProcess } from '../support/example-process';

const SCRIPT = 'examples/offline-bootstrap/index.mjs';
const CACHE_FILE = 'switchyard-switchyard-offline-bootstrap-example.json';

/** What the server sends once it is up: different from bootstrap.json in both flags. */
const serverFlags = {
  version: 2,
  features: [
    {
      name: 'search-v2',
      enabled: true,
      strategies: [{ name: 'default', parameters: {}, constraints: [], segments: [], variants: [] }],
      variants: [],
    },
    {
      name: 'announcement',
      enabled: true,
      strategies: [{ name: 'default', parameters: {}, constraints: [], segments: [], variants: [] }],
      variants: [{ name: 'live', weight: 1000, stickiness: 'default', payload: { type: 'string', value: 'Live from Unleash' } }],
    },
  ],
  segments: [],
};

const BOOTSTRAP_FLAGS = '[flags] search-v2=off announcement="Welcome! (the defaults shipped with the app)"';
const SERVER_FLAGS = '[flags] search-v2=on announcement="Live from Unleash"';

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const ETAG = '"offline-example:1"';

/**
 * A minimal Unleash stand-in on a given port (TestServer always picks its own): the client
 * API with ETag and 304, and 202 for registration and metrics.
 */
async function unleashOn(port: number, seen: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.method !== 'GET' || !req.url?.startsWith('/api/client/features')) res.writeHead(202).end();
    else if (req.headers['if-none-match'] === ETAG) res.writeHead(304, { etag: ETAG }).end();
    else res.writeHead(200, { 'content-type': 'application/json', etag: ETAG }).end(JSON.stringify(serverFlags));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('examples/offline-bootstrap', () => {
  let cacheDir: string;
  let example: ExampleProcess | undefined;
  let server: Server | undefined;

  beforeAll(requireDist);
  beforeEach(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'switchyard-offline-'));
  });
  afterEach(async () => {
    await example?.kill();
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
    }
    example = undefined;
    server = undefined;
    rmSync(cacheDir, { recursive: true, force: true });
  });

  test('starts from the bootstrap file with the server down, recovers when it appears, and restarts from the cache', async () => {
    const port = await freePort();
    const env = { UNLEASH_URL: `http://127.0.0.1:${port}/api`, UNLEASH_API_TOKEN: 'offline-example-token', CACHE_DIR: cacheDir };

    // Phase 1: nothing listens. The bootstrap file is served, and the outage reported.
    example = startExample(SCRIPT, env);
    await example.waitForLine(/^\[ready\] serving flags from the bootstrap$/);
    await example.waitForLine(new RegExp(`^${escape(BOOTSTRAP_FLAGS)}$`));
    await example.waitForLine(/^\[unreachable\] GET http:\/\/127\.0\.0\.1:\d+\/api\/client\/features: .*ECONNREFUSED/);

    // Phase 2: the server appears on that port; the next retry gets its flags.
    const seen: string[] = [];
    server = await unleashOn(port, seen);
    const from = example.nextLine;
    await example.waitForLine(/^\[fetched\] 2 flags from Unleash/, from);
    await example.waitForLine(new RegExp(`^${escape(SERVER_FLAGS)}$`), from);
    expect(seen.some((r) => r.startsWith('GET /api/client/features'))).toBe(true);

    expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(example.lines.at(-1)).toBe('[stopped]');
    expect(example.stderr).toBe('');
    // The bootstrap values were shown exactly until the server's arrived.
    const flagLines = example.lines.filter((line) => line.startsWith('[flags]'));
    expect(flagLines).toEqual([BOOTSTRAP_FLAGS, SERVER_FLAGS]);

    // The cache file now holds the server's flags and their ETag.
    const file = JSON.parse(readFileSync(join(cacheDir, CACHE_FILE), 'utf8'));
    expect(file.entries.etag).toBe(ETAG);
    expect(file.entries.features.features.map((f: { name: string }) => f.name).sort()).toEqual(['announcement', 'search-v2']);

    // Phase 3: the server is gone again; a restart serves the server's flags from the cache.
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    example = startExample(SCRIPT, env);
    await example.waitForLine(/^\[ready\] serving flags from the cache$/);
    await example.waitForLine(new RegExp(`^${escape(SERVER_FLAGS)}$`));
    expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(example.lines.filter((line) => line.startsWith('[flags]'))).toEqual([SERVER_FLAGS]);
  }, 30_000);

  test('a corrupt cache file is reported, and the bootstrap file is served instead', async () => {
    const port = await freePort();
    writeFileSync(join(cacheDir, CACHE_FILE), '{"format": "switchyard-cache", "version": 1, "entr');
    example = startExample(SCRIPT, { UNLEASH_URL: `http://127.0.0.1:${port}/api`, CACHE_DIR: cacheDir });
    await example.waitForLine(/^\[ready\] serving flags from the bootstrap$/);
    await example.waitForLine(new RegExp(`^${escape(BOOTSTRAP_FLAGS)}$`));
    expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(example.stderr).toMatch(/^\[cache\] cache file .* is not valid JSON; it is ignored and will be replaced$/m);
  }, 30_000);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
