/**
 * How requests reach a server: directly, through a proxy (from `HTTP_PROXY`, `HTTPS_PROXY`,
 * `NO_PROXY` or the `httpOptions.proxy` option), or through agents the user brings, with
 * the TLS trust the user asks for. `lib/http` sends; this module only decides how.
 *
 * The proxy is decided once per `Network` (a client, one `bootstrapFromUrl` call, one CLI
 * run) for the host it talks to. Its agents are created on the first request and then
 * reused, so tunnels through the proxy are kept alive between polls, and `destroy()` closes
 * them. The agent package is ESM-only: like got, it is loaded with a dynamic `import()`,
 * so the CommonJS build still loads, and a client without a proxy never loads it.
 */
import type { Agent } from 'node:http';
import { rootCertificates } from 'node:tls';
import { getProxyForUrl } from 'proxy-from-env';
import { HttpError, httpRequest, openHttpStream, redactUrl, type HttpRequestOptions, type HttpResponse, type HttpStream, type HttpTransport } from './http';

/**
 * How switchyard's requests reach the server: a proxy, extra trusted certificates, TLS
 * verification, or agents of your own. Without it, `HTTP_PROXY`, `HTTPS_PROXY`,
 * `ALL_PROXY` and `NO_PROXY` (lower-case names first) decide the proxy, as curl does.
 *
 * ```ts
 * new UnleashClient({ url, appName, httpOptions: { proxy: 'http://proxy.corp:3128', ca: corporateRootPem } });
 * ```
 *
 * @group Client
 */
export interface HttpOptions {
  /**
   * The proxy every request goes through, as an `http://` or `https://` URL; credentials
   * in it (`http://user:password@proxy.corp:3128`) are sent to the proxy as Basic
   * authentication and never appear in a message. A URL here wins over the environment
   * variables, `NO_PROXY` included. `false` connects directly, whatever the environment
   * says. Default: decided by the environment variables, once, when the client is created
   * (or `bootstrapFromUrl` is called), for the host of its URL.
   *
   * Requests go through a `CONNECT` tunnel to the server, for `http://` and `https://`
   * servers alike (so the proxy must allow CONNECT to the server's port); an `https://`
   * request is never seen in clear by the proxy.
   */
  proxy?: string | false;
  /**
   * Extra certificate authorities (PEM) to trust for the server's certificate and an
   * `https://` proxy's, in addition to Node's built-in roots, e.g. a corporate root that a
   * TLS-inspecting proxy signs with. (Certificates from `NODE_EXTRA_CA_CERTS` are not added
   * again once this is set: include them here.) Default: Node's trust (built-in roots and
   * `NODE_EXTRA_CA_CERTS`).
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Whether a server (or `https://` proxy) whose certificate cannot be verified is refused.
   * Default `true`. `false` accepts any certificate, and so anyone on the path: for a test
   * setup, never for production.
   */
  rejectUnauthorized?: boolean;
  /**
   * Agents of your own, per protocol of the URL requested. An agent given for a protocol
   * carries every request of that protocol: `proxy` and the environment variables are not
   * consulted for it (`ca` and `rejectUnauthorized` still apply). switchyard never
   * destroys your agents. Default: Node's global agents, or proxy agents when a proxy is
   * in use.
   */
  agent?: {
    /** Carries requests to `http://` URLs. */
    http?: Agent;
    /** Carries requests to `https://` URLs (an `https.Agent`, or one that does TLS itself). */
    https?: Agent;
  };
}

/** Environment variables, as `process.env` holds them. */
export type Env = Record<string, string | undefined>;

/** What `checkHttpOptions` made of an `httpOptions` value. */
export interface CheckedHttpOptions {
  options: HttpOptions;
  /** Set when `proxy` is unusable: the caller throws its own error with this text. */
  problem?: string;
}

type Scheme = 'http:' | 'https:';

const isAgent = (value: unknown): value is Agent =>
  value !== null && typeof value === 'object' && typeof (value as { addRequest?: unknown }).addRequest === 'function';

function proxyUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** A proxy URL as it may appear in a message: without its credentials. */
function shownProxy(url: URL): string {
  return url.origin;
}

/**
 * Checks an `httpOptions` value (`option` names it in messages). Unusable `ca`,
 * `rejectUnauthorized` or `agent` values are dropped with a warning; an unusable `proxy`
 * is a `problem`, since going around a proxy the user asked for is worse than not starting.
 */
export function checkHttpOptions(option: string, value: unknown, warnings: string[]): CheckedHttpOptions {
  const options: HttpOptions = {};
  if (value === undefined || value === null) return { options };
  if (typeof value !== 'object' || Array.isArray(value)) {
    warnings.push(`${option} must be an object ({ proxy, ca, rejectUnauthorized, agent }); it was ignored`);
    return { options };
  }
  const given = value as Record<string, unknown>;
  let problem: string | undefined;
  if (given.proxy === false) options.proxy = false;
  else if (typeof given.proxy === 'string' && proxyUrl(given.proxy) !== undefined) options.proxy = given.proxy;
  else if (given.proxy !== undefined && given.proxy !== null) {
    // Never echo the value: a proxy URL often carries a password.
    problem = `"${option}.proxy" must be an http:// or https:// URL (e.g. http://proxy.example.com:3128), or false`;
  }
  if (given.ca !== undefined && given.ca !== null) {
    const list = Array.isArray(given.ca) ? given.ca : [given.ca];
    const ca = list.filter((c): c is string | Buffer => (typeof c === 'string' && c.trim() !== '') || Buffer.isBuffer(c));
    if (ca.length < list.length || ca.length === 0) {
      warnings.push(`${option}.ca must be PEM certificates (a string, a Buffer, or an array of them); the other values were ignored`);
    }
    if (ca.length > 0) options.ca = ca;
  }
  if (given.rejectUnauthorized !== undefined && given.rejectUnauthorized !== null) {
    if (typeof given.rejectUnauthorized === 'boolean') options.rejectUnauthorized = given.rejectUnauthorized;
    else warnings.push(`${option}.rejectUnauthorized must be a boolean; using the default true`);
  }
  if (given.agent !== undefined && given.agent !== null) {
    const agent = given.agent as Record<string, unknown>;
    if (typeof agent !== 'object' || isAgent(agent)) {
      warnings.push(`${option}.agent must be { http?: Agent, https?: Agent }, one agent per protocol; it was ignored`);
    } else {
      const agents: { http?: Agent; https?: Agent } = {};
      for (const scheme of ['http', 'https'] as const) {
        if (isAgent(agent[scheme])) agents[scheme] = agent[scheme];
        else if (agent[scheme] !== undefined && agent[scheme] !== null) warnings.push(`${option}.agent.${scheme} is not an http.Agent; it was ignored`);
      }
      if (agents.http !== undefined || agents.https !== undefined) options.agent = agents;
    }
  }
  return problem === undefined ? { options } : { options, problem };
}

/**
 * Reads the proxy for `target` from `env` with proxy-from-env's rules: `<scheme>_proxy`,
 * then `all_proxy`, lower-case names before upper-case ones, none when `no_proxy` matches
 * the host (and port, if the entry has one), `*` matching everything.
 */
export function proxyFromEnv(target: URL, env: Env): string {
  if (env === process.env) return getProxyForUrl(target);
  // proxy-from-env reads process.env and takes no other source, while the CLI and tests
  // hand over an env object of their own. Swapping the object (never a variable of the
  // real environment) for one synchronous call keeps the rules in one package.
  const real = process.env;
  process.env = env as NodeJS.ProcessEnv;
  try {
    return getProxyForUrl(target);
  } finally {
    process.env = real;
  }
}

/**
 * The proxy for each protocol a request to `target` may use (a redirect can change it),
 * decided for the target's host: the `proxy` option, else the environment variables.
 */
function decideProxies(target: URL, options: HttpOptions, env: Env, warnings: string[]): Record<Scheme, URL | undefined> {
  const decide = (scheme: Scheme): URL | undefined => {
    if (options.agent?.[scheme === 'http:' ? 'http' : 'https'] !== undefined || options.proxy === false) return undefined;
    if (typeof options.proxy === 'string') return proxyUrl(options.proxy);
    const url = new URL(target.href);
    if (url.protocol !== scheme) {
      url.protocol = scheme;
      url.port = '';
    }
    const found = proxyFromEnv(url, env);
    if (found === '') return undefined;
    const proxy = proxyUrl(found);
    if (proxy === undefined) {
      const name = scheme === 'http:' ? 'HTTP_PROXY' : 'HTTPS_PROXY';
      warnings.push(`the ${name} (or ALL_PROXY) environment variable is not an http:// or https:// proxy URL; connecting without a proxy`);
    }
    return proxy;
  };
  return { 'http:': decide('http:'), 'https:': decide('https:') };
}

let agentModule: Promise<typeof import('https-proxy-agent')> | undefined;

/** Loads the proxy agent once. A failed load is not cached, so a later request can try again. */
function loadAgentModule(): Promise<typeof import('https-proxy-agent')> {
  agentModule ??= import('https-proxy-agent').catch((err: unknown) => {
    agentModule = undefined;
    throw err;
  });
  return agentModule;
}

/**
 * One way to reach one server: the proxy decided for its host, the agents that go through
 * it, and the TLS options. Owns the proxy agents it creates, never the user's.
 */
export class Network {
  private readonly proxies: Record<Scheme, URL | undefined>;
  private readonly ca: Array<string | Buffer> | undefined;
  private transportPromise: Promise<HttpTransport> | undefined;
  private readonly created: Agent[] = [];
  private destroyed = false;

  /**
   * Decides the proxy for `target` now (from `env` unless `options.proxy` says otherwise).
   * A problem that does not stop requests (an environment variable that is not a proxy
   * URL) is pushed onto `warnings`.
   */
  constructor(
    target: URL,
    private readonly options: HttpOptions = {},
    env: Env = process.env,
    warnings: string[] = [],
  ) {
    this.proxies = decideProxies(target, options, env, warnings);
    // Node replaces its trusted roots with `ca`; users add a corporate root, they do not
    // mean to distrust every public one.
    this.ca = options.ca === undefined ? undefined : [...rootCertificates, ...[options.ca].flat()];
  }

  /** The proxy used for requests to `url`, without credentials; `undefined` when none. */
  proxyFor(url: string | URL): string | undefined {
    const proxy = this.proxies[new URL(url).protocol as Scheme];
    return proxy === undefined ? undefined : shownProxy(proxy);
  }

  /**
   * Agents and TLS options for `lib/http`. The first call creates the proxy agents (loading
   * their package); later calls reuse them. Rejects only with an `HttpError`.
   */
  transport(method: string, shownUrl: string): Promise<HttpTransport> {
    if (this.destroyed) return Promise.reject(new HttpError('HTTP_ABORTED', shownUrl, `${method} ${shownUrl}: the client was destroyed`));
    this.transportPromise ??= this.createTransport(method, shownUrl).catch((err: unknown) => {
      this.transportPromise = undefined;
      throw err instanceof HttpError
        ? err
        : new HttpError('HTTP_NETWORK', shownUrl, `${method} ${shownUrl}: the proxy agents could not be loaded (${(err as Error)?.message})`);
    });
    return this.transportPromise;
  }

  /**
   * Sends a request the way this network says (`lib/http`'s `httpRequest` plus agents and
   * TLS). A proxy's 407 and a failure to reach the proxy come back as an `HttpError` that
   * names the proxy; other statuses resolve like `httpRequest`'s.
   */
  async request(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    const method = options.method ?? 'GET';
    const shown = redactUrl(url);
    const transport = await this.transport(method, shown);
    let response: HttpResponse;
    try {
      response = await httpRequest(url, { ...options, transport });
    } catch (err) {
      throw this.explain(err, url, method);
    }
    const refused = this.refusal(response.status, url);
    if (refused !== undefined) throw new HttpError('HTTP_STATUS', shown, `${method} ${shown}: ${refused}`, 407);
    return response;
  }

  /**
   * Opens a long-lived GET (a Server-Sent Events stream) the way this network says: the
   * same proxy, agents and TLS trust as every other request. A proxy's 407 and a failure to
   * reach the proxy come back as an `HttpError` that names the proxy.
   */
  async stream(url: string, options: Omit<HttpRequestOptions, 'method' | 'json' | 'maxBodySize'> = {}): Promise<HttpStream> {
    const shown = redactUrl(url);
    const transport = await this.transport('GET', shown);
    let stream: HttpStream;
    try {
      stream = await openHttpStream(url, { ...options, transport });
    } catch (err) {
      throw this.explain(err, url, 'GET');
    }
    const refused = this.refusal(stream.status, url);
    if (refused !== undefined) {
      stream.close();
      throw new HttpError('HTTP_STATUS', shown, `GET ${shown}: ${refused}`, 407);
    }
    return stream;
  }

  /**
   * What a 407 answer to a request for `url` means when it came from the proxy (a text to
   * put after `METHOD url: `); `undefined` for any other status, or without a proxy.
   */
  refusal(status: number | undefined, url: string | URL): string | undefined {
    const proxy = this.proxyFor(url);
    if (status !== 407 || proxy === undefined) return undefined;
    return (
      `the proxy ${proxy} answered 407 Proxy Authentication Required: it wants credentials ` +
      '(give them in the proxy URL, http://user:password@host:port)'
    );
  }

  /**
   * `err` (from a request for `url`) rewritten to point at the proxy when it may be the
   * cause: a 407 says the proxy wants credentials, a failed connection or a timeout names
   * the proxy. Anything else, or any error without a proxy, is returned unchanged.
   */
  explain(err: unknown, url: string | URL, method = 'GET'): unknown {
    const proxy = this.proxyFor(url);
    if (!(err instanceof HttpError) || proxy === undefined) return err;
    const refused = this.refusal(err.status, url);
    if (err.code === 'HTTP_STATUS' && refused !== undefined) return new HttpError('HTTP_STATUS', err.url, `${method} ${err.url}: ${refused}`, 407);
    if (err.code !== 'HTTP_NETWORK' && err.code !== 'HTTP_TIMEOUT') return err;
    return new HttpError(err.code, err.url, `${err.message} (through the proxy ${proxy})`, err.status);
  }

  /** Closes the proxy agents' connections (never the user's agents). Idempotent. */
  destroy(): void {
    this.destroyed = true;
    for (const agent of this.created.splice(0)) agent.destroy();
  }

  private async createTransport(method: string, shownUrl: string): Promise<HttpTransport> {
    const { rejectUnauthorized } = this.options;
    const tls = {
      ...(this.ca === undefined ? {} : { ca: this.ca }),
      ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
    };
    const agent: { http?: Agent; https?: Agent } = { ...this.options.agent };
    const httpProxy = this.proxies['http:'];
    const httpsProxy = this.proxies['https:'];
    if (httpProxy !== undefined || httpsProxy !== undefined) {
      const { HttpsProxyAgent } = await loadAgentModule();
      if (this.destroyed) throw new HttpError('HTTP_ABORTED', shownUrl, `${method} ${shownUrl}: the client was destroyed`);
      // Both protocols go through a CONNECT tunnel: the request inside is an ordinary one,
      // and a 407 comes back as a response (its socket never carries our headers). The
      // absolute-URI agent (http-proxy-agent) rewrites the request head after got has
      // written a POST body, and then sends the head twice.
      // keepAlive: a poll every few seconds reuses its tunnel instead of opening one (and a
      // TLS handshake) each time. The TLS options apply to an https proxy's certificate too.
      const agentOptions = { keepAlive: true, ...tls };
      if (httpProxy !== undefined) agent.http = this.own(new HttpsProxyAgent(httpProxy, agentOptions));
      if (httpsProxy !== undefined) agent.https = this.own(new HttpsProxyAgent(httpsProxy, agentOptions));
    }
    return {
      ...(agent.http === undefined && agent.https === undefined ? {} : { agent }),
      ...tls,
    };
  }

  private own<T extends Agent>(agent: T): T {
    this.created.push(agent);
    return agent;
  }
}
