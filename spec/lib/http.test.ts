import { inspect } from 'node:util';
import { SwitchyardError } from '../../lib/errors';
import { getBody, HttpError, httpRequest, redactUrl } from '../../lib/http';
import { TestServer } from '../support/test-server';

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

  test('does not retry a failed request', async () => {
    server.setDefault('GET', '/fail', { status: 503 });
    const response = await httpRequest(`${server.origin}/fail`);
    expect(response.status).toBe(503);
    expect(server.requestsTo('/fail')).toHaveLength(1);
  });
});

describe('redactUrl', () => {
  test.each([
    ['https://user:pass@example.com/api/client/features?token=abc#x', 'https://example.com/api/client/features'],
    ['http://127.0.0.1:4242/api', 'http://127.0.0.1:4242/api'],
    ['not a url', 'an invalid URL'],
  ])('%s -> %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});
