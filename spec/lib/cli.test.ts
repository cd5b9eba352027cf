import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildContext, runCli } from '../../lib/cli';
import { endlessBody, gzipBomb, TestServer } from '../support/test-server';

const flags = {
  version: 2,
  segments: [{ id: 1, constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }] }],
  features: [
    { name: 'on', enabled: true, strategies: [{ name: 'default' }] },
    { name: 'rollout', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'rollout' } }] },
    { name: 'pro-only', enabled: true, strategies: [{ name: 'default', segments: [1] }], variants: [{ name: 'gold', weight: 1, payload: { type: 'string', value: 'G' } }] },
  ],
};

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
  file = join(dir, 'flags.json');
  await writeFile(file, JSON.stringify(flags));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, interactive: false });
  return { code, out, err };
}

describe('switchyard eval', () => {
  test('prints each decision and variant', async () => {
    const { code, out } = await cli('eval', '--features', file, 'userId=u1', 'plan=pro');
    expect(code).toBe(0);
    expect(out).toMatch(/^on\s+ON$/m);
    expect(out).toMatch(/^pro-only\s+ON\s+variant gold \(string "G"\)$/m);
    expect(out).toMatch(/^rollout\s+(ON|OFF)$/m);
  });

  test('--explain says which strategy, segment or constraint decided, with the rollout bucket', async () => {
    const { out } = await cli('eval', '--features', file, '--flag', 'pro-only', '--flag', 'rollout', '--explain', '--context', '{"userId":"u7","properties":{"plan":"free"}}');
    expect(out).toMatch(/pro-only\s+OFF\n\s+no strategy matched:\n\s+#0 default: segment 1: plan IN \["pro"\] failed \(context value: "free"\)/);
    expect(out).toMatch(/rollout 50% by userId: bucket \d+ (<=|>) 50/);
  });

  test('a file of 200,000 flags is evaluated and printed, each name padded to the longest', async () => {
    const many = join(dir, 'many.json');
    const features = Array.from({ length: 200_000 }, (_, i) => ({ name: `f${i}`, enabled: i % 2 === 0, strategies: [{ name: 'default', parameters: {} }] }));
    await writeFile(many, JSON.stringify({ version: 2, features }));
    const { code, out, err } = await cli('eval', '--features', many, 'userId=u1');
    expect([code, err]).toEqual([0, '']);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(200_000);
    expect(lines[0]).toBe('f0       ON');
    expect(lines[199_999]).toBe('f199999  OFF');
  });

  test('--json gives machine output', async () => {
    const { code, out } = await cli('eval', '--features', file, '--flag', 'on', '--json', 'userId=u1');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      context: { userId: 'u1' },
      results: [{ flag: 'on', enabled: true, variant: { name: 'disabled', enabled: false, feature_enabled: true } }],
      warnings: [],
    });
  });

  test('an unknown flag is NOT FOUND, on stderr too, and the exit code is 1', async () => {
    const { out, err, code } = await cli('eval', '--features', file, '--flag', 'ghost', '--flag', 'on', '--explain');
    expect(out).toMatch(/ghost\s+NOT FOUND\n\s+the flag is not in the flags/);
    expect(out).toMatch(/^on\s+ON$/m);
    expect(err).toBe('switchyard: flag "ghost" is not in the flags (3 flags loaded)\n');
    expect(code).toBe(1);
    const json = await cli('eval', '--features', file, '--flag', 'ghost', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out).results[0]).toMatchObject({ flag: 'ghost', enabled: false });
  });

  test('explains a failed dependency by how the parent failed', async () => {
    const deps = join(dir, 'deps.json');
    await writeFile(
      deps,
      JSON.stringify({
        features: [
          { name: 'parent', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'vip' } }] },
          { name: 'child', enabled: true, strategies: [{ name: 'default' }], dependencies: [{ feature: 'parent' }] },
        ],
      }),
    );
    const { out } = await cli('eval', '--features', deps, '--flag', 'child', '--explain', 'userId=someone');
    expect(out).toMatch(/dependency on "parent" failed: parent is off for this context/);
  });

  test.each([
    [['eval'], /exactly one of --features FILE or --url URL/],
    [['eval', '--features', '/nonexistent/flags.json'], /no such file/],
    [['eval', '--features', 'x', '--bogus'], /unknown option --bogus/],
    [['eval', '--features', 'x', 'nonsense'], /"nonsense" is not a key=value pair|no such file/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['eval', '--features'], /--features needs a value/],
  ])('%j fails with one clear line and exit code 2', async (argv, message) => {
    const { code, err } = await cli(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err.trim().split('\n')).toHaveLength(1);
  });

  test('errors in --json mode are JSON too', async () => {
    const { code, out } = await cli('eval', '--json');
    expect(code).toBe(2);
    expect(JSON.parse(out).error).toMatch(/exactly one of/);
  });
});

describe('switchyard eval --url', () => {
  let server: Server;
  let base: string;
  const seen: { url?: string; auth?: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      if (req.headers.authorization !== 'secret-token') {
        res.writeHead(401).end('{"message":"unauthorised"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(flags));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('fetches {url}/client/features with the token', async () => {
    const { code, out } = await cli('eval', '--url', base, '--token', 'secret-token', '--flag', 'on');
    expect(code).toBe(0);
    expect(out).toMatch(/^on\s+ON$/m);
    expect(seen.at(-1)).toEqual({ url: '/api/client/features', auth: 'secret-token' });
  });

  test('a wrong token is one clear line naming the status, without the token', async () => {
    const { code, err } = await cli('eval', '--url', base, '--token', 'wrong-token');
    expect(code).toBe(2);
    expect(err).toMatch(/HTTP 401 \(check --token or UNLEASH_API_TOKEN\)/);
    expect(err).not.toContain('wrong-token');
  });
});

describe('switchyard eval --url: hostile answers', () => {
  let hostile: TestServer;
  beforeAll(async () => {
    hostile = await TestServer.start();
    hostile.setDefault('GET', '/bomb/client/features', gzipBomb(4 * 1024 * 1024 * 1024));
    hostile.setDefault('GET', '/endless/client/features', endlessBody());
    hostile.setDefault('GET', '/away/client/features', { status: 301, headers: { location: 'http://localhost:1/api/client/features' } });
  });
  afterAll(() => hostile.close());

  test.each(['bomb', 'endless'])('a %s body is cut off at --max-body-size, in one line naming the limit', async (path) => {
    const { code, err } = await cli('eval', '--url', `${hostile.origin}/${path}`, '--max-body-size', String(1024 * 1024));
    expect(code).toBe(2);
    expect(err).toBe(
      `switchyard: GET ${hostile.origin}/${path}/client/features: the response body exceeds the limit of 1 MiB; ` +
        'the request was aborted (raise it with --max-body-size)\n',
    );
  });

  test('a redirect to another origin is refused and says where it pointed', async () => {
    const { code, err } = await cli('eval', '--url', `${hostile.origin}/away`);
    expect(code).toBe(2);
    expect(err).toContain('redirected (301) to http://localhost:1/api/client/features, another origin');
  });

  test.each([['0'], ['1.5'], ['lots'], [String(1024 ** 3)]])('--max-body-size %s is refused', async (value) => {
    const { code, err } = await cli('eval', '--url', `${hostile.origin}/bomb`, '--max-body-size', value);
    expect(code).toBe(2);
    expect(err).toMatch(/--max-body-size must be a whole number of bytes from 1 to 536870912/);
  });

  test.each([
    ['not a URL', 'flags.json'],
    ['a token pasted as the URL', 'default:development.cli-secret-token'],
    ['another scheme', 'ftp://127.0.0.1/api'],
  ])('%s is one line that does not echo it', async (_label, url) => {
    const { code, err } = await cli('eval', '--url', url);
    expect(code).toBe(2);
    expect(err).toMatch(/^switchyard: --url (is not a valid absolute URL|must be an http or https URL)/);
    expect(err).not.toContain(url);
  });
});

describe('switchyard lint', () => {
  test('exit 0 on a clean file, 1 with errors', async () => {
    expect((await cli('lint', file)).code).toBe(0);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ features: [{ name: 'x', enabled: true, strategies: [{ name: 'mine' }] }] }));
    const result = await cli('lint', bad);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/error\s+features\[0\] "x"\.strategies\[0\]: unknown strategy "mine"/);
    expect((await cli('lint', bad, '--strategy', 'mine')).code).toBe(0);
    expect(JSON.parse((await cli('lint', bad, '--json')).out).errors).toHaveLength(1);
    expect(result.out).toMatch(/: 1 flag, 0 segments, 1 error, 0 warnings\n$/);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['a rollout above 100', { name: 'flexibleRollout', parameters: { rollout: '150' } }, /rollout 150 is outside 0 to 100; the strategy is always on/],
    ['a rollout below 0', { name: 'flexibleRollout', parameters: { rollout: '-5' } }, /rollout -5 is outside 0 to 100; the strategy is always off/],
    ['a rollout that is not a number', { name: 'flexibleRollout', parameters: { rollout: 'abc' } }, /rollout "abc" is not a number from 0 to 100/],
    ['a rollout that is missing', { name: 'flexibleRollout', parameters: {} }, /no rollout parameter/],
    ['a gradual percentage that is not a number', { name: 'gradualRolloutUserId', parameters: { percentage: 'half' } }, /percentage "half" is not a number/],
    ['userWithId without userIds', { name: 'userWithId', parameters: {} }, /no userIds; the strategy is always off/],
    ['userWithId with an empty list', { name: 'userWithId', parameters: { userIds: ' , ' } }, /no userIds/],
    ['remoteAddress entries that are not addresses', { name: 'remoteAddress', parameters: { IPs: '10.0.0.1, not-an-ip, 10.0.0.0/99' } }, /IPs entry "not-an-ip" is not an address or CIDR range/],
    ['applicationHostname without hostNames', { name: 'applicationHostname', parameters: {} }, /no hostNames/],
  ])('lint reports %s', async (_name, strategy, message) => {
    const bad = join(dir, 'params.json');
    await writeFile(bad, JSON.stringify({ features: [{ name: 'x', enabled: true, strategies: [strategy] }] }));
    const result = await cli('lint', bad);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(message);
  });

  test('lint passes good parameters', async () => {
    const good = join(dir, 'good-params.json');
    const strategies = [
      { name: 'flexibleRollout', parameters: { rollout: '0' } },
      { name: 'flexibleRollout', parameters: { rollout: ' 100 ' } },
      { name: 'userWithId', parameters: { userIds: 'a,b' } },
      { name: 'remoteAddress', parameters: { IPs: '10.0.0.1, ::1, 10.0.0.0/8, 2001:db8::/32' } },
      { name: 'applicationHostname', parameters: { hostNames: 'web-1' } },
    ];
    await writeFile(good, JSON.stringify({ features: [{ name: 'x', enabled: true, strategies }] }));
    expect(await cli('lint', good)).toMatchObject({ code: 0 });
  });
});

test('the built executable exits quietly, with status 0, when its reader closes the pipe early', async () => {
  const many = join(dir, 'many.json');
  await writeFile(many, JSON.stringify({ features: Array.from({ length: 20000 }, (_, i) => ({ name: `flag-${i}`, enabled: true, strategies: [{ name: 'default' }] })) }));
  const { spawnSync } = await import('node:child_process');
  const script = `"${process.execPath}" "${join(process.cwd(), 'dist/cli.js')}" eval --features "${many}" | head -1; echo "status:\${PIPESTATUS[0]}"`;
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  expect(result.stdout).toMatch(/^flag-0\s+ON\nstatus:0\n$/);
  expect(result.stderr).toBe('');
});

describe('context building', () => {
  test('known fields go top-level, others into properties', () => {
    expect(buildContext('{"userId":"a","properties":{"x":"1"}}', ['sessionId=s', 'plan=pro', 'properties.userId=p'])).toEqual({
      userId: 'a',
      sessionId: 's',
      properties: { x: '1', plan: 'pro', userId: 'p' },
    });
  });
});

test('the built executable runs', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(process.cwd(), 'dist/cli.js'), 'eval', '--features', file, '--flag', 'on']);
  expect(stdout).toMatch(/^on\s+ON$/m);
});
