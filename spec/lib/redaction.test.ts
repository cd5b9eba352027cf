/**
 * A credential never reaches what switchyard prints or reports. Every failure scenario is
 * run with a sentinel token in every place a user puts one (the URL's userinfo, its query,
 * the Authorization and x-api-key headers, the CLI's --token, a token pasted as the URL),
 * and everything captured is searched for it: client events, thrown errors (inspected
 * deeply, hidden fields and causes included), and the CLI's stdout and stderr.
 */
import { inspect } from 'node:util';
import { MemoryCache } from '../../cache/memory-cache';
import { runCli } from '../../lib/cli';
import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import { TestServer, type Reply } from '../support/test-server';

const SENTINEL = 'S3NT1NEL0c4f9e';
const PASTED_TOKEN = `default:development.${SENTINEL}`;

let server: TestServer;
let captured: string[];

beforeEach(async () => {
  server = await TestServer.start();
  captured = [];
});

afterEach(async () => {
  server.dropHeld();
  await server.close();
  const everything = captured.join('\n');
  expect(everything).not.toContain(SENTINEL);
});

function capture(value: unknown): void {
  captured.push(typeof value === 'string' ? value : inspect(value, { depth: 10, showHidden: true }));
}

/** With credentials in the userinfo and in the query (as a CLI or bootstrap URL may carry them). */
function withCredentials(path: string): string {
  const { port } = new URL(server.origin);
  return `http://user:${SENTINEL}@127.0.0.1:${port}${path}?token=${SENTINEL}&${SENTINEL}`;
}

/** Each failure, and whether it fails registration and metrics too (a body that is not JSON does not: those replies are not parsed). */
const scenarios: [string, Reply, boolean][] = [
  ['a bad status', { status: 500, body: `upstream failed for ${SENTINEL}` }, true],
  ['an unauthorised answer', { status: 401, body: `bad token ${SENTINEL}` }, true],
  ['a network error', { drop: true }, true],
  ['a timeout', { hold: true }, true],
  ['a body that is not JSON', { body: `{"token": "${SENTINEL}", oops` }, false],
  ['a body over the size limit', { body: `{"token": "${SENTINEL}"}`.padEnd(5000, ' ') }, true],
  ['a redirect to another origin', { status: 302, headers: { location: `http://${SENTINEL}:${SENTINEL}@127.0.0.1:1/api?token=${SENTINEL}` } }, true],
];

describe.each(scenarios)('%s', (_name, reply, postsFail) => {
  beforeEach(() => {
    for (const [method, path] of [
      ['GET', '/api/client/features'],
      ['POST', '/api/client/register'],
      ['POST', '/api/client/metrics'],
      ['GET', '/flags.json'],
    ] as const) {
      server.setDefault(method, path, reply);
    }
  });

  test('client: no event carries the token', async () => {
    const events: UnleashEvent[] = [];
    const failed = new Set<string>();
    let bothFailed: () => void = () => undefined;
    const fetchAndRegisterFailed = new Promise<void>((resolve) => (bothFailed = resolve));
    const { port } = new URL(server.origin);
    const client = new UnleashClient({
      url: `http://user:${SENTINEL}@127.0.0.1:${port}/api`,
      appName: 'redaction-test',
      customHeaders: { Authorization: SENTINEL, 'x-api-key': SENTINEL },
      cache: new MemoryCache(),
      refreshInterval: 0,
      timeout: 300,
      maxBodySize: 1000,
      eventCallback: (event) => {
        events.push(event);
        if (event.type === 'error') failed.add(event.origin);
        if (failed.has('fetch') && (failed.has('register') || !postsFail)) bothFailed();
      },
    });
    await client.start();
    await fetchAndRegisterFailed;
    client.isEnabled('a');
    await client.destroy();
    capture(events);
    // Fetch, registration and the metrics flushed by destroy() all failed and said so.
    expect([...failed].sort()).toEqual(postsFail ? ['fetch', 'metrics', 'register'] : ['fetch']);
  });

  test('bootstrapFromUrl: the error carries no token', async () => {
    const error = await new MemoryCache()
      .bootstrapFromUrl(withCredentials('/flags.json'), { headers: { Authorization: SENTINEL }, timeout: 300, maxBodySize: 1000 })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    capture(error);
  });

  test.each([
    ['userinfo and query', () => ['--url', withCredentials('/api')]],
    ['--token', () => ['--url', `${server.origin}/api`, '--token', SENTINEL]],
  ])('CLI --url with the token in %s: nothing printed carries it', async (_where, args) => {
    for (const json of [[], ['--json']]) {
      let out = '';
      let err = '';
      const code = await runCli(['eval', ...args(), '--timeout', '300', '--max-body-size', '1000', ...json], {
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
        env: { UNLEASH_API_TOKEN: SENTINEL },
        interactive: false,
      });
      expect(code).toBe(2);
      expect(err).toMatch(/^switchyard: /);
      capture(out);
      capture(err);
    }
  });
});

describe('a token pasted where the URL goes', () => {
  test.each([PASTED_TOKEN, SENTINEL, `*:*.${SENTINEL}`, `http://127.0.0.1:1/api?token=${SENTINEL}`])('%s', async (url) => {
    try {
      new UnleashClient({ url, appName: 'redaction-test', cache: new MemoryCache() });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).name).toBe('ConfigError');
      capture(err);
    }
    capture(await new MemoryCache().bootstrapFromUrl(url, { timeout: 300 }).then(() => 'no error', (e: unknown) => e));
    let out = '';
    let err = '';
    const code = await runCli(['eval', '--url', url, '--timeout', '300'], { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, interactive: false });
    expect(code).toBe(2);
    capture(out);
    capture(err);
  });
});
