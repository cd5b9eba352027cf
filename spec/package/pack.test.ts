/**
 * The package as users get it: `npm pack` the built dist/, install the tarball into a
 * fresh project, and use it through `import` and through `require`, as an app would.
 * Then publint and Are-the-types-wrong check the packaging itself.
 *
 * Slow (npm install), and it needs dist/ (built by `pretest`). Packing uses
 * `--ignore-scripts` so it does not rebuild dist/ under tests running in parallel.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForwardProxy } from '../support/forward-proxy';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The version of a devDependency the project installed (to install the same one in the smoke project). */
function devVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeout = 180_000, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout, env, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

const body = {
  version: 2,
  features: [
    {
      name: 'pack.rollout',
      enabled: true,
      strategies: [{ name: 'userWithId', parameters: { userIds: 'u1' } }],
      variants: [{ name: 'blue', weight: 1000, payload: { type: 'string', value: 'b' } }],
    },
  ],
};

/** The same smoke program, as ESM and as CommonJS. `__URL__` is a URL serving `body`. */
const smoke = (load: string) => `${load}
async function main() {
  const fromDict = new MemoryCache();
  await fromDict.bootstrapFromDict(${JSON.stringify(JSON.stringify(body))});
  const client = new UnleashClient({ appName: 'pack-smoke', offline: true, cache: fromDict });
  await client.start();
  const result = {
    u1: client.isEnabled('pack.rollout', { userId: 'u1' }),
    u2: client.isEnabled('pack.rollout', { userId: 'u2' }),
    variant: client.getVariant('pack.rollout', { userId: 'u1' }).name,
    strategyIsClass: typeof Strategy === 'function' && typeof BaseCache === 'function' && typeof FileCache === 'function',
  };
  await client.destroy();
  // Loads got, which is ESM-only, lazily: this is the path that breaks a CommonJS build.
  // The test runs it with HTTP_PROXY set: the proxy agent is ESM-only and lazy too.
  const fromUrl = new MemoryCache();
  await fromUrl.bootstrapFromUrl(process.argv[2], { timeout: 10000 });
  result.fromUrl = fromUrl.get('features').features.map((f) => f.name);
  console.log(JSON.stringify(result));
}
main().catch((err) => { console.error(err); process.exitCode = 1; });
`;

let work: string;
let tarball: string;
let server: Server;
let bodyUrl: string;
let proxy: ForwardProxy;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, 'dist', 'index.cjs'))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does it in pretest)');
  }
  work = await mkdtemp(join(tmpdir(), 'switchyard-pack-'));
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bodyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flags.json`;
  proxy = await ForwardProxy.start();

  const packed = JSON.parse(await ok(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root));
  tarball = join(work, packed[0].filename);
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await proxy?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  test('ships the built entry points and types, not the sources or tests', async () => {
    const listed = JSON.parse(await ok(npm, ['pack', '--ignore-scripts', '--dry-run', '--json'], root));
    const files: string[] = listed[0].files.map((f: { path: string }) => f.path);
    for (const file of ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/engine.js', 'dist/openfeature.js', 'dist/opentelemetry.js', 'dist/opentelemetry.d.cts', 'dist/redis.js', 'dist/redis.cjs', 'dist/redis.d.ts']) {
      expect(files).toContain(file);
    }
    expect(files.filter((f) => /^(lib|spec|cache|bootstrap|strategies|examples|bench|scripts)\//.test(f))).toEqual([]);
  }, 120_000);

  test('installs into a fresh project and works through import and require', async () => {
    const app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'pack-smoke-app', version: '1.0.0', private: true }));
    await ok(
      npm,
      // ioredis: the optional peer dependency of the redis subpath (the version the project tests with).
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--no-package-lock', tarball, `ioredis@${devVersion('ioredis')}`],
      app,
    );
    const names = 'UnleashClient, MemoryCache, FileCache, BaseCache, Strategy';
    await writeFile(join(app, 'smoke.mjs'), smoke(`import { ${names} } from 'switchyard-flags';`));
    await writeFile(join(app, 'smoke.cjs'), smoke(`const { ${names} } = require('switchyard-flags');`));

    const expected = { u1: true, u2: false, variant: 'blue', strategyIsClass: true, fromUrl: ['pack.rollout'] };
    const env = { ...process.env, HTTP_PROXY: proxy.url, http_proxy: proxy.url, NO_PROXY: '', no_proxy: '' };
    for (const file of ['smoke.mjs', 'smoke.cjs']) {
      const result = await run(process.execPath, [file, bodyUrl], app, 60_000, env);
      expect({ file, code: result.code, stderr: result.stderr }).toEqual({ file, code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toEqual(expected);
    }
    expect(proxy.requests.filter((r) => r.tunnelled).map((r) => r.line)).toEqual(['GET /flags.json', 'GET /flags.json']);
    // The engine subpath, through both module systems.
    const engineSmoke = (load: string) =>
      `${load}\nconst flag = new Engine().load(parseClientPayload(${JSON.stringify(JSON.stringify(body))}).payload).get('pack.rollout');\n` +
      `console.log(JSON.stringify([flag.isEnabled({ userId: 'u1' }), flag.evaluate({ userId: 'u2' }).reason.kind]));\n`;
    await writeFile(join(app, 'engine.mjs'), engineSmoke(`import { Engine, parseClientPayload } from 'switchyard-flags/engine';`));
    await writeFile(join(app, 'engine.cjs'), engineSmoke(`const { Engine, parseClientPayload } = require('switchyard-flags/engine');`));
    for (const file of ['engine.mjs', 'engine.cjs']) {
      const result = await run(process.execPath, [file], app, 60_000);
      expect({ file, code: result.code, stderr: result.stderr }).toEqual({ file, code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toEqual([true, 'NO_STRATEGY_MATCHED']);
    }
    // The redis subpath uses the main entry's classes, not copies: instanceof holds across the two.
    const redisSmoke = (load: string) =>
      `${load}\nconst cache = new RedisCache({ redis: 'redis://127.0.0.1:1' });\n` +
      `let refused = false;\ntry { new RedisFleet({ redis: 'http://127.0.0.1:1' }); } catch (err) { refused = err instanceof ConfigError && err.option === 'redis'; }\n` +
      `cache.destroy().then(() => console.log(JSON.stringify([cache instanceof BaseCache, refused])));\n`;
    await writeFile(join(app, 'redis.mjs'), redisSmoke(`import { BaseCache, ConfigError } from 'switchyard-flags';\nimport { RedisCache, RedisFleet } from 'switchyard-flags/redis';`));
    await writeFile(join(app, 'redis.cjs'), redisSmoke(`const { BaseCache, ConfigError } = require('switchyard-flags');\nconst { RedisCache, RedisFleet } = require('switchyard-flags/redis');`));
    for (const file of ['redis.mjs', 'redis.cjs']) {
      const result = await run(process.execPath, [file], app, 60_000);
      expect({ file, code: result.code, stderr: result.stderr }).toEqual({ file, code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toEqual([true, true]);
    }
  }, 300_000);

  test('the main entry declares only the user API; internals appear in no declaration file', async () => {
    const { readFile, readdir } = await import('node:fs/promises');
    const dts = (await readdir(join(root, 'dist'))).filter((f) => /\.d\.c?ts$/.test(f));
    const index = await readFile(join(root, 'dist', 'index.d.ts'), 'utf8');
    const exported = [...index.matchAll(/export \{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((e) => e.trim().split(/\s+as\s+/).pop()!.replace(/^type /, '')));
    expect(exported).toEqual(expect.arrayContaining(['UnleashClient', 'Strategy', 'EvaluationResult', 'Reason', 'MemoryCache', 'TestData']));
    for (const internal of ['Engine', 'Snapshot', 'CompiledFlag', 'explain', 'evaluateIn', 'lintPayload', 'parseClientPayload', 'StrategyRegistry']) {
      expect({ internal, exported: exported.includes(internal) }).toEqual({ internal, exported: false });
    }
    for (const file of dts) {
      const text = await readFile(join(root, 'dist', file), 'utf8');
      for (const internal of [/\bgetImpl\b/, /\bFlagImpl\b/, /\bStrategyRegistry\b/, /\bmatchIndex\b/, /\bscheduler\?:/, /\brawFeatures\b/, /\bSharedCompileState\b/, /__invalid__/]) {
        expect({ file, found: internal.test(text) ? String(internal) : undefined }).toEqual({ file, found: undefined });
      }
    }
  });

  test('publint finds no problem', async () => {
    const result = await run(process.execPath, [join(root, 'node_modules', 'publint', 'src', 'cli.js'), 'run', tarball, '--strict'], root);
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
      code: 0,
      output: expect.stringContaining('All good'),
    });
  }, 120_000);

  test('are-the-types-wrong finds no problem for an ESM + CommonJS Node package, under every resolution', async () => {
    const attw = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    // The strict profile includes node10 (\`moduleResolution: "node"\`, still common in
    // TypeScript projects): typesVersions maps the subpaths there.
    const result = await run(process.execPath, [attw, tarball, '--profile', 'strict', '--no-color', '--no-emoji'], root);
    const output = result.stdout + result.stderr;
    expect({ code: result.code, output }).toEqual({ code: 0, output: expect.any(String) });
    // Every entry point (a row) resolves cleanly under each resolution (a column): every cell says OK.
    const lines = output.split('\n');
    const header = lines.find((l) => l.includes('node10') && l.includes('bundler'));
    expect(header).toBeDefined();
    const rows = lines.filter((l) => /^│ "switchyard-flags/.test(l));
    expect(rows.map((l) => l.split('│')[1]!.trim())).toEqual(['"switchyard-flags"', '"switchyard-flags/engine"', '"switchyard-flags/openfeature"', '"switchyard-flags/opentelemetry"', '"switchyard-flags/redis"', '"switchyard-flags/package.json"']);
    for (const row of rows) {
      const cells = row.split('│').map((c) => c.trim()).filter((c) => c !== '').slice(1);
      expect(cells).toHaveLength(4);
      for (const cell of cells) expect(cell).toMatch(/^OK/);
    }
  }, 120_000);
});
