/**
 * The client in a real Node process, on the real clock: built as CommonJS (the build that
 * breaks if got, which is ESM-only, is loaded the wrong way), it polls a server on
 * 127.0.0.1 and the process still exits by itself, without `destroy()`: no timer and no
 * pooled socket keeps it alive.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleClient } from '../support/client-bundle';
import { TestServer } from '../support/test-server';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the project, so the bundle resolves got and friends from node_modules.
const work = join(root, '.tmp', `process-test-${process.pid}`);
let server: TestServer;

beforeAll(async () => {
  await bundleClient(work);
  server = await TestServer.start();
  server.serveFeatures({ version: 2, features: [{ name: 'a', enabled: true, strategies: [] }] }, '"v1"');
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

function runNode(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const file = join(work, `script-${Math.random().toString(36).slice(2)}.cjs`);
    void writeFile(file, script).then(() => {
      // The timeout only ends a process that would otherwise hang the suite; it then fails the test.
      execFile(process.execPath, [file, server.url], { timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  });
}

test('a started client never keeps the process alive (CommonJS build, got loaded lazily)', async () => {
  const result = await runNode(`
    const { UnleashClient, MemoryCache } = require('./client.cjs');
    const client = new UnleashClient({ url: process.argv[2], appName: 'exit-test', cache: new MemoryCache(), disableRegistration: true });
    client.on('error', (e) => console.error(e.error.message));
    client.start().then(() => console.log(JSON.stringify({ enabled: client.isEnabled('a') })));
  `);
  expect(result).toEqual({ code: 0, stdout: '{"enabled":true}\n', stderr: '' });
}, 30_000);

test('destroy() flushes metrics before the process exits', async () => {
  const before = server.requestsTo('/api/client/metrics').length;
  const result = await runNode(`
    const { UnleashClient, MemoryCache } = require('./client.cjs');
    const client = new UnleashClient({ url: process.argv[2], appName: 'flush-test', cache: new MemoryCache() });
    client.on('error', (e) => console.error(e.error.message));
    client.start().then(async () => {
      client.isEnabled('a');
      await client.destroy();
    });
  `);
  expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  const metrics = server.requestsTo('/api/client/metrics').slice(before);
  expect(metrics).toHaveLength(1);
  expect((metrics[0]!.json() as { bucket: { toggles: unknown } }).bucket.toggles).toEqual({ a: { yes: 1, no: 0, variants: {} } });
  expect(server.requestsTo('/api/client/register').some((r) => (r.json() as { appName: string }).appName === 'flush-test')).toBe(true);
}, 30_000);
