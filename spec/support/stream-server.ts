/**
 * A loopback stub of the Unleash Enterprise delta and streaming endpoints (the open-source
 * server has neither), on 127.0.0.1 with a random port, plus `/client/features`,
 * `/client/register` and `/client/metrics`.
 *
 * It keeps flag state as an event log: every change gets the next event id. A stream
 * (`GET /api/client/streaming`) opens with `unleash-connected` (the events after the
 * client's `Last-Event-ID`, or a hydration) and then receives each change as
 * `unleash-updated`; `GET /api/client/delta` answers the events after `If-None-Match` (304
 * when there are none, a hydration for an unknown id). A test can also make it answer any
 * status, drop or silence streams, send keep-alives, raw (out-of-order, malformed) events
 * and the `fetch-mode` hint, in either direction.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

type Flag = Record<string, unknown> & { name: string };
type Segment = Record<string, unknown> & { id: number };
type LoggedEvent = Record<string, unknown> & { eventId: number; type: string };

/** One request the stub received. */
export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the stub answers the next request on a route (instead of its normal answer). */
export type StubReply =
  | number
  | 'drop'
  /** A stream that opens (200, event stream) and then sends nothing at all. */
  | 'silent'
  /** A 200 that is not an event stream. */
  | 'not-sse'
  /** Answer this body (a string as is, else as JSON) with status 200 (`unleash-connected` data, for a stream). */
  | { body: unknown; etag?: string; id?: string };

/** An open stream, as the stub sees it. */
export interface OpenStream {
  /** The `Last-Event-ID` the client sent, if any. */
  lastEventId: string | undefined;
  headers: IncomingHttpHeaders;
  res: ServerResponse;
  /** Resolves when the client's connection closes. */
  closed: Promise<void>;
}

export class StreamServer {
  readonly requests: StubRequest[] = [];
  /** Streams open now. */
  readonly streams: OpenStream[] = [];
  /** Every stream ever accepted (200), in order. */
  readonly accepted: OpenStream[] = [];
  /** The id of the newest event. */
  eventId = 0;
  /** When set, `/client/features` answers carry `fetch-mode: <value>`. */
  featuresFetchMode: string | undefined;
  private log: LoggedEvent[] = [];
  /** Events before this id are compacted away: asking for them gets a hydration. */
  private floor = 0;
  private features = new Map<string, Flag>();
  private segments = new Map<number, Segment>();
  private readonly replies = new Map<string, StubReply[]>();
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  /** Starts on 127.0.0.1 with a random port; an HTTPS one with `tls` (a key and certificate). */
  static async start(options: { tls?: { key: string; cert: string } } = {}): Promise<StreamServer> {
    let self: StreamServer | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => self!.handle(req, res);
    const server: Server = options.tls === undefined ? createServer(handler) : createTlsServer(options.tls, handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new StreamServer(server, `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`);
    return self;
  }

  /** The API URL clients are configured with. */
  get url(): string {
    return `${this.origin}/api`;
  }

  /** Requests received on a path (`/api/client/...`). */
  requestsTo(path: string): StubRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** The flags now, by name. */
  flags(): Flag[] {
    return [...this.features.values()];
  }

  /** Replaces the whole state (logged as one hydration point: older ids are forgotten). */
  hydrate(features: Flag[], segments: Segment[] = []): void {
    this.features = new Map(features.map((f) => [f.name, f]));
    this.segments = new Map(segments.map((s) => [s.id, s]));
    this.eventId++;
    this.log = [];
    this.floor = this.eventId;
    this.broadcast('unleash-updated', { events: [this.hydration()] }, this.eventId);
  }

  /** Adds or replaces a flag: one `feature-updated` event, sent to every open stream unless `quiet`. */
  setFlag(flag: Flag, quiet = false): number {
    this.features.set(flag.name, flag);
    return this.record({ type: 'feature-updated', feature: flag }, quiet);
  }

  /** Removes a flag: one `feature-removed` event. */
  removeFlag(name: string, quiet = false): number {
    this.features.delete(name);
    return this.record({ type: 'feature-removed', featureName: name, project: 'default' }, quiet);
  }

  /** Queues replies for the next requests on a path, used once each. */
  reply(path: string, ...replies: StubReply[]): this {
    const queue = this.replies.get(path) ?? [];
    queue.push(...replies);
    this.replies.set(path, queue);
    return this;
  }

  /** Writes a keep-alive comment to every open stream. */
  keepAlive(): void {
    for (const s of this.streams) s.res.write(': keep-alive\n\n');
  }

  /** Sends raw SSE text to every open stream. */
  sendRaw(text: string): void {
    for (const s of this.streams) s.res.write(text);
  }

  /** Sends one SSE message to every open stream. */
  send(event: string, data: unknown, id?: number | string): void {
    this.broadcast(event, data, id);
  }

  /** Cuts every open stream's connection. */
  dropStreams(): void {
    for (const s of this.streams.splice(0)) s.res.socket?.destroy();
  }

  /** Ends every open stream cleanly (the response ends). */
  endStreams(): void {
    for (const s of this.streams.splice(0)) s.res.end();
  }

  /** Resolves once `test()` holds (checked after each request and each stream change). */
  until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** Resolves once `count` streams have been accepted in all. */
  waitForStreams(count: number): Promise<OpenStream> {
    return this.until(() => this.accepted.length >= count).then(() => this.accepted[count - 1]!);
  }

  /** Resolves once `count` requests have reached `path`. */
  waitForRequests(path: string, count: number): Promise<StubRequest> {
    return this.until(() => this.requestsTo(path).length >= count).then(() => this.requestsTo(path)[count - 1]!);
  }

  async close(): Promise<void> {
    this.dropStreams();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(event: Record<string, unknown> & { type: string }, quiet: boolean): number {
    const logged = { ...event, eventId: ++this.eventId };
    this.log.push(logged);
    if (!quiet) this.broadcast('unleash-updated', { events: [logged] }, logged.eventId);
    return logged.eventId;
  }

  private hydration(): LoggedEvent {
    return { type: 'hydration', eventId: this.eventId, features: this.flags(), segments: [...this.segments.values()] };
  }

  /** The events after `id`, or a hydration when `id` is unknown or compacted away. */
  private eventsAfter(id: number | undefined): LoggedEvent[] {
    if (id === undefined || id < this.floor || id > this.eventId) return [this.hydration()];
    return this.log.filter((e) => e.eventId > id);
  }

  private broadcast(event: string, data: unknown, id?: number | string): void {
    const text = `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
    for (const s of this.streams) s.res.write(text);
  }

  private notify(): void {
    const ready = this.waiters.filter((w) => w.test());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', this.origin).pathname;
      this.requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = this.replies.get(path)?.shift();
      this.route(path, req, res, reply);
      this.notify();
    });
  }

  private route(path: string, req: IncomingMessage, res: ServerResponse, reply: StubReply | undefined): void {
    if (reply === 'drop') {
      res.socket?.destroy();
      return;
    }
    if (typeof reply === 'number') {
      res.writeHead(reply, { 'content-type': 'text/plain', ...this.fetchModeHeader(path) });
      res.end(`status ${reply}`);
      return;
    }
    if (reply === 'not-sse') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    switch (path) {
      case '/api/client/streaming':
        this.openStream(req, res, reply);
        return;
      case '/api/client/delta': {
        if (reply !== undefined && reply !== 'silent') {
          res.writeHead(200, { 'content-type': 'application/json', ...(reply.etag === undefined ? {} : { etag: reply.etag }) });
          res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
          return;
        }
        const id = parseId(req.headers['if-none-match']);
        const etag = `"${this.eventId}"`;
        if (id === this.eventId) {
          res.writeHead(304, { etag });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', etag });
        res.end(JSON.stringify({ events: this.eventsAfter(id) }));
        return;
      }
      case '/api/client/features': {
        const etag = `"features-${this.eventId}"`;
        const hint = this.fetchModeHeader(path);
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag, ...hint });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', etag, ...hint });
        res.end(JSON.stringify({ version: 2, features: this.flags(), segments: [...this.segments.values()] }));
        return;
      }
      case '/api/client/register':
      case '/api/client/metrics':
        res.writeHead(202);
        res.end();
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  }

  private fetchModeHeader(path: string): Record<string, string> {
    return path === '/api/client/features' && this.featuresFetchMode !== undefined ? { 'fetch-mode': this.featuresFetchMode } : {};
  }

  private openStream(req: IncomingMessage, res: ServerResponse, reply: StubReply | undefined): void {
    const header = req.headers['last-event-id'];
    const lastEventId = typeof header === 'string' ? header : undefined;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    let closed!: () => void;
    const stream: OpenStream = { lastEventId, headers: req.headers, res, closed: new Promise<void>((resolve) => (closed = resolve)) };
    res.on('close', () => {
      const i = this.streams.indexOf(stream);
      if (i >= 0) this.streams.splice(i, 1);
      closed();
      this.notify();
    });
    this.streams.push(stream);
    this.accepted.push(stream);
    if (reply === 'silent') return;
    if (typeof reply === 'object') {
      const data = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.write(`event: unleash-connected\n${reply.id === undefined ? '' : `id: ${reply.id}\n`}data: ${data}\n\n`);
      return;
    }
    const events = this.eventsAfter(parseId(lastEventId));
    res.write(`event: unleash-connected\nid: ${this.eventId}\ndata: ${JSON.stringify({ events })}\n\n`);
  }
}

function parseId(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^"?(\d+)"?$/.exec(value.trim());
  return match === null ? undefined : Number(match[1]);
}
