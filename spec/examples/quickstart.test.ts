/**
 * The README's first promise: `npm run example` prints a table of real evaluations. The
 * script runs as a child process against the built package (dist/, built by `pretest`),
 * and its table is checked against the engine evaluating examples/flags.json directly.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = join(root, 'examples', 'quickstart.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExample(env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  return new Promise((resolve) => {
    execFile(process.execPath, [script], { cwd: root, env: childEnv, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

const users: Record<string, { country: string; appVersion: string }> = {
  alice: { country: 'NO', appVersion: '2.1.0' },
  bob: { country: 'SE', appVersion: '1.9.3' },
  carol: { country: 'US', appVersion: '3.0.0' },
  dave: { country: 'DK', appVersion: '2.0.0' },
  erin: { country: 'NO', appVersion: '2.4.1' },
};

/** Table rows as `{ user, flag, enabled, variant }`, split on the two-space column gaps. */
function tableRows(stdout: string): Array<Record<string, string>> {
  const lines = stdout.split('\n');
  const headerAt = lines.findIndex((line) => /^user\s+country\s+version\s+flag\s+enabled\s+variant$/.test(line));
  expect(headerAt).toBeGreaterThanOrEqual(0);
  expect(lines[headerAt + 1]).toMatch(/^-+( +-+){5}$/);
  return lines
    .slice(headerAt + 2)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [user, country, version, flag, enabled, variant] = line.split(/ {2,}/);
      return { user, country, version, flag, enabled, variant };
    });
}

describe('examples/quickstart.mjs', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (`npm test` does it in pretest)');
    }
  });

  test('offline, it prints the evaluation table for the example flags and exits 0', async () => {
    const run = await runExample({ UNLEASH_URL: undefined, UNLEASH_API_TOKEN: undefined });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^switchyard quickstart: 7 flags offline, from examples\/flags\.json/);

    const rows = tableRows(run.stdout);
    const { payload } = parseClientPayload(readFileSync(join(root, 'examples', 'flags.json')));
    if (payload.kind !== 'full') throw new Error('examples/flags.json must be a full body');
    const names = payload.features.map((f) => f.name);
    expect(rows).toHaveLength(Object.keys(users).length * names.length);

    // Every row is what the engine says for that user and flag.
    const snapshot = new Engine().load(payload);
    for (const row of rows) {
      const context = { userId: row.user, properties: users[row.user] };
      expect([row.country, row.version]).toEqual([users[row.user].country, users[row.user].appVersion]);
      const flag = snapshot.get(row.flag);
      expect(flag).toBeDefined();
      expect(row.enabled).toBe(flag!.isEnabled(context) ? 'on' : 'off');
      const variant = flag!.getVariant(context);
      expect(row.variant.split(' ')[0]).toBe(variant.enabled ? variant.name : '-');
    }

    // And what the flags were written to show.
    const on = (flag: string) =>
      rows
        .filter((r) => r.flag === flag && r.enabled === 'on')
        .map((r) => r.user)
        .sort();
    expect(on('welcome-banner')).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(on('legacy-search')).toEqual([]);
    expect(on('beta-dashboard')).toEqual(['alice', 'carol']);
    expect(on('dark-mode')).toEqual(['alice', 'dave', 'erin']); // Nordic and >= 2.0.0
    const rollout = on('new-checkout');
    expect(rollout.length).toBeGreaterThan(0);
    expect(rollout.length).toBeLessThan(5);
    expect(on('express-pay')).toEqual(rollout); // depends on new-checkout
    const pricing = rows.filter((r) => r.flag === 'pricing-page');
    expect(pricing.find((r) => r.user === 'erin')!.variant).toBe('annual-first (json: {"highlight":"annual","discount":20})');
    for (const r of pricing) expect(r.variant).toMatch(/^(monthly-first \(string: monthly\)|annual-first \(json: .+\))$/);
    for (const r of rows.filter((r) => r.flag !== 'pricing-page')) expect(r.variant).toBe('-');
  }, 60_000);

  describe('with UNLEASH_URL and UNLEASH_API_TOKEN', () => {
    const TOKEN = 'default:development.quickstart-token';
    const flagsBody = readFileSync(join(root, 'examples', 'flags.json'));
    let status = 200;
    const received: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders }> = [];
    const server = createServer((req, res) => {
      received.push({ method: req.method, url: req.url, headers: req.headers });
      req.resume();
      if (req.url?.startsWith('/api/client/features')) {
        if (status !== 200) res.writeHead(status).end();
        else res.writeHead(200, { 'content-type': 'application/json', etag: '"qs:1"' }).end(flagsBody);
      } else res.writeHead(202).end();
    });
    let url: string;

    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    beforeEach(() => {
      received.length = 0;
    });

    test('it evaluates the flags that server sends, authenticating with the token', async () => {
      status = 200;
      const run = await runExample({ UNLEASH_URL: url, UNLEASH_API_TOKEN: TOKEN });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^switchyard quickstart: 7 flags from ${new URL(url).origin}`));
      expect(tableRows(run.stdout)).toHaveLength(35);
      const fetches = received.filter((r) => r.method === 'GET' && r.url?.startsWith('/api/client/features'));
      expect(fetches).toHaveLength(1);
      expect(fetches[0].headers.authorization).toBe(TOKEN);
    }, 60_000);

    test('a server that refuses the token gives an error and exit code 1, not a table', async () => {
      status = 401;
      const run = await runExample({ UNLEASH_URL: url, UNLEASH_API_TOKEN: TOKEN });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/401/);
      expect(run.stderr).not.toContain(TOKEN);
      expect(run.stdout).not.toMatch(/^user/m);
    }, 60_000);
  });

  test('half a server configuration is refused before anything starts', async () => {
    const run = await runExample({ UNLEASH_URL: 'http://127.0.0.1:9/api', UNLEASH_API_TOKEN: undefined });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/UNLEASH_URL and UNLEASH_API_TOKEN/);
    expect(run.stdout).toBe('');
  }, 60_000);
});
