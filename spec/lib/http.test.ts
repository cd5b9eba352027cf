import { inspect } from 'node:util';
import { gzipSync } from 'node:zlib';
import { SwitchyardError } from '../../lib/errors';
import { DEFAULT_MAX_BODY_SIZE, getBody, HttpError, httpRequest, openHttpStream, redactUrl } from '../../lib/http';
import { endlessBody, gzipBomb, TestServer, type StreamEnd } from '../support/test-server';

let server: TestServer;

beforeEach(async () => {
  server = await TestServer.start();
});

afterEach(async () => {
  await server.close();
});

async function failure(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as Error).name).toBe('HttpError');
    return err as HttpError;
  }
  throw new Error('expected the request to fail');
}

describe('getBody', () => {
  test('returns the bytes of the body and sends the given headers with accept: application/json', async () => {
    server.setDefault('GET', '/flags.json', { body: { version: 2, features: [] } });
    const body = await getBody(`${server.origin}/flags.json`, { headers: { Authorization: 'secret-token' } });
    expect(JSON.parse(body.toString())).toEqual({ version: 2, features: [] });
    const [request] = server.requestsTo('/flags.json');
    expect(request!.headers.authorization).toBe('secret-token');
    expect(request!.headers.accept).toBe('application/json');
  });

  test('a non-2xx answer is an HTTP_STATUS error carrying the status', async () => {
    server.setDefault('GET', '/missing.json', { status: 503, body: 'down' });
    const err = await failure(getBody(`${server.origin}/missing.json`));
    expect(err.code).toBe('HTTP_STATUS');
    expect(err.status).toBe(503);
    expect(err.message).toContain('503');
  });

  test('a dropped connection is an HTTP_NETWORK error', async () => {
    server.setDefault('GET', '/drop', { drop: true });
    const err = await failure(getBody(`${server.origin}/drop`));
    expect(err.code).toBe('HTTP_NETWORK');
  });

  test('a refused connection is an HTTP_NETWORK error naming the Node error code', async () => {
    const closed = await TestServer.start();
    const url = `${closed.origin}/x`;
    await closed.close();
    const err = await failure(getBody(url));
    expect(err.code).toBe('HTTP_NETWORK');
    expect(err.message).toContain('ECONNREFUSED');
  });

  test('a response slower than the timeout is an HTTP_TIMEOUT error naming the timeout', async () => {
    server.setDefault('GET', '/slow', { hold: true });
    const err = await failure(getBody(`${server.origin}/slow`, { timeout: 150 }));
    expect(err.code).toBe('HTTP_TIMEOUT');
    expect(err.message).toContain('150 ms');
  });

  test('aborting the signal fails the request with HTTP_ABORTED', async () => {
    server.setDefault('GET', '/slow', { hold: true });
    const controller = new AbortController();
    const pending = getBody(`${server.origin}/slow`, { signal: controller.signal });
    await server.waitForRequest('GET', '/slow');
    controller.abort();
    const err = await failure(pending);
    expect(err.code).toBe('HTTP_ABORTED');
  });

  test('an already aborted signal sends nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await failure(getBody(`${server.origin}/x`, { signal: controller.signal }));
    expect(err.code).toBe('HTTP_ABORTED');
    expect(server.requests).toHaveLength(0);
  });

  test('errors never carry the token: not in the message, not in anything inspect prints', async () => {
    server.setDefault('GET', '/drop', { drop: true });
    const url = `http://user:pw-secret@127.0.0.1:${new URL(server.origin).port}/drop?token=query-secret`;
    const err = await failure(getBody(url, { headers: { Authorization: 'header-secret' } }));
    const printed = inspect(err, { depth: 10, showHidden: true });
    for (const secret of ['header-secret', 'pw-secret', 'query-secret']) expect(printed).not.toContain(secret);
  });
});

describe('httpRequest', () => {
  test('POSTs JSON and resolves with any status, headers lower-cased', async () => {
    server.setDefault('POST', '/echo', { status: 418, body: 'teapot', headers: { 'X-Thing': 'yes' } });
    const response = await httpRequest(`${server.origin}/echo`, { method: 'POST', json: { a: [1, 2] } });
    expect(response.status).toBe(418);
    expect(response.headers['x-thing']).toBe('yes');
    expect(response.body.toString()).toBe('teapot');
    const [request] = server.requestsTo('/echo');
    expect(request!.headers['content-type']).toContain('application/json');
    expect(request!.json()).toEqual({ a: [1, 2] });
  });

  test('leaves no listener on a long-lived AbortSignal, whatever the outcome (a poller passes one to every request)', async () => {
    const { EventEmitter } = await import('node:events');
    server.setDefault('GET', '/ok', { status: 200, body: '{"features":[]}' });
    server.setDefault('GET', '/status', { status: 500 });
    server.setDefault('GET', '/big', { status: 200, body: 'x'.repeat(5000) });
    const controller = new AbortController();
    for (let i = 0; i < 15; i++) {
      await httpRequest(`${server.origin}/ok`, { signal: controller.signal });
      await httpRequest(`${server.origin}/status`, { signal: controller.signal });
      await httpRequest(`${server.origin}/big`, { signal: controller.signal, maxBodySize: 1000 }).catch(() => undefined);
    }
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('does not retry a failed request', async () => {
    server.setDefault('GET', '/fail', { status: 503 });
    const response = await httpRequest(`${server.origin}/fail`);
    expect(response.status).toBe(503);
    expect(server.requestsTo('/fail')).toHaveLength(1);
  });
});

describe('maxBodySize', () => {
  const MiB = 1024 * 1024;

  test('defaults to 40 MiB', () => {
    expect(DEFAULT_MAX_BODY_SIZE).toBe(40 * MiB);
  });

  test('a body of exactly the limit is read; one byte more is HTTP_BODY_TOO_LARGE naming the limit', async () => {
    server.setDefault('GET', '/body', { body: 'x'.repeat(1000) });
    const ok = await httpRequest(`${server.origin}/body`, { maxBodySize: 1000 });
    expect(ok.body.length).toBe(1000);
    const err = await failure(httpRequest(`${server.origin}/body`, { maxBodySize: 999 }));
    expect(err.code).toBe('HTTP_BODY_TOO_LARGE');
    expect(err.message).toBe(`GET ${server.origin}/body: the response body exceeds the limit of 999 bytes; the request was aborted`);
  });

  test('a declared Content-Length above the limit fails at once, before any body arrives', async () => {
    server.setDefault('GET', '/huge', (_request, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * MiB) });
      res.flushHeaders();
    });
    // The body never comes: only the declared length can end this before the timeout.
    const err = await failure(httpRequest(`${server.origin}/huge`, { maxBodySize: MiB, timeout: 60_000 }));
    expect(err.code).toBe('HTTP_BODY_TOO_LARGE');
    expect(err.message).toContain('1 MiB');
  });

  test('counts bytes after decompression: a small gzip body that inflates past the limit is refused', async () => {
    const inflated = Buffer.alloc(200_000, 0x20);
    const compressed = gzipSync(inflated);
    expect(compressed.length).toBeLessThan(10_000);
    server.setDefault('GET', '/gz', { body: compressed, headers: { 'content-encoding': 'gzip' } });
    expect((await httpRequest(`${server.origin}/gz`, { maxBodySize: 200_000 })).body.equals(inflated)).toBe(true);
    const err = await failure(httpRequest(`${server.origin}/gz`, { maxBodySize: 100_000 }));
    expect(err.code).toBe('HTTP_BODY_TOO_LARGE');
  });

  test('a gzip bomb (4 GiB of zeros) is cut off at the limit and the connection closed', async () => {
    let ended: (end: StreamEnd) => void = () => undefined;
    const end = new Promise<StreamEnd>((resolve) => (ended = resolve));
    server.setDefault('GET', '/bomb', gzipBomb(4 * 1024 * MiB, ended));
    const err = await failure(httpRequest(`${server.origin}/bomb`, { maxBodySize: MiB, timeout: 60_000 }));
    expect(err.code).toBe('HTTP_BODY_TOO_LARGE');
    expect(await end).toMatchObject({ complete: false });
  });

  test('an endless chunked body is cut off at the limit and the connection closed', async () => {
    let ended: (end: StreamEnd) => void = () => undefined;
    const end = new Promise<StreamEnd>((resolve) => (ended = resolve));
    server.setDefault('GET', '/endless', endlessBody(ended));
    const err = await failure(httpRequest(`${server.origin}/endless`, { maxBodySize: MiB, timeout: 60_000 }));
    expect(err.code).toBe('HTTP_BODY_TOO_LARGE');
    const { written } = await end;
    // What the server wrote before the client hung up: the limit plus socket buffers.
    expect(written).toBeLessThan(64 * MiB);
  });

  test('replies to a POST are bounded too', async () => {
    server.setDefault('POST', '/api/client/metrics', endlessBody());
    const err = await failure(httpRequest(`${server.origin}/api/client/metrics`, { method: 'POST', json: {}, maxBodySize: MiB }));
    expect(err.code).toBe('HTTP_BODY_TOO_LARGE');
  });

  test('a body that stops half-way still times out', async () => {
    server.setDefault('GET', '/half', (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"version":2,');
    });
    const err = await failure(httpRequest(`${server.origin}/half`, { timeout: 200 }));
    expect(err.code).toBe('HTTP_TIMEOUT');
  });
});

describe('redirects', () => {
  let other: TestServer;
  beforeEach(async () => {
    other = await TestServer.start();
    other.setDefault('GET', '/elsewhere', { body: 'moved' });
    other.setDefault('POST', '/elsewhere', { status: 202 });
    server.setDefault('GET', '/elsewhere', { body: 'moved' });
    server.setDefault('POST', '/elsewhere', { status: 202 });
  });
  afterEach(async () => {
    await other.close();
  });

  test('a redirect loop within the origin says so, and a Location that is no URL is named as such', async () => {
    server.setDefault('GET', '/loop', { status: 307, headers: { location: '/loop' } });
    const loop = await failure(httpRequest(`${server.origin}/loop`));
    expect(loop.code).toBe('HTTP_NETWORK');
    expect(loop.message).toMatch(/redirected too many times \(a redirect loop within its origin\)/);
    server.setDefault('GET', '/nowhere', { status: 302, headers: { location: 'http://[bad' } });
    const bad = await failure(httpRequest(`${server.origin}/nowhere`));
    expect(bad.message).toMatch(/redirected \(302\) to a Location that is not a valid URL, so it was not followed$/);
  });

  const headers = { authorization: 'secret-token', 'x-api-key': 'secret-key', 'unleash-appname': 'app' };
  const redirect = (status: number, location: string) => ({ status, headers: { location } });

  test.each([301, 302, 303, 307, 308])('GET, %i within the origin: followed with every header', async (status) => {
    server.setDefault('GET', '/start', redirect(status, '/elsewhere'));
    const response = await httpRequest(`${server.origin}/start`, { headers });
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('moved');
    const [followed] = server.requestsTo('/elsewhere');
    expect(followed).toMatchObject({ method: 'GET', headers: expect.objectContaining(headers) });
  });

  test.each([301, 302, 303, 307, 308])('GET, %i to another origin: refused, nothing reaches it', async (status) => {
    server.setDefault('GET', '/start', redirect(status, `${other.origin}/elsewhere?token=query-secret`));
    const err = await failure(httpRequest(`${server.origin}/start`, { headers }));
    expect(err).toMatchObject({ code: 'HTTP_STATUS', status });
    expect(err.message).toBe(
      `GET ${server.origin}/start: the server redirected (${status}) to ${other.origin}/elsewhere?token=***, another origin; ` +
        'redirects to another origin are not followed, so no header reaches it (configure the final URL instead)',
    );
    expect(other.requests).toEqual([]);
  });

  test('a stream (openHttpStream) follows the same rule: within the origin with every header, to another origin refused', async () => {
    server.setDefault('GET', '/start', redirect(307, '/elsewhere'));
    const followed = await openHttpStream(`${server.origin}/start`, { headers });
    expect(followed.status).toBe(200);
    followed.close();
    expect(server.requestsTo('/elsewhere')[0]).toMatchObject({ method: 'GET', headers: expect.objectContaining(headers) });

    server.setDefault('GET', '/start', redirect(302, `${other.origin}/elsewhere?token=query-secret`));
    const err = await failure(openHttpStream(`${server.origin}/start`, { headers }));
    expect(err).toMatchObject({ code: 'HTTP_STATUS', status: 302 });
    expect(err.message).toMatch(/another origin; redirects to another origin are not followed/);
    expect(err.message).not.toMatch(/query-secret/);
    expect(other.requests).toEqual([]);
  });

  test('another port, scheme or host is another origin', async () => {
    const port = new URL(server.origin).port;
    for (const target of [`https://127.0.0.1:${port}/elsewhere`, `http://localhost:${port}/elsewhere`]) {
      server.setDefault('GET', '/start', redirect(302, target));
      const err = await failure(httpRequest(`${server.origin}/start`, { headers }));
      expect(err.status).toBe(302);
    }
    expect(server.requestsTo('/elsewhere')).toEqual([]);
  });

  test.each([301, 302, 307, 308])('POST, %i within the origin: re-sent as the same POST with the same body and headers', async (status) => {
    server.setDefault('POST', '/api/client/metrics', redirect(status, '/elsewhere'));
    const response = await httpRequest(`${server.origin}/api/client/metrics`, { method: 'POST', json: { n: 1 }, headers });
    expect(response.status).toBe(202);
    const [followed] = server.requestsTo('/elsewhere');
    expect(followed).toMatchObject({ method: 'POST', headers: expect.objectContaining(headers) });
    expect(followed!.json()).toEqual({ n: 1 });
  });

  test('POST, 303: never turned into a GET', async () => {
    server.setDefault('POST', '/api/client/register', redirect(303, '/elsewhere'));
    const err = await failure(httpRequest(`${server.origin}/api/client/register`, { method: 'POST', json: { n: 1 }, headers }));
    expect(err).toMatchObject({ code: 'HTTP_STATUS', status: 303 });
    expect(err.message).toBe(
      `POST ${server.origin}/api/client/register: the server answered 303 (see ${server.origin}/elsewhere); ` +
        'a POST is never re-sent as a GET, so it was not followed',
    );
    expect(server.requestsTo('/elsewhere')).toEqual([]);
  });

  test.each([301, 302, 303, 307, 308])('POST, %i to another origin: refused, nothing reaches it', async (status) => {
    server.setDefault('POST', '/api/client/metrics', redirect(status, `${other.origin}/elsewhere`));
    const err = await failure(httpRequest(`${server.origin}/api/client/metrics`, { method: 'POST', json: { n: 1 }, headers }));
    expect(err).toMatchObject({ code: 'HTTP_STATUS', status });
    expect(other.requests).toEqual([]);
    expect(server.requests.map((r) => r.method)).toEqual(['POST']);
  });

  test('a Location that is not a URL is refused', async () => {
    server.setDefault('GET', '/start', redirect(302, 'http://[::1'));
    const err = await failure(httpRequest(`${server.origin}/start`));
    expect(err.message).toContain('a Location that is not a valid URL');
  });
});

describe('redactUrl', () => {
  test.each([
    ['https://user:pass@example.com/api/client/features?token=abc#x', 'https://***@example.com/api/client/features?token=***'],
    ['https://user@example.com/api', 'https://***@example.com/api'],
    ['http://127.0.0.1:4242/api', 'http://127.0.0.1:4242/api'],
    ['http://h/api/client/features?project=p&tag=simple:x&tag=team:y', 'http://h/api/client/features?project=***&tag=***&tag=***'],
    // A key without a value, or one that does not look like a parameter name, may be a token.
    ['http://h/api?s3cr3t-token-pasted-here', 'http://h/api?***'],
    ['http://h/api?default:development.abc=1&x=', 'http://h/api?***&x=***'],
    ['http://h/api?', 'http://h/api'],
    ['not a url', 'an invalid URL'],
    // A client token pasted as the URL parses, with the scheme `default:`.
    ['default:development.0123456789abcdef', 'a URL that is not http(s)'],
    ['*:*.0123456789abcdef', 'an invalid URL'],
    ['file:///etc/passwd', 'a URL that is not http(s)'],
  ])('%s -> %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  test('takes a URL object', () => {
    expect(redactUrl(new URL('https://u:p@example.com/x?y=1'))).toBe('https://***@example.com/x?y=***');
  });
});
