/**
 * Proxies and TLS, through a real forward proxy on 127.0.0.1 that records what passed
 * through it: `http://` requests arrive as absolute URIs, `https://` ones as `CONNECT`
 * tunnels to an HTTPS server whose self-signed certificate is made at test time.
 *
 * The client and `bootstrapFromUrl` read the proxy variables from `process.env` once, when
 * created or called; `withEnv` sets them for that one synchronous call and restores them
 * before anything else runs. The CLI and `Network` take an env object instead.
 */
import { Agent } from 'node:http';
import { BootstrapError } from '../../bootstrap/dict';
import { MemoryCache } from '../../cache/memory-cache';
import { runCli } from '../../lib/cli';
import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import { HttpError } from '../../lib/http';
import { Network, proxyFromEnv, type Env } from '../../lib/network';
import { ConfigError, type UnleashConfig } from '../../lib/options';
import { ForwardProxy } from '../support/forward-proxy';
import { ManualScheduler } from '../support/manual-scheduler';
import { selfSignedCertificate } from '../support/self-signed';
import { TestServer } from '../support/test-server';

const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'];

/** Runs `fn` with exactly `vars` as the proxy variables of process.env, then restores them. */
function withEnv<T>(vars: Env, fn: () => T): T {
  const saved = PROXY_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const flags = { version: 2, features: [{ name: 'proxied', enabled: true, strategies: [{ name: 'default' }] }] };
const certificate = selfSignedCertificate();
/** A port nothing listens on: connections are refused at once. */
const CLOSED = 'http://127.0.0.1:1';

let server: TestServer;
let tlsServer: TestServer;
let proxy: ForwardProxy;
let scheduler: ManualScheduler;
let events: UnleashEvent[];
let clients: UnleashClient[];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));

beforeEach(async () => {
  server = (await TestServer.start()).serveFeatures(flags);
  server.setDefault('GET', '/flags.json', { body: flags });
  tlsServer = (await TestServer.start({ tls: certificate })).serveFeatures(flags);
  tlsServer.setDefault('GET', '/flags.json', { body: flags });
  proxy = await ForwardProxy.start();
  scheduler = new ManualScheduler();
  events = [];
  clients = [];
  unhandled.length = 0;
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await Promise.all([server.close(), tlsServer.close(), proxy.close()]);
  expect(unhandled).toEqual([]);
});

function makeClient(url: string, options: Partial<UnleashConfig> = {}): UnleashClient {
  const client = new UnleashClient({
    url,
    appName: 'proxy-test',
    instanceId: 'instance-1',
    customHeaders: { Authorization: 'client-token' },
    cache: new MemoryCache(),
    disableMetrics: true,
    disableRegistration: true,
    scheduler,
    eventCallback: (event) => events.push(event),
    ...options,
  });
  clients.push(client);
  return client;
}

/** Resolves with the `count`-th error event from `origin` (bounded: fails the test after 5 s). */
async function errorFrom(origin: string, count = 1): Promise<Error> {
  for (const until = Date.now() + 5_000; Date.now() < until; ) {
    const found = events.flatMap((e) => (e.type === 'error' && e.origin === origin ? [e.error] : []));
    if (found.length >= count) return found[count - 1]!;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no error event #${count} from ${origin}`);
}

const errors = (): Error[] => events.flatMap((e) => (e.type === 'error' ? [e.error] : []));
const warnings = (): string[] => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
const port = (origin: string): string => new URL(origin).port;
/** The requests read inside tunnels in clear (to the http:// server), as `METHOD path`. */
const tunnelled = (): string[] => proxy.requests.filter((r) => r.tunnelled === true).map((r) => r.line);
/** The CONNECT targets, one per tunnel opened. */
const tunnels = (): string[] => proxy.requests.filter((r) => r.method === 'CONNECT').map((r) => r.target);

describe('the client through a proxy', () => {
  test('HTTP_PROXY carries polling, registration and metrics, on kept-alive connections that destroy() closes', async () => {
    const client = withEnv({ HTTP_PROXY: proxy.url }, () => makeClient(server.url, { disableRegistration: false, disableMetrics: false }));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    await server.waitForRequest('POST', '/api/client/register');
    for (let poll = 2; poll <= 4; poll++) {
      await scheduler.fireNext('fetch');
      await server.waitForRequest('GET', '/api/client/features', poll);
    }
    await client.destroy(); // sends the metrics counted so far

    expect(tunnelled().sort()).toEqual([
      ...Array(4).fill('GET /api/client/features'),
      'POST /api/client/metrics',
      'POST /api/client/register',
    ]);
    // Everything the proxy saw reached the server, identity and custom headers included.
    expect(server.requests).toHaveLength(6);
    expect(server.requestsTo('/api/client/metrics')[0]!.headers.authorization).toBe('client-token');
    // One agent per client, keeping its tunnels alive: six requests, at most two tunnels
    // (registration and the first poll run at once), all closed by destroy().
    expect(tunnels().length).toBeLessThanOrEqual(2);
    expect(new Set(tunnels())).toEqual(new Set([`127.0.0.1:${port(server.origin)}`]));
    expect(proxy.connections).toBe(tunnels().length);
    await proxy.whenIdle();
  });

  test('HTTPS_PROXY tunnels an https:// server through CONNECT, trusting the `ca` given, one tunnel for every poll', async () => {
    const client = withEnv({ HTTPS_PROXY: proxy.url }, () => makeClient(tlsServer.url, { httpOptions: { ca: certificate.cert } }));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    await scheduler.fireNext('fetch');
    await tlsServer.waitForRequest('GET', '/api/client/features', 2);
    expect(proxy.lines).toEqual([`CONNECT 127.0.0.1:${port(tlsServer.origin)}`]);
    expect(tlsServer.requestsTo('/api/client/features')[1]!.headers.authorization).toBe('client-token');
    expect(errors()).toEqual([]);
    await client.destroy();
    await proxy.whenIdle();
  });

  test('the certificate is verified by default; rejectUnauthorized: false accepts it', async () => {
    const strict = withEnv({ HTTPS_PROXY: proxy.url }, () => makeClient(tlsServer.url));
    await strict.start();
    expect(strict.hasFlags).toBe(false);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toMatchObject({ code: 'HTTP_NETWORK' });
    expect(errors()[0]!.message).toMatch(/the connection failed \(\w*SELF_SIGNED\w*\) \(through the proxy http:\/\/127\.0\.0\.1:\d+\)$/);

    events = [];
    const lax = withEnv({ HTTPS_PROXY: proxy.url }, () => makeClient(tlsServer.url, { httpOptions: { rejectUnauthorized: false } }));
    await lax.start();
    expect(lax.isEnabled('proxied')).toBe(true);
    expect(errors()).toEqual([]);
  });

  test('the `ca` option adds to the built-in roots (no proxy involved)', async () => {
    const client = withEnv({}, () => makeClient(tlsServer.url, { httpOptions: { ca: [Buffer.from(certificate.cert)] } }));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    expect(proxy.requests).toEqual([]);
  });

  test.each([
    ['127.0.0.1', () => '127.0.0.1'],
    ['the host and its port', () => `127.0.0.1:${port(server.origin)}`],
    ['a list with spaces', () => 'example.com, 127.0.0.1'],
    ['*', () => '*'],
  ])('NO_PROXY %s bypasses the proxy', async (_name, noProxy) => {
    const client = withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: noProxy() }, () => makeClient(server.url));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    expect(proxy.requests).toEqual([]);
    expect(server.requestsTo('/api/client/features')).toHaveLength(1);
  });

  test.each([
    ['another port of the host', '127.0.0.1:1'],
    ['another host', 'unleash.example.com'],
  ])('NO_PROXY naming %s does not bypass it', async (_name, noProxy) => {
    const client = withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: noProxy }, () => makeClient(server.url));
    await client.start();
    expect(tunnelled()).toEqual(['GET /api/client/features']);
  });

  test('lower-case variables work, and win over upper-case ones', async () => {
    const client = withEnv({ http_proxy: proxy.url, HTTP_PROXY: CLOSED, no_proxy: 'unleash.example.com' }, () => makeClient(server.url));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    expect(tunnelled()).toEqual(['GET /api/client/features']);

    const bypassing = withEnv({ http_proxy: CLOSED, no_proxy: '127.0.0.1' }, () => makeClient(server.url));
    await bypassing.start();
    expect(bypassing.isEnabled('proxied')).toBe(true);
    expect(errors()).toEqual([]);
  });

  test('httpOptions.proxy wins over the environment, NO_PROXY included', async () => {
    const client = withEnv({ HTTP_PROXY: CLOSED, NO_PROXY: '127.0.0.1' }, () => makeClient(server.url, { httpOptions: { proxy: proxy.url } }));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    expect(tunnelled()).toEqual(['GET /api/client/features']);
  });

  test('httpOptions.proxy: false connects directly whatever the environment says', async () => {
    const client = withEnv({ HTTP_PROXY: proxy.url, ALL_PROXY: proxy.url }, () => makeClient(server.url, { httpOptions: { proxy: false } }));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    expect(proxy.requests).toEqual([]);
  });

  test('an agent of your own carries its protocol\'s requests, and is never destroyed by the client', async () => {
    class CountingAgent extends Agent {
      added = 0;
      destroyed = 0;
      addRequest(...args: unknown[]): void {
        this.added++;
        (Agent.prototype as unknown as { addRequest: (...a: unknown[]) => void }).addRequest.apply(this, args);
      }
      override destroy(): void {
        this.destroyed++;
        super.destroy();
      }
    }
    const agent = new CountingAgent({ keepAlive: true });
    const client = withEnv({ HTTP_PROXY: proxy.url }, () => makeClient(server.url, { httpOptions: { agent: { http: agent } } }));
    await client.start();
    await client.destroy();
    expect(client.isEnabled('proxied')).toBe(true);
    expect(proxy.requests).toEqual([]);
    expect(agent.added).toBe(1);
    expect(agent.destroyed).toBe(0);
    agent.destroy();
  });

  test.each([
    ['http', () => server],
    ['https (CONNECT)', () => tlsServer],
  ])('a proxy answering 407 to %s is a clear error event; the client keeps serving and polling', async (_name, target) => {
    proxy.credentials = 'user:s3cret-pass';
    const cache = new MemoryCache();
    await cache.bootstrapFromDict(flags);
    const client = makeClient(target().url, {
      cache,
      disableRegistration: false,
      httpOptions: { proxy: proxy.url, ca: certificate.cert },
    });
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    const wanted = (method: string, path: string): string =>
      `${method} ${target().url}/client/${path}: the proxy ${proxy.url} answered 407 Proxy Authentication Required: ` +
      'it wants credentials (give them in the proxy URL, http://user:password@host:port)';
    const error = await errorFrom('fetch');
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ code: 'HTTP_STATUS', status: 407, message: wanted('GET', 'features') });
    expect(await errorFrom('register')).toMatchObject({ code: 'HTTP_STATUS', status: 407, message: wanted('POST', 'register') });
    // Polling goes on (backing off) and the flags keep serving.
    const next = await scheduler.fireNext('fetch');
    expect(next.delay).toBeGreaterThan(15_000);
    expect(await errorFrom('fetch', 2)).toMatchObject({ status: 407 });
    expect(target().requests).toEqual([]);
    expect(client.isEnabled('proxied')).toBe(true);

    // With the credentials in the proxy URL, the same proxy lets everything through.
    const withCredentials = makeClient(target().url, {
      httpOptions: { proxy: proxy.url.replace('://', '://user:s3cret-pass@'), ca: certificate.cert },
    });
    await withCredentials.start();
    expect(withCredentials.isEnabled('proxied')).toBe(true);
    expect(proxy.requests.filter((r) => r.method === 'CONNECT').at(-1)).toMatchObject({ allowed: true, proxyAuthorization: `Basic ${Buffer.from('user:s3cret-pass').toString('base64')}` });
    await client.destroy();
    expect(JSON.stringify(events.map((e) => (e.type === 'error' ? e.error.message : e)))).not.toContain('s3cret');
  });

  test('a proxy that cannot be reached is named in the error', async () => {
    const client = withEnv({ HTTP_PROXY: CLOSED }, () => makeClient(server.url));
    await client.start();
    expect(errors()[0]!.message).toBe(`GET ${server.url}/client/features: the connection failed (ECONNREFUSED) (through the proxy ${CLOSED})`);
    expect(server.requests).toEqual([]);
  });

  test('an unusable httpOptions.proxy throws a ConfigError that does not echo it; other odd values are warnings', () => {
    for (const proxyValue of ['socks5://user:pw@127.0.0.1:1080', 'not a url', 42]) {
      let thrown: unknown;
      try {
        makeClient(server.url, { httpOptions: { proxy: proxyValue as string } });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect(thrown).toMatchObject({ option: 'httpOptions' });
      expect((thrown as Error).message).toMatch(/"httpOptions\.proxy" must be an http:\/\/ or https:\/\/ URL/);
      expect((thrown as Error).message).not.toMatch(/pw|not a url|42/);
    }
  });

  test('odd ca, rejectUnauthorized and agent values are dropped with a warning', async () => {
    makeClient(server.url, {
      httpOptions: { ca: 42 as unknown as string, rejectUnauthorized: 'no' as unknown as boolean, agent: new Agent() as unknown as { http: Agent } },
    });
    await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
    expect(warnings()).toEqual([
      'httpOptions.ca must be PEM certificates (a string, a Buffer, or an array of them); the other values were ignored',
      'httpOptions.rejectUnauthorized must be a boolean; using the default true',
      'httpOptions.agent must be { http?: Agent, https?: Agent }, one agent per protocol; it was ignored',
    ]);
  });

  test('an environment variable that is not a proxy URL is a warning, and requests go direct', async () => {
    const client = withEnv({ HTTP_PROXY: 'socks5://127.0.0.1:1080' }, () => makeClient(server.url));
    await client.start();
    expect(client.isEnabled('proxied')).toBe(true);
    expect(warnings()).toEqual(['the HTTP_PROXY (or ALL_PROXY) environment variable is not an http:// or https:// proxy URL; connecting without a proxy']);
  });
});

describe('bootstrapFromUrl through a proxy', () => {
  test('HTTP_PROXY from the environment', async () => {
    const cache = new MemoryCache();
    await withEnv({ HTTP_PROXY: proxy.url }, () => cache.bootstrapFromUrl(`${server.origin}/flags.json`));
    expect(proxy.lines).toEqual([`CONNECT 127.0.0.1:${port(server.origin)}`, 'GET /flags.json']);
    expect((cache.get('features') as { features: { name: string }[] }).features.map((f) => f.name)).toEqual(['proxied']);
    await proxy.whenIdle();
  });

  test('httpOptions: an https URL through CONNECT, trusting `ca`', async () => {
    const cache = new MemoryCache();
    await withEnv({}, () => cache.bootstrapFromUrl(`${tlsServer.origin}/flags.json`, { httpOptions: { proxy: proxy.url, ca: certificate.cert } }));
    expect(proxy.lines).toEqual([`CONNECT 127.0.0.1:${port(tlsServer.origin)}`]);
    expect(tlsServer.requestsTo('/flags.json')).toHaveLength(1);
    await proxy.whenIdle();
  });

  test('NO_PROXY and proxy: false bypass it', async () => {
    const cache = new MemoryCache();
    await withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, () => cache.bootstrapFromUrl(`${server.origin}/flags.json`));
    await withEnv({ HTTP_PROXY: proxy.url }, () => cache.bootstrapFromUrl(`${server.origin}/flags.json`, { httpOptions: { proxy: false } }));
    expect(proxy.requests).toEqual([]);
    expect(server.requestsTo('/flags.json')).toHaveLength(2);
  });

  test('a 407 is a BootstrapError that names the proxy', async () => {
    proxy.credentials = 'user:pass';
    const cache = new MemoryCache();
    const failure = cache.bootstrapFromUrl(`${server.origin}/flags.json`, { httpOptions: { proxy: proxy.url } });
    await expect(failure).rejects.toBeInstanceOf(BootstrapError);
    await expect(failure).rejects.toMatchObject({
      code: 'HTTP_STATUS',
      status: 407,
      message: expect.stringContaining(`the proxy ${proxy.url} answered 407 Proxy Authentication Required`),
    });
  });
});

describe('the CLI through a proxy', () => {
  async function cli(env: Env, ...argv: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env, interactive: false });
    return { code, out, err };
  }

  test('eval --url honours HTTP_PROXY from its env, not from process.env', async () => {
    const before = { ...process.env };
    const { code, out, err } = await cli({ HTTP_PROXY: proxy.url }, 'eval', '--url', server.url, '--token', 'cli-token');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(/^proxied\s+ON$/m);
    expect(proxy.lines).toEqual([`CONNECT 127.0.0.1:${port(server.origin)}`, 'GET /api/client/features']);
    expect(server.requestsTo('/api/client/features')[0]!.headers.authorization).toBe('cli-token');
    expect(process.env).toEqual(before);
    await proxy.whenIdle();
  });

  test('https_proxy tunnels an https URL; lower-case no_proxy bypasses', async () => {
    // The CLI has no `ca` option: the self-signed certificate is refused, after the tunnel.
    const tunnelled = await cli({ https_proxy: proxy.url }, 'eval', '--url', tlsServer.url);
    expect(tunnelled.code).toBe(2);
    expect(tunnelled.err).toMatch(/SELF_SIGNED.*\(through the proxy http:\/\/127\.0\.0\.1:\d+\)/);
    expect(proxy.lines).toEqual([`CONNECT 127.0.0.1:${port(tlsServer.origin)}`]);

    const bypassed = await cli({ http_proxy: proxy.url, no_proxy: '127.0.0.1' }, 'eval', '--url', server.url);
    expect(bypassed.code).toBe(0);
    expect(proxy.requests).toHaveLength(1);
  });

  test('a 407 is one clear line, exit code 2', async () => {
    proxy.credentials = 'user:pass';
    const { code, err } = await cli({ HTTP_PROXY: proxy.url }, 'eval', '--url', server.url);
    expect(code).toBe(2);
    expect(err).toBe(
      `switchyard: GET ${server.url}/client/features: the proxy ${proxy.url} answered 407 Proxy Authentication Required: ` +
        'it wants credentials (give them in the proxy URL, http://user:password@host:port)\n',
    );
  });
});

describe('Network: which proxy a request uses', () => {
  const P = 'http://proxy.corp:3128';
  test.each<[string, string, Env, object, string | undefined]>([
    ['HTTP_PROXY for http', 'http://unleash.example.com/api', { HTTP_PROXY: P }, {}, P],
    ['not HTTP_PROXY for https', 'https://unleash.example.com/api', { HTTP_PROXY: P }, {}, undefined],
    ['HTTPS_PROXY for https', 'https://unleash.example.com/api', { HTTPS_PROXY: P }, {}, P],
    ['ALL_PROXY for either', 'https://unleash.example.com/api', { ALL_PROXY: P }, {}, P],
    ['lower-case first', 'http://unleash.example.com/api', { http_proxy: P, HTTP_PROXY: 'http://other:1' }, {}, P],
    ['a proxy without a scheme', 'http://unleash.example.com/api', { HTTP_PROXY: 'proxy.corp:3128' }, {}, P],
    ['credentials never shown', 'http://unleash.example.com/api', { HTTP_PROXY: 'http://u:secret@proxy.corp:3128' }, {}, P],
    ['NO_PROXY suffix', 'http://unleash.example.com/api', { HTTP_PROXY: P, NO_PROXY: '.example.com' }, {}, undefined],
    ['NO_PROXY wildcard suffix', 'http://unleash.example.com/api', { HTTP_PROXY: P, NO_PROXY: '*.example.com' }, {}, undefined],
    ['NO_PROXY with the default port', 'http://unleash.example.com/api', { HTTP_PROXY: P, NO_PROXY: 'unleash.example.com:80' }, {}, undefined],
    ['NO_PROXY with another port', 'http://unleash.example.com:4242/api', { HTTP_PROXY: P, NO_PROXY: 'unleash.example.com:80' }, {}, P],
    ['the option over NO_PROXY', 'http://unleash.example.com/api', { NO_PROXY: '*' }, { proxy: P }, P],
    ['proxy: false over the environment', 'http://unleash.example.com/api', { HTTP_PROXY: P }, { proxy: false }, undefined],
    ['an agent of your own', 'http://unleash.example.com/api', { HTTP_PROXY: P }, { agent: { http: new Agent() } }, undefined],
  ])('%s', (_name, target, env, options, expected) => {
    expect(new Network(new URL(target), options, env).proxyFor(target)).toBe(expected);
  });

  test('reading an env object leaves process.env as it was', () => {
    const real = process.env;
    const before = { ...real };
    expect(proxyFromEnv(new URL('http://unleash.example.com/'), { HTTP_PROXY: P })).toBe(P);
    expect(process.env).toBe(real);
    expect(process.env).toEqual(before);
  });

  test('a redirect to the other protocol keeps that protocol\'s proxy', () => {
    const network = new Network(new URL('http://unleash.example.com/api'), {}, { HTTPS_PROXY: P });
    expect(network.proxyFor('http://unleash.example.com/api')).toBeUndefined();
    expect(network.proxyFor('https://unleash.example.com/api')).toBe(P);
  });

  test('a destroyed network sends nothing', async () => {
    const network = new Network(new URL(server.url), {}, {});
    network.destroy();
    await expect(network.request(`${server.url}/client/features`)).rejects.toMatchObject({ code: 'HTTP_ABORTED' });
    expect(server.requests).toEqual([]);
  });
});
