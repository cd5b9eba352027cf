/**
 * The Unleash client API as the client speaks it: endpoint URLs, identity headers, custom
 * headers and their precedence. Knows nothing of polling or metrics policy; it sends one
 * request and hands back the status.
 */
import { checkHeaders, type CustomHeaders, type ResolvedConfig } from './options';
import { delay, type Scheduler } from './scheduler';
import { HttpError, redactUrl, type HttpResponse, type HttpStream } from './http';
import type { Network } from './network';
import { SDK_NAME, SDK_VERSION, SPEC_VERSION } from './version';

/** Headers the user's custom headers can never replace. */
const PROTECTED = new Set(['unleash-connection-id', 'unleash-interval', 'unleash-sdk', 'if-none-match', 'content-type', 'last-event-id']);

const USER_AGENT = `switchyard/${SDK_VERSION} node/${process.versions.node}`;

/** The answer to a flags request. */
export type FeaturesResponse = (
  | { status: 200; body: Buffer; etag: string | undefined }
  | { status: number; body: Buffer; etag?: undefined }
) & {
  /** The server's `fetch-mode` response header (`streaming` asks a client to stream), if any. */
  fetchMode?: string;
};

/** Which endpoint a poll asks: `/client/features` (full bodies) or `/client/delta` (delta bodies). */
export type PollPath = 'features' | 'delta';

export class UnleashApi {
  /** `{url}/client/features` with the project, name prefix and tag filters. */
  readonly featuresUrl: string;
  /** `{url}/client/delta` with the same filters. */
  readonly deltaUrl: string;
  /** `{url}/client/streaming` with the same filters. */
  readonly streamingUrl: string;
  private readonly warned = new Set<string>();

  constructor(
    private readonly config: ResolvedConfig & { url: string },
    /** A UUID fixed for the client's lifetime. */
    readonly connectionId: string,
    private readonly scheduler: Scheduler,
    private readonly onWarning: (message: string) => void,
    /** How requests reach the server (proxy, TLS); the client owns and destroys it. */
    private readonly network: Network,
  ) {
    const query = new URLSearchParams();
    if (config.projectName !== undefined) query.set('project', config.projectName);
    if (config.namePrefix !== undefined) query.set('namePrefix', config.namePrefix);
    for (const tag of config.tags) query.append('tag', `${tag.name}:${tag.value}`);
    const search = query.toString();
    const suffix = search === '' ? '' : `?${search}`;
    this.featuresUrl = `${config.url}/client/features${suffix}`;
    this.deltaUrl = `${config.url}/client/delta${suffix}`;
    this.streamingUrl = `${config.url}/client/streaming${suffix}`;
  }

  /** The features URL as it may appear in a message (no credentials, no query). */
  get shownFeaturesUrl(): string {
    return redactUrl(this.featuresUrl);
  }

  /** An endpoint URL as it may appear in a message. */
  shownUrl(path: 'features' | 'register' | 'metrics'): string {
    return redactUrl(`${this.config.url}/client/${path}`);
  }

  /** The streaming URL as it may appear in a message. */
  get shownStreamingUrl(): string {
    return redactUrl(this.streamingUrl);
  }

  /** The URL a poll of `path` asks, as it may appear in a message. */
  shownPollUrl(path: PollPath): string {
    return redactUrl(path === 'delta' ? this.deltaUrl : this.featuresUrl);
  }

  /**
   * GETs the flags (`path` `delta`: the delta endpoint); `etag` goes out as If-None-Match.
   * Rejects only with `HttpError`.
   */
  async fetchFeatures(etag: string | undefined, signal: AbortSignal, path: PollPath = 'features'): Promise<FeaturesResponse> {
    const url = path === 'delta' ? this.deltaUrl : this.featuresUrl;
    const headers = await this.headers('GET', url, signal, {
      'unleash-interval': String(this.config.refreshInterval),
      accept: 'application/json',
      ...(etag === undefined ? {} : { 'if-none-match': etag }),
    });
    const response: HttpResponse = await this.network.request(url, {
      method: 'GET',
      headers,
      timeout: this.config.timeout,
      signal,
      maxBodySize: this.config.maxBodySize,
    });
    const mode = response.headers['fetch-mode'];
    const hint = typeof mode === 'string' && mode !== '' ? { fetchMode: mode.trim().toLowerCase() } : {};
    if (response.status === 200) {
      const tag = response.headers.etag;
      return { status: 200, body: response.body, etag: typeof tag === 'string' && tag !== '' ? tag : undefined, ...hint };
    }
    return { status: response.status, body: response.body, ...hint };
  }

  /**
   * Opens `{url}/client/streaming` (Server-Sent Events) with the identity headers and the
   * user's, `customHeadersFunction` called anew for each connection, and `Last-Event-ID`
   * when given. `timeout` bounds the wait for the response head only. Rejects only with
   * `HttpError`.
   */
  async openStream(lastEventId: string | undefined, signal: AbortSignal): Promise<HttpStream> {
    const headers = await this.headers('GET', this.streamingUrl, signal, {
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
    });
    return this.network.stream(this.streamingUrl, { headers, timeout: this.config.timeout, signal });
  }

  /** POSTs a JSON body to `{url}/client/{path}`; resolves with the status. */
  async post(path: 'register' | 'metrics', body: unknown, signal: AbortSignal | undefined, timeout = this.config.timeout): Promise<number> {
    const url = `${this.config.url}/client/${path}`;
    const extra: CustomHeaders = path === 'metrics' ? { 'unleash-interval': String(this.config.metricsInterval) } : {};
    const headers = await this.headers('POST', url, signal, extra);
    const response = await this.network.request(url, { method: 'POST', headers, json: body, timeout, signal, maxBodySize: this.config.maxBodySize });
    return response.status;
  }

  /**
   * Identity headers, then the user's (static, then from `customHeadersFunction`), then the
   * protected ones. Header names are lower-cased so a user's `Authorization` and a later
   * `authorization` do not both go out.
   */
  private async headers(method: string, url: string, signal: AbortSignal | undefined, extra: CustomHeaders): Promise<CustomHeaders> {
    const out: CustomHeaders = {
      'unleash-appname': this.config.appName,
      'unleash-instanceid': this.config.instanceId,
      'unleash-client-spec': SPEC_VERSION,
      'user-agent': USER_AGENT,
    };
    const add = (headers: CustomHeaders): void => {
      for (const [name, value] of Object.entries(headers)) {
        const lower = name.toLowerCase();
        if (!PROTECTED.has(lower)) out[lower] = value;
      }
    };
    add(this.config.customHeaders);
    if (this.config.customHeadersFunction !== undefined) add(await this.dynamicHeaders(method, url, signal));
    out['unleash-connection-id'] = this.connectionId;
    out['unleash-sdk'] = SDK_NAME;
    for (const [name, value] of Object.entries(extra)) out[name] = value;
    return out;
  }

  /** Calls `customHeadersFunction`, bounded by the request timeout, so a hung one cannot stall polling. */
  private async dynamicHeaders(method: string, url: string, signal: AbortSignal | undefined): Promise<CustomHeaders> {
    const shown = redactUrl(url);
    const fail = (message: string): HttpError => new HttpError('HTTP_NETWORK', shown, `${method} ${shown}: ${message}`);
    const timer = delay(this.scheduler, this.config.timeout, 'timeout');
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new HttpError('HTTP_ABORTED', shown, `${method} ${shown}: the request was aborted`));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([
        Promise.resolve().then(() => this.config.customHeadersFunction!()),
        timer.promise.then(() => {
          throw fail(`customHeadersFunction did not answer within ${this.config.timeout} ms`);
        }),
        aborted,
      ]);
      const warnings: string[] = [];
      const headers = checkHeaders('customHeadersFunction', result, warnings);
      for (const w of warnings) this.warnOnce(w);
      return headers;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const reason = err instanceof Error ? `${err.name}: ${err.message.slice(0, 120)}` : typeof err;
      throw fail(`customHeadersFunction failed (${reason}); the request was not sent`);
    } finally {
      timer.cancel();
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      aborted.catch(() => undefined);
    }
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message) || this.warned.size > 100) return;
    this.warned.add(message);
    this.onWarning(message);
  }
}
