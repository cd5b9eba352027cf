// Run it with: node examples/offline-bootstrap/index.mjs   (after `npm install`; Ctrl-C stops it)
/**
 * Starting while Unleash is down, and recovering when it comes back.
 *
 * A service must not wait for (or fail without) its feature-flag server. Here the client:
 * 1. starts from the flags it last saw, kept in a `FileCache`, or, on a fresh machine
 *    where there is no cache file yet, from bootstrap.json shipped with the app;
 * 2. keeps answering from those flags while the server is unreachable, retrying with
 *    backoff in the background;
 * 3. picks up the server's flags as soon as it answers, and writes them to the cache file,
 *    so the next start begins with them even if the server is down again.
 *
 * Settings (environment): UNLEASH_URL (default http://127.0.0.1:4242/api, a local Unleash
 * that is probably not running: that is the point), UNLEASH_API_TOKEN, and CACHE_DIR (the
 * cache file's directory; default the OS temp directory).
 */
import { fileURLToPath } from 'node:url';
import { CacheKeys, FileCache, UnleashClient } from '../../dist/index.js';

const APP_NAME = 'switchyard-offline-bootstrap-example';
const url = process.env.UNLEASH_URL || 'http://127.0.0.1:4242/api';
const token = process.env.UNLEASH_API_TOKEN;
const context = { userId: 'demo-user' };

// The cache file survives restarts. Unreadable or corrupt files are reported and ignored.
const cache = new FileCache({
  appName: APP_NAME,
  directory: process.env.CACHE_DIR || undefined,
  onWarning: (warning) => console.error(`[cache] ${warning.message}`),
});
// Bootstrap only when the cache is empty: a cache file holds flags the server sent, newer
// than the file shipped with the app.
if (!(await cache.exists(CacheKeys.FEATURES))) {
  await cache.bootstrapFromFile(fileURLToPath(new URL('./bootstrap.json', import.meta.url)));
}

const client = new UnleashClient({
  url,
  appName: APP_NAME,
  customHeaders: token ? { Authorization: token } : {},
  cache,
  // Short for the demo (1 s is the minimum). While the server is down, retries back off:
  // 2 s, 3 s, 4 s, ... between attempts, so a fleet does not hammer a recovering server.
  refreshInterval: 1000,
  timeout: 2000,
});

// Failed fetches, registration and metrics are all the same story: Unleash is out of
// reach. The client retries by itself; say so once per outage, not on every attempt.
// A refused token (401/403) is different: retrying cannot fix it, and polling stops.
let unreachable = false;
client.on('ready', ({ from }) => console.log(`[ready] serving flags from the ${from}`));
client.on('fetched', ({ flagNames }) => {
  unreachable = false;
  console.log(`[fetched] ${flagNames.length} flags from Unleash, saving them in ${cache.path}`);
});
client.on('error', ({ origin, error }) => {
  const network = origin === 'fetch' || origin === 'register' || origin === 'metrics';
  if (!network || error.status === 401 || error.status === 403) {
    console.error(`[error] ${origin}: ${error.message}`);
  } else if (!unreachable) {
    console.log(`[unreachable] ${error.message}; serving the last known flags and retrying`);
    unreachable = true;
  }
});
client.on('warning', ({ origin, message }) => console.error(`[warning] ${origin}: ${message}`));

// Installed before anything is printed: a signal that comes before its handler kills the
// process without the clean-up.
let stopping = false;
let timer;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    stopping = true;
    clearInterval(timer);
    await client.destroy(); // waits for the last cache write
    await cache.destroy(); // we created the cache, so we release it
    console.log('[stopped]');
  });
}

await client.start(); // resolves quickly here: the cache had flags

// Stands in for the service's work: evaluate the flags every half second and log when the
// answer changes. This timer is also what keeps the process running (the client's own
// timers never keep a process alive).
let last = '';
function work() {
  const searchV2 = client.isEnabled('search-v2', context) ? 'on' : 'off';
  const announcement = client.getVariant('announcement', context);
  const text = announcement.enabled && announcement.payload ? announcement.payload.value : '';
  const now = `[flags] search-v2=${searchV2} announcement=${JSON.stringify(text)}`;
  if (now !== last) console.log(now);
  last = now;
}
if (!stopping) {
  work();
  timer = setInterval(work, 500);
}
