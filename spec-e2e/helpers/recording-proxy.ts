/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of the real server. It records every
 * exchange (request headers, status, response body), so a test can see what the real
 * server answered our client (200 or 304, inlined or top-level segments), and it can
 * rewrite request headers (e.g. drop `Unleash-Client-Spec`) to make the server answer as
 * it does for older clients. Bodies are forwarded unchanged.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  method: string;
  /** Path and query as the client sent them. */
  path: string;
  requestHeaders: IncomingHttpHeaders;
  /** The request body as text (empty for GET). */
  requestBody: string;
  status: number;
  responseHeaders: IncomingHttpHeaders;
  /** The response body as text (the proxy asks the server for an uncompressed body). */
  body: string;
  /** When the request arrived (ms since the epoch). */
  at: number;
}

export interface ProxyOptions {
  /** Changes the headers forwarded to the server (not what is recorded). */
  rewriteRequestHeaders?: (headers: OutgoingHttpHeaders) => void;
}

export class RecordingProxy {
  readonly exchanges: Exchange[] = [];
  /** Base URL of the proxy, ending in `/api` like the server's; set once listening. */
  url = '';
  private readonly httpServer: http.Server;
  private readonly target: URL;

  private constructor(
    origin: string,
    private readonly options: ProxyOptions,
  ) {
    this.target = new URL(origin);
    this.httpServer = http.createServer((req, res) => this.forward(req, res));
  }

  /** Starts a proxy for `origin` (e.g. http://127.0.0.1:4242) on a random loopback port. */
  static async start(origin: string, options: ProxyOptions = {}): Promise<RecordingProxy> {
    const proxy = new RecordingProxy(origin, options);
    await new Promise<void>((resolve) => proxy.httpServer.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(proxy.httpServer.address() as AddressInfo).port}/api`;
    return proxy;
  }

  /** Exchanges for `GET /api/client/features`. */
  featureFetches(): Exchange[] {
    return this.exchanges.filter((e) => e.method === 'GET' && e.path.startsWith('/api/client/features'));
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    this.httpServer.closeAllConnections();
    await new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const at = Date.now();
    const chunks: Buffer[] = [];
    const record = (status: number, responseHeaders: IncomingHttpHeaders, body: string): void => {
      this.exchanges.push({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        requestHeaders: req.headers,
        requestBody: Buffer.concat(chunks).toString('utf8'),
        status,
        responseHeaders,
        body,
        at,
      });
    };
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: OutgoingHttpHeaders = { ...req.headers, host: this.target.host };
      delete headers['accept-encoding'];
      this.options.rewriteRequestHeaders?.(headers);
      const upstream = http.request(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers },
        (upRes) => {
          const body: Buffer[] = [];
          upRes.on('data', (chunk: Buffer) => body.push(chunk));
          upRes.on('end', () => {
            const buffer = Buffer.concat(body);
            record(upRes.statusCode ?? 0, upRes.headers, buffer.toString('utf8'));
            const outHeaders = { ...upRes.headers };
            delete outHeaders['transfer-encoding'];
            outHeaders['content-length'] = String(buffer.length);
            res.writeHead(upRes.statusCode ?? 502, outHeaders);
            res.end(buffer);
          });
        },
      );
      upstream.on('error', (err) => {
        record(502, {}, err.message);
        res.writeHead(502).end();
      });
      upstream.end(Buffer.concat(chunks));
    });
  }
}
