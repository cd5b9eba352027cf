/**
 * A real HTTP server on 127.0.0.1 (random port) for client tests. It records every request
 * and answers from a per-route queue of replies, falling back to a per-route default. A
 * reply can be any status and body, a dropped connection, or a response held open until
 * the test releases it: slow servers are simulated without sleeping.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** One request the server received, with its whole body. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** Path only. */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names, as Node parses them. */
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON (throws if it is not). */
  json(): unknown;
}

/** How the server answers one request. */
export type Reply =
  | {
      status?: number;
      /** A string or Buffer is sent as is; anything else as JSON. */
      body?: unknown;
      headers?: Record<string, string>;
    }
  /** Destroy the connection without answering. */
  | { drop: true }
  /** Hold the request open until `answerHeld` or `dropHeld` (or `close`). */
  | { hold: true }
  /** Full control. */
  | ((request: RecordedRequest, res: ServerResponse) => void);

type Handler = (request: RecordedRequest, res: ServerResponse) => void;

interface Waiter {
  key: string;
  count: number;
  resolve: (request: RecordedRequest) => void;
}

function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** The answer for a client-API GET: 304 when the ETag matches, else the body. */
export function featuresHandler(body: unknown, etag?: string): Handler {
  return (request, res) => {
    if (etag !== undefined && request.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', ...(etag === undefined ? {} : { etag }) });
    res.end(JSON.stringify(body));
  };
}

/** What a streamed reply reports once the client hung up or the body ended. */
export interface StreamEnd {
  /** Bytes handed to the socket (compressed, for a gzip reply). */
  written: number;
  /** Whether the whole body was sent (false: the client went away first). */
  complete: boolean;
}

/**
 * A gzip bomb: `inflated` bytes of zeros (GBs if asked), compressed as they are sent, so
 * neither side of the server ever holds the body. Backpressure paces it to what the client
 * reads. `onEnd` hears how it ended.
 */
export function gzipBomb(inflated: number, onEnd: (end: StreamEnd) => void = () => undefined): Handler {
  return (_request, res) => {
    const block = Buffer.alloc(1024 * 1024);
    let left = inflated;
    const zeros = new Readable({
      read() {
        if (left <= 0) {
          this.push(null);
          return;
        }
        const n = Math.min(left, block.length);
        left -= n;
        this.push(n === block.length ? block : block.subarray(0, n));
      },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const gzip = createGzip({ level: 1 });
    let written = 0;
    gzip.on('data', (chunk: Buffer) => (written += chunk.length));
    pipeline(zeros, gzip, res).then(
      () => onEnd({ written, complete: true }),
      () => onEnd({ written, complete: false }),
    );
  };
}

/** An endless chunked body of JSON whitespace, written as fast as the client reads it. */
export function endlessBody(onEnd: (end: StreamEnd) => void = () => undefined): Handler {
  return (_request, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = (): void => {
      while (!res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return;
      }
    };
    res.on('drain', pump);
    res.on('close', () => onEnd({ written, complete: false }));
    pump();
  };
}

export class TestServer {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  private readonly queues = new Map<string, Reply[]>();
  private readonly defaults = new Map<string, Reply>();
  private readonly held: ServerResponse[] = [];
  private waiters: Waiter[] = [];

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>` (`https://` with `tls`) */
    readonly origin: string,
  ) {}

  /**
   * Starts a server on 127.0.0.1 with a random port; an HTTPS one with `tls` (a key and
   * certificate). Defaults: metrics and register answer 202.
   */
  static async start(options: { tls?: { key: string; cert: string } } = {}): Promise<TestServer> {
    let self: TestServer | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => self!.handle(req, res);
    const server: Server = options.tls === undefined ? createServer(handler) : createTlsServer(options.tls, handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new TestServer(server, `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`);
    self.setDefault('POST', '/api/client/metrics', { status: 202 });
    self.setDefault('POST', '/api/client/register', { status: 202 });
    return self;
  }

  /** The Unleash API base URL clients are configured with: `<origin>/api`. */
  get url(): string {
    return `${this.origin}/api`;
  }

  /** Requests received on `path`, optionally only those with `method`. */
  requestsTo(path: string, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path && (method === undefined || r.method === method.toUpperCase()));
  }

  /** Queues replies for the next requests on a route, used once each, in order. */
  reply(method: string, path: string, ...replies: Reply[]): this {
    const key = routeKey(method, path);
    const queue = this.queues.get(key) ?? [];
    queue.push(...replies);
    this.queues.set(key, queue);
    return this;
  }

  /** The reply used on a route when its queue is empty. */
  setDefault(method: string, path: string, reply: Reply): this {
    this.defaults.set(routeKey(method, path), reply);
    return this;
  }

  /** Serves `body` on GET /api/client/features, with `etag` and 304 on a matching If-None-Match. */
  serveFeatures(body: unknown, etag?: string): this {
    return this.setDefault('GET', '/api/client/features', featuresHandler(body, etag));
  }

  /**
   * Resolves with the `count`-th request (1-based, counted from the server's start) on a
   * route, once it has been received in full.
   */
  waitForRequest(method: string, path: string, count = 1): Promise<RecordedRequest> {
    const key = routeKey(method, path);
    const seen = this.requests.filter((r) => routeKey(r.method, r.path) === key);
    if (seen.length >= count) return Promise.resolve(seen[count - 1]!);
    return new Promise((resolve) => this.waiters.push({ key, count, resolve }));
  }

  /** Answers every held request with `reply` (status and body). */
  answerHeld(reply: { status?: number; body?: unknown; headers?: Record<string, string> } = {}): void {
    for (const res of this.held.splice(0)) this.send(res, reply);
  }

  /** Drops the connection of every held request. */
  dropHeld(): void {
    for (const res of this.held.splice(0)) res.socket?.destroy();
  }

  /** Stops the server and cuts every open connection. */
  async close(): Promise<void> {
    this.dropHeld();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', this.origin);
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        json: () => JSON.parse(body),
      };
      this.requests.push(recorded);
      const key = routeKey(recorded.method, recorded.path);
      const reply = this.queues.get(key)?.shift() ?? this.defaults.get(key) ?? { status: 404, body: 'not found' };
      this.answer(recorded, res, reply);
      this.notify(key);
    });
  }

  private answer(request: RecordedRequest, res: ServerResponse, reply: Reply): void {
    if (typeof reply === 'function') reply(request, res);
    else if ('drop' in reply) res.socket?.destroy();
    else if ('hold' in reply) this.held.push(res);
    else this.send(res, reply);
  }

  private send(res: ServerResponse, reply: { status?: number; body?: unknown; headers?: Record<string, string> }): void {
    const { status = 200, body, headers = {} } = reply;
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      res.writeHead(status, headers);
      res.end(body);
    } else {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    }
  }

  private notify(key: string): void {
    const count = this.requests.filter((r) => routeKey(r.method, r.path) === key).length;
    const ready = this.waiters.filter((w) => w.key === key && w.count <= count);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    const seen = this.requests.filter((r) => routeKey(r.method, r.path) === key);
    for (const w of ready) w.resolve(seen[w.count - 1]!);
  }
}
