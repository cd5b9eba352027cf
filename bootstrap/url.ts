/**
 * Bootstrap from a URL: typically a client-API body published next to the service (an
 * object store, a CDN, an Unleash Edge), fetched once at start-up. The request goes
 * through `lib/http`, which loads the ESM-only got lazily and keeps headers out of errors.
 */
import { getJson, HttpError, redactUrl } from '../lib/http';
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
 * `PAYLOAD_NOT_JSON` or `PAYLOAD_INVALID`. Redirects are followed; nothing is retried.
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

  const warnings: string[] = [];
  const http = checkHttpOptions('httpOptions', options.httpOptions, warnings);
  if (http.problem !== undefined) throw new TypeError(`bootstrapFromUrl: ${http.problem}`);
  const network = new Network(target, http.options, process.env, warnings);
  for (const warning of warnings) process.emitWarning(`bootstrapFromUrl: ${warning}`);

  let body: unknown;
  try {
    body = await getJson(target, { headers: options.headers, timeout, transport: await network.transport('GET', source) });
  } catch (caught) {
    const err = network.explain(caught, target);
    if (!(err instanceof HttpError)) throw err;
    // HttpError messages and fields hold no header or body, so it is safe as the cause.
    switch (err.code) {
      case 'HTTP_STATUS':
        throw new BootstrapError('HTTP_STATUS', source, network.refusal(err.status, target) ?? `the server answered HTTP ${err.status}`, {
          status: err.status,
          cause: err,
        });
      case 'PAYLOAD_NOT_JSON':
        throw new BootstrapError('PAYLOAD_NOT_JSON', source, 'the body is not valid JSON', { cause: err });
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
  // getJson has parsed the body already. A JSON string is a string value, not text to
  // parse a second time (that would accept a body that is JSON encoded twice).
  return parseBootstrapBody(typeof body === 'string' ? JSON.stringify(body) : body, source);
}
