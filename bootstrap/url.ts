/**
 * Bootstrap from a URL: typically a client-API body published next to the service (an
 * object store, a CDN, an Unleash Edge), fetched once at start-up. The request goes
 * through `lib/http`, which loads the ESM-only got lazily and keeps headers out of errors.
 */
import { DEFAULT_MAX_BODY_SIZE, formatBytes, getBody, HttpError, MAX_BODY_SIZE_CEILING, redactUrl } from '../lib/http';
import { checkHttpOptions, Network, type HttpOptions } from '../lib/network';
import { BootstrapError, parseBootstrapBody, type BootstrapResult } from './dict';

/**
 * Options for `bootstrapFromUrl`.
 *
 * @group Caches & bootstrap
 */
export interface BootstrapUrlOptions {
  /** Extra request headers, e.g. `{ Authorization: token }`. Never echoed in errors. */
  headers?: Record<string, string>;
  /** How long the whole request may take, in milliseconds. Default 10 000. */
  timeout?: number;
  /**
   * The most bytes of body read, counted after decompression; a larger body aborts the
   * request with `HTTP_BODY_TOO_LARGE`. Default 40 MiB, at most 512 MiB.
   */
  maxBodySize?: number;
  /**
   * Proxy, TLS trust and agents for the request, as for the client's `httpOptions`.
   * Default: a proxy only when `HTTP_PROXY`/`HTTPS_PROXY` (minus `NO_PROXY`) ask for one,
   * read when `bootstrapFromUrl` is called.
   */
  httpOptions?: HttpOptions;
}

/** The default request timeout, in milliseconds. */
export const DEFAULT_BOOTSTRAP_TIMEOUT = 10_000;

/**
 * Fetches and validates a bootstrap body. Throws `BootstrapError` with code
 * `URL_INVALID`, `HTTP_STATUS` (with `status`), `HTTP_TIMEOUT`, `HTTP_NETWORK`,
 * `HTTP_BODY_TOO_LARGE`, `PAYLOAD_NOT_JSON` or `PAYLOAD_INVALID`. Redirects are followed
 * within the URL's origin only; nothing is retried.
 */
export async function loadBootstrapUrl(url: string | URL, options: BootstrapUrlOptions = {}): Promise<BootstrapResult> {
  let target: URL;
  try {
    target = new URL(String(url));
  } catch {
    // The string may be a token pasted into the wrong option: do not echo it.
    throw new BootstrapError('URL_INVALID', 'a URL', 'the URL is not a valid absolute URL');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    // `scheme:rest` parses as a URL, and an Unleash token looks just like one.
    throw new BootstrapError('URL_INVALID', 'a URL', 'only http and https URLs are supported');
  }
  // No credentials, no query: tokens hide there.
  const source = redactUrl(target);
  const timeout = options.timeout ?? DEFAULT_BOOTSTRAP_TIMEOUT;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new RangeError('bootstrapFromUrl: "timeout" must be a positive number of milliseconds');
  }
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  if (typeof maxBodySize !== 'number' || !Number.isInteger(maxBodySize) || maxBodySize <= 0 || maxBodySize > MAX_BODY_SIZE_CEILING) {
    throw new RangeError(`bootstrapFromUrl: "maxBodySize" must be a whole number of bytes from 1 to ${MAX_BODY_SIZE_CEILING}`);
  }

  const warnings: string[] = [];
  const http = checkHttpOptions('httpOptions', options.httpOptions, warnings);
  if (http.problem !== undefined) throw new TypeError(`bootstrapFromUrl: ${http.problem}`);
  const network = new Network(target, http.options, process.env, warnings);
  for (const warning of warnings) process.emitWarning(`bootstrapFromUrl: ${warning}`);

  let body: Buffer;
  try {
    body = await getBody(target, { headers: options.headers, timeout, maxBodySize, transport: await network.transport('GET', source) });
  } catch (caught) {
    const err = network.explain(caught, target);
    if (!(err instanceof HttpError)) throw err;
    // HttpError messages and fields hold no header or body, so it is safe as the cause.
    switch (err.code) {
      case 'HTTP_STATUS': {
        // A redirect that was not followed says where it pointed and why.
        const redirected = err.status !== undefined && err.status >= 300 && err.status <= 399;
        const why = network.refusal(err.status, target) ?? (redirected ? `the request failed: ${err.message}` : `the server answered HTTP ${err.status}`);
        throw new BootstrapError('HTTP_STATUS', source, why, {
          status: err.status,
          cause: err,
        });
      }
      case 'HTTP_BODY_TOO_LARGE':
        throw new BootstrapError('HTTP_BODY_TOO_LARGE', source, `the body exceeds maxBodySize (${formatBytes(maxBodySize)}); the request was aborted`, {
          cause: err,
        });
      case 'HTTP_TIMEOUT':
        throw new BootstrapError('HTTP_TIMEOUT', source, `no complete response within ${timeout} ms`, { cause: err });
      default:
        // HTTP_ABORTED cannot happen (no signal is passed): anything else is the network's.
        throw new BootstrapError('HTTP_NETWORK', source, `the request failed: ${err.message}`, { cause: err });
    }
  } finally {
    // One request: nothing is left to keep the proxy connection alive for.
    network.destroy();
  }
  // The bytes go through the same decoding and parser as every other source.
  return parseBootstrapBody(body, source);
}
