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
 */
import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { Agents, Got } from 'got';
import { SwitchyardError, type SwitchyardErrorCode } from './errors';

/**
 * The codes an `HttpError` carries (see `SwitchyardErrorCode`): `HTTP_TIMEOUT`,
 * `HTTP_NETWORK`, `HTTP_ABORTED`, `HTTP_STATUS` (with `status`), and `PAYLOAD_NOT_JSON` or
 * `PAYLOAD_INVALID` for a 2xx answer whose body cannot be used.
 *
 * @group Errors
 */
export type HttpErrorCode = Extract<
  SwitchyardErrorCode,
  'HTTP_TIMEOUT' | 'HTTP_NETWORK' | 'HTTP_ABORTED' | 'HTTP_STATUS' | 'PAYLOAD_NOT_JSON' | 'PAYLOAD_INVALID'
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

/** A response of any status. */
export interface HttpResponse {
  status: number;
  /** Response headers, lower-case names. */
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The request timeout used when none is given, in milliseconds. */
export const DEFAULT_HTTP_TIMEOUT = 10_000;

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

/** The URL as it may appear in a message: no credentials, no query, no fragment. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'an invalid URL';
  }
}

function describeFailure(err: unknown, aborted: boolean): { code: HttpErrorCode; detail: string } {
  const name = (err as { name?: unknown })?.name;
  const code = (err as { code?: unknown })?.code;
  if (aborted || name === 'AbortError') return { code: 'HTTP_ABORTED', detail: 'the request was aborted' };
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return { code: 'HTTP_TIMEOUT', detail: '' };
  // A Node error code (ECONNREFUSED, ECONNRESET, ...) says what happened without quoting
  // anything the request carried.
  const what = typeof code === 'string' && code !== 'ERR_GOT_REQUEST_ERROR' ? code : typeof name === 'string' ? name : 'error';
  return { code: 'HTTP_NETWORK', detail: `the connection failed (${what})` };
}

/**
 * Sends one request and resolves with the response, whatever its status. Rejects only
 * with an `HttpError` (`HTTP_TIMEOUT`, `HTTP_NETWORK` or `HTTP_ABORTED`). Redirects are followed;
 * nothing is retried (callers own their retry policy).
 */
export async function httpRequest(url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const method = options.method ?? 'GET';
  const timeout = options.timeout ?? DEFAULT_HTTP_TIMEOUT;
  const shown = redactUrl(url);
  if (options.signal?.aborted) throw new HttpError('HTTP_ABORTED', shown, `${method} ${shown}: the request was aborted`);
  let got: Got;
  try {
    got = await loadGot();
  } catch (err) {
    throw new HttpError('HTTP_NETWORK', shown, `${method} ${shown}: the HTTP client could not be loaded (${(err as Error)?.message})`);
  }
  try {
    const response = await got(url, {
      method,
      headers: options.headers,
      ...(options.json === undefined ? {} : { json: options.json }),
      timeout: { request: timeout },
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'buffer',
      signal: options.signal,
      ...gotTransport(options.transport),
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  } catch (err) {
    const { code, detail } = describeFailure(err, options.signal?.aborted === true);
    const message = code === 'HTTP_TIMEOUT' ? `no complete response within ${timeout} ms` : detail;
    throw new HttpError(code, shown, `${method} ${shown}: ${message}`);
  }
}

/** A transport in got's options: an agent per protocol, TLS under `https`. */
function gotTransport({ agent = {}, ca, rejectUnauthorized }: HttpTransport = {}): { agent: Agents; https: { certificateAuthority?: Array<string | Buffer>; rejectUnauthorized?: boolean } } {
  return { agent: agent as Agents, https: { certificateAuthority: ca, rejectUnauthorized } };
}

/** Options of `getJson`. */
export interface GetJsonOptions {
  /** Request headers, e.g. `{ Authorization: token }`. */
  headers?: Record<string, string>;
  /** Milliseconds the whole request may take. Default 10 000. */
  timeout?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** How to connect (agents, TLS trust). */
  transport?: HttpTransport;
}

/**
 * GETs a JSON document. Resolves with the parsed (unvalidated) value of a 2xx response;
 * rejects with an `HttpError`: `HTTP_STATUS` (with `status`) for any other answer,
 * `PAYLOAD_NOT_JSON`, `HTTP_TIMEOUT`, `HTTP_NETWORK` or `HTTP_ABORTED`.
 */
export async function getJson(url: string | URL, options: GetJsonOptions = {}): Promise<unknown> {
  const response = await httpRequest(url, {
    method: 'GET',
    headers: { accept: 'application/json', ...options.headers },
    timeout: options.timeout,
    signal: options.signal,
    transport: options.transport,
  });
  const shown = redactUrl(url);
  if (response.status < 200 || response.status > 299) {
    throw new HttpError('HTTP_STATUS', shown, `GET ${shown}: the server answered HTTP ${response.status}`, response.status);
  }
  let text = response.body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse quotes the text in its message; the body may hold customer data.
    throw new HttpError('PAYLOAD_NOT_JSON', shown, `GET ${shown}: the body is not valid JSON (${text.length} characters)`);
  }
}
