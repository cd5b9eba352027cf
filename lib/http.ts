/**
 * The one place switchyard talks HTTP. A thin layer over got that settles every request
 * into either a response (any status) or an `HttpError` with a code callers can branch on.
 *
 * got 14 is ESM-only. It is loaded with a dynamic `import()` on the first request and
 * cached, so the CommonJS build can still be `require`d on every Node 20, and offline
 * clients never load it at all.
 *
 * Errors never carry got's own error objects: those hold the request options, headers
 * included, and a logger that prints an error with its `cause` would print the token.
 *
 * Bodies are read from got's stream and counted after decompression, so a gzip bomb or an
 * endless chunked body is cut off at `maxBodySize` instead of filling memory. Redirects
 * are followed only within the origin of the URL asked for (see `httpRequest`).
 */
import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { Agents, Got, PlainResponse } from 'got';
import { SwitchyardError, type SwitchyardErrorCode } from './errors';
import { timerDelay } from './scheduler';

/**
 * The codes an `HttpError` carries (see `SwitchyardErrorCode`): `HTTP_TIMEOUT`,
 * `HTTP_NETWORK`, `HTTP_ABORTED`, `HTTP_STATUS` (with `status`; a redirect that is not
 * followed is one too), `HTTP_BODY_TOO_LARGE`, and `PAYLOAD_NOT_JSON` or `PAYLOAD_INVALID`
 * for a 2xx answer whose body cannot be used.
 *
 * @group Errors
 */
export type HttpErrorCode = Extract<
  SwitchyardErrorCode,
  'HTTP_TIMEOUT' | 'HTTP_NETWORK' | 'HTTP_ABORTED' | 'HTTP_STATUS' | 'HTTP_BODY_TOO_LARGE' | 'PAYLOAD_NOT_JSON' | 'PAYLOAD_INVALID'
>;

/**
 * A failed HTTP request. The message names the method and the URL without credentials or
 * query (tokens hide there), never a header or the body.
 *
 * @group Errors
 */
export class HttpError extends SwitchyardError {
  /** Always `HttpError`, so logs and `err.name` checks tell it from other errors. */
  override readonly name = 'HttpError';
  /** What went wrong, for callers that branch on it. */
  declare readonly code: HttpErrorCode;

  constructor(
    code: HttpErrorCode,
    /** The URL, redacted: origin and path only. */
    readonly url: string,
    message: string,
    /** The HTTP status, for `HTTP_STATUS` errors. */
    readonly status?: number,
  ) {
    super(code, message);
  }
}

/** Options of one request. */
export interface HttpRequestOptions {
  /** Default `GET`. */
  method?: 'GET' | 'POST';
  /** Request headers. Values are sent as given; nothing is logged. */
  headers?: Record<string, string>;
  /** A body to send as JSON (sets `content-type`). */
  json?: unknown;
  /** Milliseconds the whole request may take, response body included. Default 10 000. */
  timeout?: number;
  /** Aborts the request; it then fails with code `HTTP_ABORTED`. */
  signal?: AbortSignal;
  /** The most bytes of response body read, after decompression. Default `DEFAULT_MAX_BODY_SIZE`. */
  maxBodySize?: number;
  /** How to connect (agents, TLS trust), as `lib/network` decides. Default: Node's global agents and trust. */
  transport?: HttpTransport;
}

/** How a request connects: the agent per protocol (a proxy's, or the user's) and TLS options. */
export interface HttpTransport {
  agent?: { http?: Agent; https?: Agent };
  /** Trusted certificate authorities; replaces Node's roots (`lib/network` adds them back). */
  ca?: Array<string | Buffer>;
  rejectUnauthorized?: boolean;
}

/** A transport in got's options: an agent per protocol, TLS under `https`. */
function gotTransport({ agent = {}, ca, rejectUnauthorized }: HttpTransport = {}): { agent: Agents; https: { certificateAuthority?: Array<string | Buffer>; rejectUnauthorized?: boolean } } {
  return { agent: agent as Agents, https: { certificateAuthority: ca, rejectUnauthorized } };
}

/** A response of any status. */
export interface HttpResponse {
  status: number;
  /** Response headers, lower-case names. */
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The request timeout used when none is given, in milliseconds. */
export const DEFAULT_HTTP_TIMEOUT = 10_000;

const MiB = 1024 * 1024;

/**
 * The largest response body read when no limit is given: 40 MiB, counted after
 * decompression. It fits the 50 000-flag body of the benchmarks (about 35 MiB, every
 * strategy, segment and variant kind in every flag) with room to spare, while a hostile
 * body that is cut off at it raises a process's peak RSS by about 1.6 times the limit
 * (Node's HTTP stack and got copy the chunks), which keeps that under 100 MB.
 */
export const DEFAULT_MAX_BODY_SIZE = 40 * MiB;

/**
 * The largest `maxBodySize` accepted: V8 cannot hold a string longer than about 2^29
 * characters, so a larger body could never be decoded and parsed.
 */
export const MAX_BODY_SIZE_CEILING = 512 * MiB;

/** A byte count as a limit is usually written: `40 MiB`, else in bytes. */
export function formatBytes(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

let gotModule: Promise<Got> | undefined;

/** Loads got once. A failed load is not cached, so a later request can try again. */
function loadGot(): Promise<Got> {
  if (gotModule === undefined) {
    gotModule = import('got').then(
      (module) => module.default,
      (err: unknown) => {
        gotModule = undefined;
        throw err;
      },
    );
  }
  return gotModule;
}

/**
 * Starts loading got now, without waiting, so that a client's first request does not pay
 * for it after whatever comes first (`start()` calls it before reading the cache: a
 * large cache file is read and compiled while got's modules load). A failure is left to
 * that request to report (a failed load is not cached).
 * @internal
 */
export function preloadHttp(): void {
  loadGot().catch(() => undefined);
}

/**
 * Whether got's load has been started (by a request or `preloadHttp`) and not failed.
 * @internal For tests.
 */
export function httpLoadStarted(): boolean {
  return gotModule !== undefined;
}

// A query key shown as is: it looks like a parameter name. A key without a value, or one
// that looks like anything else, may be a token pasted into the query.
const QUERY_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;

/**
 * The URL as it may appear in an error, an event, a warning or CLI output. Credentials
 * become `***@`, every query value `***` (and a key too, unless it looks like a parameter
 * name), the fragment goes. A string that is not an absolute http(s) URL is not echoed at
 * all: it is often a token pasted into the wrong place. The one place URLs are redacted.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(typeof url === 'string' ? url : url.href);
  } catch {
    return 'an invalid URL';
  }
  // `project:env.secret` parses as a URL with the scheme `project:`.
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'a URL that is not http(s)';
  const credentials = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  let query = '';
  if (parsed.search.length > 1) {
    const pairs = parsed.search.slice(1).split('&').map((pair) => {
      const eq = pair.indexOf('=');
      return eq > 0 && QUERY_KEY.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=***` : '***';
    });
    query = `?${pairs.join('&')}`;
  }
  return `${parsed.protocol}//${credentials}${parsed.host}${parsed.pathname}${query}`;
}

function describeFailure(err: unknown, aborted: boolean): { code: HttpErrorCode; detail: string } {
  const name = (err as { name?: unknown })?.name;
  const code = (err as { code?: unknown })?.code;
  if (aborted || name === 'AbortError') return { code: 'HTTP_ABORTED', detail: 'the request was aborted' };
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return { code: 'HTTP_TIMEOUT', detail: '' };
  // A Node error code (ECONNREFUSED, ECONNRESET, ...) says what happened without quoting
  // anything the request carried.
  // A redirect loop is the server's answer, not a broken connection: say so.
  if (code === 'ERR_TOO_MANY_REDIRECTS' || name === 'MaxRedirectsError') {
    return { code: 'HTTP_NETWORK', detail: 'the server redirected too many times (a redirect loop within its origin)' };
  }
  const what = typeof code === 'string' && code !== 'ERR_GOT_REQUEST_ERROR' ? code : typeof name === 'string' ? name : 'error';
  return { code: 'HTTP_NETWORK', detail: `the connection failed (${what})` };
}

/** Why a redirect was not followed. */
interface RefusedRedirect {
  status: number;
  /** Where it pointed, resolved; `undefined` when the Location cannot be parsed. */
  target: URL | undefined;
}

function originOf(url: string | URL): string | undefined {
  try {
    return new URL(typeof url === 'string' ? url : url.href).origin;
  } catch {
    return undefined;
  }
}

function refusal(method: string, redirect: RefusedRedirect): string {
  const to = redirect.target === undefined ? 'a Location that is not a valid URL' : redactUrl(redirect.target);
  if (method === 'POST' && redirect.status === 303) {
    return `the server answered ${redirect.status} (see ${to}); a POST is never re-sent as a GET, so it was not followed`;
  }
  if (redirect.target === undefined) {
    return `the server redirected (${redirect.status}) to a Location that is not a valid URL, so it was not followed`;
  }
  return (
    `the server redirected (${redirect.status}) to ${to}, another origin; ` +
    'redirects to another origin are not followed, so no header reaches it (configure the final URL instead)'
  );
}

/** got, loaded on first use; a failure to load it is an `HTTP_NETWORK` error naming the request. */
async function gotFor(method: string, shown: string): Promise<Got> {
  try {
    return await loadGot();
  } catch (err) {
    throw new HttpError('HTTP_NETWORK', shown, `${method} ${shown}: the HTTP client could not be loaded (${(err as Error)?.message})`);
  }
}

/**
 * The redirect rule of every request: follow a redirect only to the request's own origin
 * (credentials in headers must not reach another host), and never a 303 of a POST (it
 * would turn the report into a GET). `refused()` tells the redirect that was not followed.
 */
function sameOriginRedirects(method: string, url: string | URL): { follow: (response: PlainResponse) => boolean; refused: () => RefusedRedirect | undefined } {
  const origin = originOf(url);
  let refused: RefusedRedirect | undefined;
  const follow = (response: PlainResponse): boolean => {
    let target: URL | undefined;
    try {
      target = new URL(String(response.headers.location), response.url);
    } catch {
      target = undefined;
    }
    if ((method === 'POST' && response.statusCode === 303) || target === undefined || target.origin !== origin) {
      refused = { status: response.statusCode, target };
      return false;
    }
    return true;
  };
  return { follow, refused: () => refused };
}

/**
 * Sends one request and resolves with the response, whatever its status. Rejects only
 * with an `HttpError`: `HTTP_TIMEOUT`, `HTTP_NETWORK`, `HTTP_ABORTED`, `HTTP_BODY_TOO_LARGE`
 * (the body grew past `maxBodySize`; the request is aborted at once), or `HTTP_STATUS` for
 * a redirect that is not followed. Nothing is retried (callers own their retry policy).
 *
 * Redirects are followed within the origin (scheme, host and port) of `url` only, with
 * the method, body and headers unchanged. A redirect to another origin is refused rather
 * than followed without headers: any custom header may carry a credential (`x-api-key`),
 * the identity headers name the host, and a request stripped of its token would fail there
 * with a 401 that blames the token. A 303 to a POST is never followed, since it would turn
 * a metrics or registration POST into a GET.
 */
export async function httpRequest(url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const method = options.method ?? 'GET';
  // got's timers overflow like any other: a timeout past 2^31 - 1 ms would fire after 1 ms.
  const timeout = timerDelay(options.timeout ?? DEFAULT_HTTP_TIMEOUT);
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  const shown = redactUrl(url);
  if (options.signal?.aborted) throw new HttpError('HTTP_ABORTED', shown, `${method} ${shown}: the request was aborted`);
  const got = await gotFor(method, shown);
  const redirects = sameOriginRedirects(method, url);
  const followRedirect = redirects.follow;
  const tooLarge = (): HttpError =>
    new HttpError(
      'HTTP_BODY_TOO_LARGE',
      shown,
      `${method} ${shown}: the response body exceeds the limit of ${formatBytes(maxBodySize)}; the request was aborted`,
    );
  let stream: ReturnType<Got['stream']> | undefined;
  try {
    stream = got.stream(url, {
      method,
      headers: options.headers,
      ...(options.json === undefined ? {} : { json: options.json }),
      timeout: { request: timeout },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect,
      signal: options.signal,
      ...gotTransport(options.transport),
    });
    // got may report a failure after the stream was given up (destroyed below): with no
    // listener left, that would be an uncaught 'error' event.
    stream.on('error', () => undefined);
    const response = await responseOf(stream);
    const refused = redirects.refused();
    if (refused !== undefined) {
      throw new HttpError('HTTP_STATUS', shown, `${method} ${shown}: ${refusal(method, refused)}`, refused.status);
    }
    const encoding = response.headers['content-encoding'];
    const declared = Number(response.headers['content-length']);
    // Without compression the declared length is the body's: no need to read it to know.
    if ((encoding === undefined || encoding === 'identity') && declared > maxBodySize) throw tooLarge();
    const body = await readBody(stream, maxBodySize, tooLarge);
    return { status: response.statusCode, headers: response.headers, body };
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const { code, detail } = describeFailure(err, options.signal?.aborted === true);
    const message = code === 'HTTP_TIMEOUT' ? `no complete response within ${timeout} ms` : detail;
    throw new HttpError(code, shown, `${method} ${shown}: ${message}`);
  } finally {
    // Always, success included: destroying is what removes got's listener from the
    // caller's AbortSignal. A poller passes one long-lived signal to every request, and
    // a finished stream left alone would keep one listener (and its request) per poll.
    stream?.destroy();
  }
}

/** The final response (after the redirects followed); rejects when the request fails first. */
function responseOf(stream: ReturnType<Got['stream']>): Promise<PlainResponse & { headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('error', reject);
    // Destroyed without an error, a request would otherwise never settle.
    stream.once('close', () => reject(new Error('the connection closed before a response')));
  });
}

/**
 * Collects a response body, destroying the stream (which aborts the request) the moment
 * it grows past `limit`. Reads in flowing mode: chunks arrive as they were produced, where
 * reading in paused mode would concatenate buffered chunks into copies that are garbage at
 * once and raise the peak memory of a large body.
 */
function readBody(stream: ReturnType<Got['stream']>, limit: number, tooLarge: () => HttpError): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      stream.destroy();
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) fail(tooLarge());
      else chunks.push(chunk);
    });
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      if (size <= JOIN_SLICE_BYTES) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      else joinInSlices(chunks, size).then(resolve, reject);
    });
    stream.once('error', fail);
    // Destroyed without an error (got does that on some aborts): the body is incomplete.
    stream.once('close', () => fail(new Error('the connection closed before the body ended')));
  });
}

/** The bytes of a large body copied per turn of the event loop (a few milliseconds each). */
const JOIN_SLICE_BYTES = 4 * 1024 * 1024;

/**
 * `Buffer.concat` of a large body, a few megabytes per turn of the event loop: copying
 * 50 MB into freshly mapped memory at once holds the loop for tens of milliseconds.
 */
async function joinInSlices(chunks: Buffer[], size: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let sinceYield = 0;
  for (const chunk of chunks) {
    chunk.copy(out, at);
    at += chunk.length;
    sinceYield += chunk.length;
    if (sinceYield >= JOIN_SLICE_BYTES) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return out;
}

/** Options of `getBody`. */
export interface GetBodyOptions {
  /** Request headers, e.g. `{ Authorization: token }`. */
  headers?: Record<string, string>;
  /** Milliseconds the whole request may take. Default 10 000. */
  timeout?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** The most bytes of body read, after decompression. Default `DEFAULT_MAX_BODY_SIZE`. */
  maxBodySize?: number;
  /** How to connect (agents, TLS trust). */
  transport?: HttpTransport;
}

/**
 * GETs a document (asking for JSON) and resolves with the bytes of a 2xx answer, for the
 * caller to decode and parse through `parseClientPayload`. Rejects with an `HttpError`:
 * `HTTP_STATUS` (with `status`) for any other answer, or as `httpRequest` does.
 */
export async function getBody(url: string | URL, options: GetBodyOptions = {}): Promise<Buffer> {
  const response = await httpRequest(url, {
    method: 'GET',
    headers: { accept: 'application/json', ...options.headers },
    timeout: options.timeout,
    signal: options.signal,
    maxBodySize: options.maxBodySize,
    transport: options.transport,
  });
  if (response.status < 200 || response.status > 299) {
    const shown = redactUrl(url);
    throw new HttpError('HTTP_STATUS', shown, `GET ${shown}: the server answered HTTP ${response.status}`, response.status);
  }
  return response.body;
}

/** An open response whose body is read as it arrives (a Server-Sent Events stream). */
export interface HttpStream {
  status: number;
  /** Response headers, lower-case names. */
  headers: IncomingHttpHeaders;
  /** The body as it arrives. Errors on it are already listened to; `close` ends it. */
  body: NodeJS.ReadableStream;
  /** Destroys the request and its socket (or returns it to the agent). Idempotent. */
  close(): void;
}

/**
 * Opens a GET whose body is read as it arrives, for a stream that stays open for hours.
 * `timeout` bounds only the wait for the response head (connecting, and the server's first
 * answer); how long the body may stay silent is the caller's policy. Redirects follow
 * `httpRequest`'s rule (within the origin only). Rejects only with an `HttpError`.
 */
export async function openHttpStream(url: string | URL, options: Omit<HttpRequestOptions, 'method' | 'json' | 'maxBodySize'> = {}): Promise<HttpStream> {
  // got's timers overflow like any other: a timeout past 2^31 - 1 ms would fire after 1 ms.
  const timeout = timerDelay(options.timeout ?? DEFAULT_HTTP_TIMEOUT);
  const shown = redactUrl(url);
  if (options.signal?.aborted) throw new HttpError('HTTP_ABORTED', shown, `GET ${shown}: the request was aborted`);
  const got = await gotFor('GET', shown);
  const redirects = sameOriginRedirects('GET', url);
  const followRedirect = redirects.follow;
  let stream: ReturnType<Got['stream']> | undefined;
  try {
    stream = got.stream(url, {
      method: 'GET',
      headers: options.headers,
      // Everything up to the response head; never the body, which may last for hours.
      timeout: { lookup: timeout, connect: timeout, secureConnect: timeout, send: timeout, response: timeout },
      retry: { limit: 0 },
      throwHttpErrors: false,
      decompress: true,
      followRedirect,
      signal: options.signal,
      ...gotTransport(options.transport),
    });
    stream.on('error', () => undefined);
    const response = await responseOf(stream);
    const refused = redirects.refused();
    if (refused !== undefined) throw new HttpError('HTTP_STATUS', shown, `GET ${shown}: ${refusal('GET', refused)}`, refused.status);
    const open = stream;
    return { status: response.statusCode, headers: response.headers, body: open, close: () => open.destroy() };
  } catch (err) {
    stream?.destroy();
    if (err instanceof HttpError) throw err;
    const { code, detail } = describeFailure(err, options.signal?.aborted === true);
    const message = code === 'HTTP_TIMEOUT' ? `no response within ${timeout} ms` : detail;
    throw new HttpError(code, shown, `GET ${shown}: ${message}`);
  }
}
