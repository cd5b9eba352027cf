/**
 * A real forward proxy on 127.0.0.1 (random port) for tests. Requests with an absolute URI
 * are forwarded; `CONNECT` opens a tunnel, and the requests inside a tunnel in clear (to an
 * `http://` server) are read as they pass. It records what passed through it, can demand
 * credentials (407), and only ever connects to loopback: any other target gets 403, unless
 * `routes` sends it to a loopback server (so a client can be shown a public host name
 * without a byte leaving the machine).
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** One request the proxy received. */
export interface ProxiedRequest {
  /** `GET`, `POST`, ... or `CONNECT`. */
  method: string;
  /** The absolute URI, or `host:port` for `CONNECT`. */
  target: string;
  /** `METHOD path` of an absolute-URI request, e.g. `GET /api/client/features`; `CONNECT host:port` for a tunnel. */
  line: string;
  /** The `Proxy-Authorization` header, if any. */
  proxyAuthorization: string | undefined;
  /** Whether the proxy let it through. */
  allowed: boolean;
  /** A request read inside a tunnel in clear (an `http://` server reached by CONNECT). */
  tunnelled?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const HOP_BY_HOP = ['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive'];

export class ForwardProxy {
  /** Every request received, in order. */
  readonly requests: ProxiedRequest[] = [];
  /** TCP connections clients opened to the proxy. */
  connections = 0;
  /** When set (`user:password`), requests without matching Basic credentials get 407. */
  credentials: string | undefined;
  /** `CONNECT` targets (`host:port`) tunnelled to another `host:port` on loopback instead. */
  readonly routes = new Map<string, string>();
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>` */
    readonly url: string,
  ) {}

  /** Starts a proxy on 127.0.0.1 with a random port. */
  static async start(options: { credentials?: string; routes?: Record<string, string> } = {}): Promise<ForwardProxy> {
    let self: ForwardProxy | undefined;
    const server = createServer((req, res) => self!.forward(req, res));
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => self!.tunnel(req, socket, head));
    server.on('connection', (socket: Socket) => self!.track(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new ForwardProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    self.credentials = options.credentials;
    for (const [from, to] of Object.entries(options.routes ?? {})) self.routes.set(from, to);
    return self;
  }

  /** The `line`s of the requests let through, in order. */
  get lines(): string[] {
    return this.requests.filter((r) => r.allowed).map((r) => r.line);
  }

  /** Client connections still open. */
  get openConnections(): number {
    return this.open.size;
  }

  /** Resolves once no client connection is open; rejects after `ms`. */
  async whenIdle(ms = 5_000): Promise<void> {
    const until = Date.now() + ms;
    while (this.open.size > 0) {
      if (Date.now() > until) throw new Error(`${this.open.size} connection(s) to the proxy are still open`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stops the proxy and cuts every connection. */
  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.connections++;
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
  }

  private record(method: string, target: string, line: string, headers: IncomingHttpHeaders): ProxiedRequest {
    const header = headers['proxy-authorization'];
    const proxyAuthorization = typeof header === 'string' ? header : undefined;
    const allowed = this.credentials === undefined || proxyAuthorization === `Basic ${Buffer.from(this.credentials).toString('base64')}`;
    const entry = { method, target, line, proxyAuthorization, allowed };
    this.requests.push(entry);
    return entry;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('a proxy needs an absolute URI');
      return;
    }
    const method = req.method ?? 'GET';
    const entry = this.record(method, target.href, `${method} ${target.pathname}`, req.headers);
    if (!entry.allowed) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"', 'content-type': 'text/plain' }).end('credentials, please');
      return;
    }
    if (!LOOPBACK.has(target.hostname) || target.protocol !== 'http:') {
      entry.allowed = false;
      res.writeHead(403).end('this proxy only reaches http://127.0.0.1');
      return;
    }
    const headers = { ...req.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    const upstream = request(
      { host: target.hostname, port: target.port, method, path: `${target.pathname}${target.search}`, headers, agent: false },
      (answer) => {
        const answerHeaders = { ...answer.headers };
        for (const name of HOP_BY_HOP) delete answerHeaders[name];
        res.writeHead(answer.statusCode ?? 502, answerHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  }

  /** Records the request lines of a tunnel's bytes, for a tunnel in clear (to an `http://` server). */
  private sniff(target: string, chunk: Buffer): void {
    for (const m of chunk.toString('latin1').matchAll(/(GET|POST|PUT|DELETE|HEAD|PATCH) (\/\S*) HTTP\/1\.[01]\r\n/g)) {
      const path = new URL(m[2]!, 'http://x').pathname;
      this.requests.push({ method: m[1]!, target: `http://${target}${m[2]}`, line: `${m[1]} ${path}`, proxyAuthorization: undefined, allowed: true, tunnelled: true });
    }
  }

  private tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
    const target = req.url ?? '';
    const entry = this.record('CONNECT', target, `CONNECT ${target}`, req.headers);
    client.on('error', () => client.destroy());
    if (!entry.allowed) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const match = /^(.+):(\d+)$/.exec(this.routes.get(target) ?? target);
    if (match === null || !LOOPBACK.has(match[1]!)) {
      entry.allowed = false;
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(Number(match[2]), match[1]!.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      // A tunnel that does not start with a TLS handshake carries plain HTTP: read along.
      let clear: boolean | undefined;
      const watch = (chunk: Buffer): void => {
        clear ??= chunk[0] !== 0x16;
        if (clear) this.sniff(target, chunk);
      };
      if (head.length > 0) {
        watch(head);
        upstream.write(head);
      }
      client.on('data', watch);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }
}
