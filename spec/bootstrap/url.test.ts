import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { BootstrapError } from '../../bootstrap/dict';
import { loadBootstrapUrl } from '../../bootstrap/url';
import { CacheKeys } from '../../cache/base-cache';
import { MemoryCache } from '../../cache/memory-cache';
import { SwitchyardError } from '../../lib/errors';
import type { FeaturesPayload } from '../../lib/types';

const TOKEN = 'default:development.super-secret-client-token';

const body = {
  version: 2,
  features: [{ name: 'edge.bootstrap', enabled: true, strategies: [{ name: 'default' }] }],
  segments: [],
};

/** A real server on loopback that records requests and misbehaves on request. */
let server: Server;
let base: string;
const received: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
const stalled: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push({ url: req.url ?? '', headers: req.headers });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    switch (path) {
      case '/good':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        break;
      case '/redirect':
        res.writeHead(302, { location: '/good' }).end();
        break;
      case '/redirect-away':
        res.writeHead(302, { location: 'http://localhost:1/flags.json?sig=signed-secret' }).end();
        break;
      case '/missing':
        res.writeHead(404).end('not found');
        break;
      case '/error':
        res.writeHead(503).end(`upstream failed for ${TOKEN}`);
        break;
      case '/bad-json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"features": [ customer-9001');
        break;
      case '/json-string':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(JSON.stringify(body)));
        break;
      case '/wrong-shape':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"flags": []}');
        break;
      case '/stall':
        stalled.push(res); // never answers
        break;
      case '/stall-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"version":2,"features":[');
        stalled.push(res); // headers and half a body, then nothing
        break;
      default:
        res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of stalled) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

async function failure(promise: Promise<unknown>): Promise<BootstrapError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BootstrapError);
  expect(err).toBeInstanceOf(SwitchyardError);
  const error = err as BootstrapError;
  // Whatever went wrong, neither the token nor the body ends up in what gets logged.
  expect(inspect(error, { depth: 6 })).not.toContain(TOKEN);
  expect(inspect(error, { depth: 6 })).not.toContain('customer-9001');
  return error;
}

describe('cache.bootstrapFromUrl', () => {
  test('seeds the cache from a URL, sending the given headers', async () => {
    const cache = new MemoryCache();
    await cache.bootstrapFromUrl(`${base}/good`, { headers: { Authorization: TOKEN }, timeout: 5000 });
    expect(cache.bootstrapped).toBe(true);
    expect((cache.get(CacheKeys.FEATURES) as FeaturesPayload).features.map((f) => f.name)).toEqual(['edge.bootstrap']);
    expect(received).toHaveLength(1);
    expect(received[0].headers.authorization).toBe(TOKEN);
    expect(received[0].headers.accept).toBe('application/json');
  });

  test('accepts a URL object and follows redirects', async () => {
    const { payload } = await loadBootstrapUrl(new URL(`${base}/redirect`));
    expect(payload.features[0].name).toBe('edge.bootstrap');
    expect(received.map((r) => r.url)).toEqual(['/redirect', '/good']);
  });

  test('a 404 is HTTP_STATUS with the status, and the cache is untouched', async () => {
    const cache = new MemoryCache();
    const err = await failure(cache.bootstrapFromUrl(`${base}/missing`, { headers: { Authorization: TOKEN } }));
    expect(err.code).toBe('HTTP_STATUS');
    expect(err.status).toBe(404);
    expect(err.message).toContain('HTTP 404');
    expect(err.location).toBe(`${base}/missing`);
    expect(cache.bootstrapped).toBe(false);
    expect(cache.exists(CacheKeys.FEATURES)).toBe(false);
  });

  test('a 503 is not retried and its body is not quoted', async () => {
    const err = await failure(loadBootstrapUrl(`${base}/error`));
    expect(err).toMatchObject({ code: 'HTTP_STATUS', status: 503 });
    expect(received).toHaveLength(1);
  });

  test('a body that is not JSON is PAYLOAD_NOT_JSON, without quoting it', async () => {
    const err = await failure(loadBootstrapUrl(`${base}/bad-json`));
    expect(err.code).toBe('PAYLOAD_NOT_JSON');
  });

  test('JSON of the wrong shape is PAYLOAD_INVALID', async () => {
    const err = await failure(loadBootstrapUrl(`${base}/wrong-shape`));
    expect(err.code).toBe('PAYLOAD_INVALID');
  });

  test('a JSON string is PAYLOAD_INVALID, even when it holds a body: it is not parsed twice', async () => {
    const err = await failure(loadBootstrapUrl(`${base}/json-string`));
    expect(err.code).toBe('PAYLOAD_INVALID');
    expect(err.message).toMatch(/got a string/);
  });

  test('no answer within the timeout is HTTP_TIMEOUT', async () => {
    const err = await failure(loadBootstrapUrl(`${base}/stall`, { headers: { Authorization: TOKEN }, timeout: 200 }));
    expect(err.code).toBe('HTTP_TIMEOUT');
    expect(err.message).toContain('200 ms');
  });

  test('a body that stops half-way is HTTP_TIMEOUT too: the limit covers the whole request', async () => {
    const err = await failure(loadBootstrapUrl(`${base}/stall-body`, { timeout: 200 }));
    expect(err.code).toBe('HTTP_TIMEOUT');
  });

  test('a refused connection is HTTP_NETWORK', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(loadBootstrapUrl(`http://127.0.0.1:${port}/x`, { headers: { Authorization: TOKEN } }));
    expect(err.code).toBe('HTTP_NETWORK');
    expect(err.message).toContain('ECONNREFUSED');
  });

  test('credentials and query strings in the URL are not echoed', async () => {
    const url = `http://user:pa55word@127.0.0.1:${new URL(base).port}/missing?token=${encodeURIComponent(TOKEN)}`;
    const err = await failure(loadBootstrapUrl(url));
    expect(err.location).toBe(`http://***@127.0.0.1:${new URL(base).port}/missing?token=***`);
    expect(err.message).not.toContain('pa55word');
  });

  test('a body larger than maxBodySize is HTTP_BODY_TOO_LARGE naming the limit, and the cache is untouched', async () => {
    const cache = new MemoryCache();
    const err = await failure(cache.bootstrapFromUrl(`${base}/good`, { maxBodySize: 50 }));
    expect(err.code).toBe('HTTP_BODY_TOO_LARGE');
    expect(err.message).toBe(`bootstrap from ${base}/good failed: the body exceeds maxBodySize (50 bytes); the request was aborted`);
    expect(cache.bootstrapped).toBe(false);
  });

  test('a redirect to another origin is refused, and the message says where it pointed', async () => {
    const err = await failure(loadBootstrapUrl(`${base}/redirect-away`, { headers: { Authorization: TOKEN } }));
    expect(err).toMatchObject({ code: 'HTTP_STATUS', status: 302 });
    expect(err.message).toContain('redirected (302) to http://localhost:1/flags.json?sig=***, another origin');
    expect(received.map((r) => r.url)).toEqual(['/redirect-away']);
  });

  test.each([0, -1, 1.5, Number.NaN, 513 * 1024 * 1024])('a maxBodySize of %p is refused, naming the option', async (maxBodySize) => {
    await expect(loadBootstrapUrl(`${base}/good`, { maxBodySize })).rejects.toThrow(/"maxBodySize"/);
    expect(received).toHaveLength(0);
  });

  test.each([
    ['not a URL', 'flags.json'],
    ['a token pasted by mistake', TOKEN],
    ['another protocol', 'file:///etc/passwd'],
  ])('%s is URL_INVALID', async (_, url) => {
    const err = await failure(loadBootstrapUrl(url));
    expect(err.code).toBe('URL_INVALID');
    expect(err.message).not.toMatch(/secret|passwd|flags/);
    expect(received).toHaveLength(0);
  });

  test.each([0, -1, Number.NaN, Infinity])('a timeout of %p is refused, naming the option', async (timeout) => {
    await expect(loadBootstrapUrl(`${base}/good`, { timeout })).rejects.toThrow(/"timeout"/);
    expect(received).toHaveLength(0);
  });
});
