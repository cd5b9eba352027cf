/**
 * switchyard quickstart: evaluates a few flags for a few users and prints the result.
 *
 *   npm install && npm run example
 *
 * Without environment variables it runs offline, from the flags in examples/flags.json.
 * To evaluate the flags of your own Unleash server instead:
 *
 *   UNLEASH_URL=https://unleash.example.com/api UNLEASH_API_TOKEN=<client token> npm run example
 */
import { fileURLToPath } from 'node:url';
import { CacheKeys, MemoryCache, UnleashClient } from '../dist/index.js';

const FLAGS_FILE = fileURLToPath(new URL('./flags.json', import.meta.url));

/** The users to evaluate for: a context is whatever your flags' strategies look at. */
const USERS = [
  { userId: 'alice', properties: { country: 'NO', appVersion: '2.1.0' } },
  { userId: 'bob', properties: { country: 'SE', appVersion: '1.9.3' } },
  { userId: 'carol', properties: { country: 'US', appVersion: '3.0.0' } },
  { userId: 'dave', properties: { country: 'DK', appVersion: '2.0.0' } },
  { userId: 'erin', properties: { country: 'NO', appVersion: '2.4.1' } },
];

const url = process.env.UNLEASH_URL;
const token = process.env.UNLEASH_API_TOKEN;
if (Boolean(url) !== Boolean(token)) {
  console.error('Set both UNLEASH_URL and UNLEASH_API_TOKEN to use a server, or neither to run offline.');
  process.exit(2);
}
const online = Boolean(url && token);

// The cache is where the client keeps the last good flags. Offline, we seed it from a
// file: the same validation as a server response applies, so a typo fails loudly here.
const cache = new MemoryCache();
if (!online) await cache.bootstrapFromFile(FLAGS_FILE);

const client = new UnleashClient(
  online
    ? {
        url,
        appName: 'switchyard-quickstart',
        customHeaders: { Authorization: token },
        cache,
        refreshInterval: 0, // fetch once: this script evaluates and exits
        disableMetrics: true,
      }
    : { appName: 'switchyard-quickstart', offline: true, cache },
);

let failed = false;
client.on('error', ({ origin, error }) => {
  failed = true;
  console.error(`switchyard ${origin} error: ${error.message}`);
});
// The flag names to show: those the server sent, or those the cache was seeded with.
let flags = [];
client.on('fetched', ({ flagNames }) => {
  flags = [...flagNames];
});

try {
  await client.start();
  if (!online) flags = ((await cache.get(CacheKeys.FEATURES))?.features ?? []).map((feature) => feature.name);
  if (flags.length === 0) {
    console.error(online ? 'The server sent no flags (check the URL, the token and its project).' : 'No flags loaded.');
    process.exitCode = 1;
  } else {
    const source = online ? `from ${new URL(url).origin}` : 'offline, from examples/flags.json';
    console.log(`switchyard quickstart: ${flags.length} flags ${source}\n`);
    printTable(['user', 'country', 'version', 'flag', 'enabled', 'variant'], rows(flags));
    if (failed) process.exitCode = 1;
  }
} finally {
  // Stops timers and sends nothing more; without it a real service would keep polling.
  await client.destroy();
}

/** One row per user and flag. */
function rows(flags) {
  const out = [];
  for (const context of USERS) {
    for (const flag of flags) {
      const enabled = client.isEnabled(flag, context);
      const variant = client.getVariant(flag, context);
      out.push([
        context.userId,
        context.properties.country,
        context.properties.appVersion,
        flag,
        enabled ? 'on' : 'off',
        describeVariant(variant),
      ]);
    }
  }
  return out;
}

/** `name (type: value)` for an active variant, `-` when there is none. */
function describeVariant(variant) {
  if (!variant.enabled) return '-';
  if (!variant.payload) return variant.name;
  const value = variant.payload.value.length > 40 ? `${variant.payload.value.slice(0, 37)}...` : variant.payload.value;
  return `${variant.name} (${variant.payload.type}: ${value})`;
}

/** Prints rows as a table whose columns line up, with a rule under the header. */
function printTable(header, body) {
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  let previousUser;
  for (const row of body) {
    if (previousUser !== undefined && row[0] !== previousUser) console.log('');
    previousUser = row[0];
    console.log(line(row));
  }
}
