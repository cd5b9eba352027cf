// Run it with: node examples/custom-strategy/index.mjs   (after `npm install`, which builds dist/)
/**
 * A custom strategy: your own rule for who gets a flag, next to Unleash's built-in ones.
 *
 * Here the rule is "the user's e-mail address is at one of these domains", something the
 * built-in strategies cannot express. The flags in flags.json use it as strategy
 * `emailDomain` with a `domains` parameter, and add an ordinary constraint on top.
 *
 * With a real Unleash server you first define the strategy there (Configure > Strategies >
 * New strategy: name `emailDomain`, one list parameter `domains`), then register the same
 * class in every client through the `customStrategies` option, as below.
 */
import { fileURLToPath } from 'node:url';
import { MemoryCache, Strategy, UnleashClient } from '../../dist/index.js';

/**
 * On when `context.properties.email` is at one of the comma-separated `domains`.
 *
 * The engine evaluates the strategy's constraints (and segments) first and only calls
 * `isEnabled` when they all hold, so a strategy decides on its own parameters only.
 * `isEnabled` must be synchronous and fast: it runs on every evaluation.
 */
class EmailDomainStrategy extends Strategy {
  constructor() {
    super('emailDomain'); // the name flags refer to in Unleash
  }

  isEnabled(parameters, context) {
    const email = context.properties?.email;
    if (typeof email !== 'string') return false; // anonymous user: off
    // The whole domain after the last @, compared case-insensitively: a suffix test would
    // let "notacme.example" in where "acme.example" is meant.
    const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
    const allowed = (parameters.domains ?? '').split(',').map((d) => d.trim().toLowerCase());
    return email.includes('@') && allowed.includes(domain);
  }
}

// A few users. `appVersion` and `email` are custom context fields: they go in `properties`.
const USERS = [
  { userId: 'ada', properties: { email: 'ada@acme.example', appVersion: '2.3.0' } },
  { userId: 'bo', properties: { email: 'bo@acme.example', appVersion: '1.8.0' } },
  { userId: 'cy', properties: { email: 'Cy@Globex.Example', appVersion: '2.5.0' } },
  { userId: 'dee', properties: { email: 'dee@mail.example', appVersion: '3.0.0' } },
  { userId: 'mal', properties: { email: 'mal@notacme.example', appVersion: '2.4.0' } },
  { userId: 'eve', properties: { appVersion: '2.0.0' } },
];
const FLAGS = ['staff-preview', 'partner-portal'];

// Offline from a file, so the example runs without a server. The same parser as for
// server responses checks the file.
const cache = new MemoryCache();
await cache.bootstrapFromFile(fileURLToPath(new URL('./flags.json', import.meta.url)));

const client = new UnleashClient({
  appName: 'switchyard-custom-strategy-example',
  offline: true,
  cache,
  // Register your strategies here. A flag naming a strategy the client does not know is
  // off for everyone, and the client warns about it once.
  customStrategies: [new EmailDomainStrategy()],
});
// A strategy that throws counts as "off" and is reported here instead of crashing.
client.on('error', ({ origin, error }) => console.error(`switchyard ${origin} error: ${error.message}`));
client.on('warning', ({ origin, message }) => console.error(`switchyard ${origin} warning: ${message}`));

await client.start();
const rows = USERS.map((context) => [
  context.userId,
  context.properties.email ?? '-',
  context.properties.appVersion,
  ...FLAGS.map((flag) => (client.isEnabled(flag, context) ? 'on' : 'off')),
]);
printTable(['user', 'email', 'app', ...FLAGS], rows);
await client.destroy();

/** Prints rows with their columns lined up. */
function printTable(header, body) {
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((row) => row[i].length)));
  for (const row of [header, ...body]) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}
