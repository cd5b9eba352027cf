/**
 * The two systems under test, run the way a production service runs them: each fetches
 * its flags from an Unleash-like server and counts metrics on every evaluation. The
 * server is `createFlagServer` below, on 127.0.0.1 with a random port: nothing leaves the
 * machine. Neither system polls again during a run (the next fetch is scheduled beyond
 * it), and neither sends metrics during a run (the send interval is out of reach).
 *
 * `source: 'bootstrap'` loads the same body without HTTP instead (the smoke test uses it).
 *
 * Each loader resolves to `{ target, destroy }` once `target.isEnabled(name, context)` and
 * `target.getVariant(name, context)` answer from the loaded flags.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const APP_NAME = 'switchyard-bench';
/** Far beyond any run, below setTimeout's 2^31 ms ceiling. */
const LATER_MS = 2 ** 30;
/** A loopback port nothing listens on, for runs that must not fetch at all. */
const NOWHERE = 'http://127.0.0.1:9/api';

/** The official SDK's version, for the report. */
export function officialVersion() {
  return require('unleash-client/package.json').version;
}

/**
 * A minimal Unleash API on 127.0.0.1: serves `body` (JSON text) at
 * `/api/client/features` with an ETag (answering 304 to a matching If-None-Match unless
 * `etags` is false), and accepts registration and metrics (202). Counts what it served.
 */
export async function createFlagServer(initialBody, { etags: withEtags = true, onSent } = {}) {
  let body = initialBody;
  let etags = withEtags;
  let etag = `"${createHash('sha1').update(body).digest('hex')}"`;
  const served = { full: 0, notModified: 0, metrics: 0, register: 0 };
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    req.resume();
    if (req.method === 'GET' && url.startsWith('/api/client/features')) {
      if (etags && req.headers['if-none-match'] === etag) {
        served.notModified++;
        res.writeHead(304, { etag }).end();
        return;
      }
      served.full++;
      const bytes = Buffer.byteLength(body);
      res.writeHead(200, { 'content-type': 'application/json', ...(etags ? { etag } : {}) }).end(body, () => onSent?.(bytes));
      return;
    }
    if (req.method === 'POST' && url.startsWith('/api/client/metrics')) served.metrics++;
    else if (req.method === 'POST' && url.startsWith('/api/client/register')) served.register++;
    else {
      res.writeHead(404).end();
      return;
    }
    req.on('end', () => res.writeHead(202).end());
  });
  server.keepAliveTimeout = 1000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/api`,
    served,
    /** Turns ETags (and so 304 answers) on or off. */
    setEtags(on) {
      etags = on;
    },
    setBody(next) {
      body = next;
      etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * Loads the official SDK (`unleash-client`). From a server: it fetches once at start
 * (its next fetch is scheduled `LATER_MS` away). From a bootstrap: `refreshInterval: 0`
 * never fetches. Metrics: `metricsInterval: 0` starts no timer and skips registration,
 * while `count()` still runs on every evaluation (its only guard is `disableMetrics`).
 */
export async function loadOfficial(text, { url, source = url ? 'server' : 'bootstrap', metrics = true, refreshInterval = LATER_MS, backupPath } = {}) {
  const { Unleash, InMemStorageProvider } = require('unleash-client');
  const errors = [];
  const common = {
    appName: APP_NAME,
    metricsInterval: 0,
    disableMetrics: !metrics,
    // backupPath: its default storage (a file), as in production; else in memory.
    ...(backupPath === undefined ? { storageProvider: new InMemStorageProvider() } : { backupPath }),
    skipInstanceCountWarning: true,
  };
  let unleash;
  if (source === 'server') {
    unleash = new Unleash({ ...common, url, refreshInterval });
  } else {
    const body = JSON.parse(text);
    unleash = new Unleash({
      ...common,
      url: NOWHERE,
      refreshInterval: 0,
      bootstrap: { data: body.features, segments: body.segments },
      bootstrapOverride: true,
    });
  }
  unleash.on('error', (err) => errors.push(err));
  unleash.on('warn', () => {});
  await once(unleash, 'ready');
  if (errors.length > 0) throw new Error(`unleash-client failed to load: ${errors[0].message}`);
  if (metrics && unleash.metrics.disabled) throw new Error('unleash-client metrics are off; the comparison would be unfair');
  return {
    mode: `unleash-client (${source})`,
    target: unleash,
    destroy: async () => unleash.destroy(),
  };
}

/**
 * Loads switchyard. `mod` is the package's entry (`dist/index.js`, or the TypeScript
 * sources under jest). The `UnleashClient` is what is measured, with a MemoryCache and
 * metrics counted on every evaluation; `prefer: 'engine'` measures the bare `Engine`.
 */
export async function loadSwitchyard(mod, text, { url, source = url ? 'server' : 'bootstrap', prefer = 'client', metrics = true, refreshInterval = 0, backupPath } = {}) {
  if (prefer === 'engine' || typeof mod.UnleashClient !== 'function') return loadSwitchyardEngine(mod, text);
  const { UnleashClient, MemoryCache, FileCache } = mod;
  // backupPath: the default cache (a file), as in production; else in memory.
  const cache = backupPath === undefined ? new MemoryCache() : new FileCache({ appName: APP_NAME, directory: backupPath });
  const options = {
    appName: APP_NAME,
    cache,
    disableMetrics: !metrics,
    disableRegistration: true,
    metricsInterval: LATER_MS,
  };
  let client;
  if (source === 'server') {
    client = new UnleashClient({ ...options, url, refreshInterval });
  } else {
    await cache.bootstrapFromDict(text);
    client = new UnleashClient({ ...options, offline: true });
  }
  const errors = [];
  client.on('error', (event) => errors.push(event));
  // The generated flags reference a missing segment and a missing parent on purpose.
  client.on('warning', () => {});
  await client.start();
  if (errors.length > 0) throw new Error(`switchyard failed to load: ${errors[0].error?.message ?? String(errors[0])}`);
  if (!client.hasFlags) throw new Error('switchyard loaded no flags');
  return {
    mode: `UnleashClient (${source})`,
    target: client,
    client,
    destroy: () => client.destroy(),
  };
}

async function loadSwitchyardEngine(mod, text) {
  const { Engine, parseClientPayload } = mod;
  const engine = new Engine({ hostname: 'bench-host' });
  engine.load(parseClientPayload(text).payload);
  const snapshot = engine.snapshot;
  return {
    mode: 'Engine',
    target: {
      isEnabled(name, context) {
        const flag = snapshot.get(name);
        return flag === undefined ? false : flag.isEnabled(context);
      },
      getVariant(name, context) {
        const flag = snapshot.get(name);
        return flag === undefined ? DISABLED : flag.getVariant(context);
      },
    },
    destroy: async () => {},
  };
}

const DISABLED = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: false });
