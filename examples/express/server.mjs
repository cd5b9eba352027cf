// Run it with: node examples/express/server.mjs   (after `npm install`; then open http://127.0.0.1:3000/?user=ada)
/**
 * A web service that shows each visitor a page shaped by feature flags.
 *
 * - One `UnleashClient` per process, started before the server listens. Evaluations are
 *   local and synchronous: a request never waits for Unleash.
 * - Each request gets its own context, built from the request: the signed-in user, a
 *   session cookie for visitors, and the client's IP address.
 * - On SIGTERM (what Docker, Kubernetes and systemd send) the server stops accepting
 *   connections, finishes the requests in progress, then `destroy()`s the client, which
 *   sends the last usage metrics.
 *
 * Without UNLEASH_URL it serves the flags in flags.json. With a server:
 *
 *   UNLEASH_URL=https://unleash.example.com/api UNLEASH_API_TOKEN=<client token> node examples/express/server.mjs
 *
 * It uses plain `node:http` so it runs with no dependency, but it is written the Express
 * way: Express's `req` and `res` are these same Node objects, so `contextFrom` and
 * `renderPage` work unchanged in an Express app:
 *
 *   app.get('/', (req, res) => { const { context, cookie } = contextFrom(req); ... res.send(renderPage(context)); });
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { MemoryCache, UnleashClient } from '../../dist/index.js';

const PORT = Number(process.env.PORT ?? 3000); // PORT=0 picks a free port
const HOST = process.env.HOST ?? '127.0.0.1';
const APP_NAME = 'switchyard-express-example';

/**
 * Peers whose X-Forwarded-For header we believe: your reverse proxy. Anyone else could
 * claim any address in that header, so for them the connection's own address is used.
 */
const TRUSTED_PROXIES = new Set(['127.0.0.1', '::1']);

const client = await startClient();

const server = createServer((req, res) => {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' || pathname !== '/') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    return;
  }
  const { context, cookie } = contextFrom(req);
  const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
  if (cookie) headers['set-cookie'] = cookie;
  res.writeHead(200, headers).end(renderPage(context));
});

// Before listening: a signal that comes before its handler kills the process abruptly.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void shutdown(signal));

server.listen(PORT, HOST, () => console.log(`listening on http://${HOST}:${server.address().port}`));

/** Creates and starts the one client of this process. */
async function startClient() {
  const url = process.env.UNLEASH_URL;
  const token = process.env.UNLEASH_API_TOKEN;
  let options;
  if (url) {
    // The default cache is a file in the OS temp directory: after a restart the service
    // serves the last flags it saw at once, even while Unleash is down.
    options = { url, appName: APP_NAME, customHeaders: token ? { Authorization: token } : {} };
  } else {
    const cache = new MemoryCache();
    await cache.bootstrapFromFile(fileURLToPath(new URL('./flags.json', import.meta.url)));
    options = { appName: APP_NAME, offline: true, cache };
  }
  const unleash = new UnleashClient(options);
  // The client never throws at you: problems arrive here, and it keeps serving the last good flags.
  unleash.on('error', ({ origin, error }) => console.error(`switchyard ${origin} error: ${error.message}`));
  unleash.on('warning', ({ origin, message }) => console.error(`switchyard ${origin} warning: ${message}`));
  // Resolves once there are flags, or after the first failed fetch (bounded by `timeout`).
  await unleash.start();
  return unleash;
}

/**
 * The Unleash context of a request, and the Set-Cookie header to send when a new session
 * starts. Strategies and constraints read these fields: `userWithId` the userId, variants
 * the userId or else the sessionId (so a visitor keeps one variant), `remoteAddress` the IP.
 */
function contextFrom(req) {
  // Stands in for your authentication (for instance `req.user.id` with Passport).
  const userId = new URL(req.url ?? '/', 'http://localhost').searchParams.get('user')?.slice(0, 100) || undefined;

  let sessionId = parseCookies(req.headers.cookie).sid;
  let cookie;
  if (!sessionId || !/^[A-Za-z0-9-]{1,64}$/.test(sessionId)) {
    sessionId = randomUUID();
    cookie = `sid=${sessionId}; Path=/; HttpOnly; SameSite=Lax`;
  }
  return { context: { userId, sessionId, remoteAddress: clientAddress(req) }, cookie };
}

/** The visitor's IP address, through a trusted reverse proxy or straight from the socket. */
function clientAddress(req) {
  // An IPv4 peer on a dual-stack socket looks like ::ffff:10.1.2.3; IPv4 ranges want 10.1.2.3.
  const peer = req.socket.remoteAddress?.replace(/^::ffff:/, '');
  const forwarded = req.headers['x-forwarded-for'];
  if (typeof forwarded === 'string' && TRUSTED_PROXIES.has(peer)) {
    // The proxy appends the address it saw: the last entry is the only one it vouches for.
    const last = forwarded.split(',').pop().trim();
    if (last) return last;
  }
  return peer;
}

/** The page: one flag picks the dashboard, one shows a banner, one variant labels the button. */
function renderPage(context) {
  const dashboard = client.isEnabled('beta-dashboard', context) ? 'beta' : 'classic';
  const officeBanner = client.isEnabled('office-banner', context);
  // A variant carries a payload: here the button's label. `enabled` is false when the flag
  // is off or has no variants; then we fall back to the usual label.
  const button = client.getVariant('checkout-button', context);
  const variant = button.enabled ? button.name : 'none';
  const label = button.enabled && button.payload ? button.payload.value : 'Checkout';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>switchyard example shop</title></head>
<body>
<h1>Hello, ${escapeHtml(context.userId ?? 'visitor')}</h1>
${officeBanner ? '<p class="banner">Welcome, colleague: you are on the office network.</p>\n' : ''}<section data-dashboard="${dashboard}">${dashboard === 'beta' ? 'The new dashboard (beta).' : 'Your dashboard.'}</section>
<button data-variant="${escapeHtml(variant)}">${escapeHtml(label)}</button>
<footer>context: userId=${escapeHtml(context.userId ?? '-')} sessionId=${escapeHtml(context.sessionId)} remoteAddress=${escapeHtml(context.remoteAddress ?? '-')}</footer>
</body>
</html>
`;
}

let stopping = false;
/** Stops taking requests, finishes the ones in progress, then flushes and stops the client. */
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received: shutting down`);
  // close() stops accepting connections and resolves once the open ones are done; idle
  // keep-alive connections are closed at once. Cut the rest if they take too long.
  const closed = new Promise((resolve) => server.close(resolve));
  const force = setTimeout(() => server.closeAllConnections(), 10_000).unref();
  await closed;
  clearTimeout(force);
  // Sends the metrics counted since the last report, stops polling and timers. Nothing is
  // left running, so the process then exits by itself with code 0.
  await client.destroy();
  console.log('stopped');
}

/** `name=value` pairs of a Cookie header. */
function parseCookies(header) {
  const cookies = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) cookies[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return cookies;
}

/** Anything from the request or from flag data is escaped before it goes into HTML. */
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
