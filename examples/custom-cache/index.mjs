// Run it with: REDIS_URL=redis://127.0.0.1:6379 UNLEASH_URL=https://unleash.example.com/api UNLEASH_API_TOKEN=<client token> node examples/custom-cache/index.mjs
/**
 * Two instances of a service sharing their flags through Redis (see redis-cache.mjs).
 *
 * - Instance A is online: it fetches the flags from Unleash, and its client stores them
 *   in Redis, as every instance does after each change.
 * - Instance B is offline, like a new instance starting while Unleash is unreachable: it
 *   has never talked to Unleash, yet it serves the flags A stored.
 *
 * Without UNLEASH_URL only instance B runs, serving what an earlier run left in Redis.
 */
import { CacheKeys, UnleashClient } from '../../dist/index.js';
import { RedisCache } from './redis-cache.mjs';

const APP_NAME = 'switchyard-custom-cache-example';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const url = process.env.UNLEASH_URL;
const token = process.env.UNLEASH_API_TOKEN;
// Instances share a prefix exactly when they fetch the same flags (app, environment, project).
const prefix = `switchyard:${APP_NAME}:`;
const context = { userId: 'alice', properties: { country: 'NO', appVersion: '2.1.0' } };

/** Prints every error and warning a client reports, and remembers that one came. */
let failed = false;
function report(name, client) {
  client.on('error', ({ origin, error }) => {
    failed = true;
    console.error(`[${name}] ${origin} error: ${error.message}`);
  });
  client.on('warning', ({ origin, message }) => console.error(`[${name}] ${origin} warning: ${message}`));
}

if (url) {
  const cache = new RedisCache({ redis: redisUrl, prefix });
  const a = new UnleashClient({
    url,
    appName: APP_NAME,
    customHeaders: token ? { Authorization: token } : {},
    cache,
    refreshInterval: 0, // fetch once: this instance's job in the demo ends there
    disableMetrics: true,
  });
  report('A', a);
  let fetched = 0;
  a.on('fetched', ({ flagNames }) => (fetched = flagNames.length));
  await a.start();
  await a.destroy(); // waits until the flags are written to Redis
  await cache.destroy();
  if (fetched === 0) {
    console.error('[A] no flags came from Unleash (check UNLEASH_URL and UNLEASH_API_TOKEN)');
    process.exit(1);
  }
  console.log(`[A] fetched ${fetched} flags from Unleash and stored them in Redis under ${prefix}*`);
}

const cache = new RedisCache({ redis: redisUrl, prefix });
const b = new UnleashClient({ appName: APP_NAME, offline: true, cache });
report('B', b);
b.on('ready', ({ from }) => console.log(`[B] offline, serving flags from the ${from}`));
await b.start();
if (!b.hasFlags) {
  console.error(failed ? `[B] could not read the flags from Redis at ${new URL(redisUrl).host}` : '[B] Redis holds no flags yet: run once with UNLEASH_URL set');
  process.exitCode = 1;
} else {
  const { features } = await cache.get(CacheKeys.FEATURES);
  for (const { name } of features) {
    const variant = b.getVariant(name, context);
    console.log(`[B] ${name}: ${b.isEnabled(name, context) ? 'on' : 'off'}${variant.enabled ? ` (variant ${variant.name})` : ''}`);
  }
  if (failed) process.exitCode = 1;
}
await b.destroy();
await cache.destroy();
