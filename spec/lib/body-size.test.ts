/**
 * Bounded memory against hostile bodies, measured where it is not noisy: in a child Node
 * process running the client (bundled from the sources), against a real server on
 * 127.0.0.1 here. A gzip bomb that inflates to gigabytes and an endless chunked body must
 * be cut off at the default `maxBodySize` (40 MiB), with the process's peak RSS growing by
 * well under 100 MB, and the last good flags still served.
 *
 * The bound asserted is on memory, not time: each run ends as soon as the limit is hit.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleClient } from '../support/client-bundle';
import { endlessBody, gzipBomb, TestServer, type RecordedRequest } from '../support/test-server';
import type { ServerResponse } from 'node:http';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = join(root, '.tmp', `body-size-test-${process.pid}`);
const MB = 1_000_000;
const GiB = 1024 * 1024 * 1024;
const flags = { version: 2, features: [{ name: 'a', enabled: true, strategies: [] }] };

let server: TestServer;

beforeAll(async () => {
  await bundleClient(work);
  // The child measures from a baseline taken after one good request, so loading got,
  // zlib and the first flags is not counted.
  await writeFile(
    join(work, 'measure.cjs'),
    `
    const { UnleashClient, MemoryCache } = require('./client.cjs');
    const [base, path] = process.argv.slice(2);
    const timeout = 120000; // far beyond what the limit needs: the limit must end each run
    function baseline() {
      global.gc();
      return process.memoryUsage().rss;
    }
    function report(before, error, extra) {
      const peak = process.resourceUsage().maxRSS * 1024;
      console.log(JSON.stringify({ growth: peak - before, code: error && error.code, message: error && error.message, ...extra }));
    }
    async function poll() {
      const client = new UnleashClient({
        url: base + '/api', appName: 'rss-test', cache: new MemoryCache(), refreshInterval: 1000,
        disableMetrics: true, disableRegistration: true, timeout,
      });
      const failed = new Promise((resolve) => client.on('error', (e) => resolve(e.error)));
      // The client's timers never keep a process alive: this one does, until the report.
      const alive = setInterval(() => undefined, 1000);
      await client.start();
      if (!client.isEnabled('a')) throw new Error('the first fetch did not serve flags');
      const before = baseline();
      const error = await failed;
      report(before, error, { stillServing: client.isEnabled('a') });
      clearInterval(alive);
      await client.destroy();
    }
    async function bootstrap() {
      await new MemoryCache().bootstrapFromUrl(base + '/good.json', { timeout });
      const before = baseline();
      const error = await new MemoryCache().bootstrapFromUrl(base + path, { timeout }).then(() => undefined, (e) => e);
      report(before, error, {});
    }
    (path === 'poll' ? poll() : bootstrap()).catch((e) => { console.error(e); process.exitCode = 1; });
    `,
  );
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  server = await TestServer.start();
  server.setDefault('GET', '/good.json', { body: flags });
});

afterEach(async () => {
  await server.close();
});

interface Measured {
  growth: number;
  code: string | undefined;
  message: string | undefined;
  stillServing?: boolean;
}

function measure(path: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    // The timeout only ends a child that would otherwise hang the suite; the test then fails.
    execFile(
      process.execPath,
      ['--expose-gc', join(work, 'measure.cjs'), server.origin, path],
      { timeout: 90_000 },
      (err, stdout, stderr) => {
        let measured: Measured;
        try {
          if (err) throw err;
          measured = JSON.parse(stdout) as Measured;
        } catch (failure) {
          reject(new Error(`the child failed: ${stderr || (failure as Error).message}`));
          return;
        }
        if (process.env.SWITCHYARD_SHOW_RSS) process.stderr.write(`${path}: peak RSS growth ${(measured.growth / MB).toFixed(1)} MB\n`);
        resolve(measured);
      },
    );
  });
}

type Handler = (request: RecordedRequest, res: ServerResponse) => void;

const scenarios: [string, () => Handler][] = [
  ['a gzip bomb inflating to 4 GiB', () => gzipBomb(4 * GiB)],
  ['an endless chunked body', () => endlessBody()],
];

describe.each(scenarios)('%s', (_name, body) => {
  test('while polling: cut off at 40 MiB, peak RSS growth under 100 MB, the last good flags keep serving', async () => {
    server.reply('GET', '/api/client/features', { body: flags });
    server.setDefault('GET', '/api/client/features', body());
    const result = await measure('poll');
    expect(result).toMatchObject({ code: 'HTTP_BODY_TOO_LARGE', stillServing: true });
    expect(result.message).toContain('the response body exceeds the limit of 40 MiB');
    expect(result.message).toContain('raise the maxBodySize option');
    expect(result.growth).toBeLessThan(100 * MB);
  }, 100_000);

  test('bootstrapFromUrl: cut off at 40 MiB, peak RSS growth under 100 MB', async () => {
    server.setDefault('GET', '/hostile.json', body());
    const result = await measure('/hostile.json');
    expect(result).toMatchObject({ code: 'HTTP_BODY_TOO_LARGE' });
    expect(result.message).toContain('maxBodySize (40 MiB)');
    expect(result.growth).toBeLessThan(100 * MB);
  }, 100_000);
});
