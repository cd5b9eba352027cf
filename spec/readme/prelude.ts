/**
 * What a README snippet may take for granted. Snippets use a few free names as
 * placeholders for the reader's own values (`url`, `appName`, `token`, a `client` already
 * started, ...): this file declares them, for the type-check, and defines them, for the run.
 * `snippets.test.ts` type-checks it together with the snippets and runs it before each
 * one, in the snippet's own process.
 *
 * It is left out of the main tsconfig on purpose: its globals would otherwise be declared
 * for every file of the project, and a test using an undefined `url` would still compile.
 *
 * The run's environment, set by the test: `README_SNIPPET_URL` (a loopback Unleash-like
 * server's `/api`), `UNLEASH_TOKEN`, and a working directory holding `flags.json`.
 */
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { MemoryCache, UnleashClient, type BaseCache, type CustomHeaders } from 'switchyard-flags';

declare global {
  /** The Unleash API URL, ending in `/api`. */
  var url: string;
  /** The application's name. */
  var appName: string;
  /** A client token (the `Authorization` header's value). */
  var token: string;
  /** Headers carrying the token, as the client's `customHeaders`. */
  var customHeaders: CustomHeaders;
  /** Headers carrying the token, for `bootstrapFromUrl`. */
  var headers: Record<string, string>;
  /** A client-API body, as parsed JSON (the `flags.json` in the working directory). */
  var body: unknown;
  /** A user's id. */
  var userId: string;
  /** A cache of the reader's choosing. */
  var cache: BaseCache;
  /** A client created and started elsewhere in the reader's program. */
  var client: UnleashClient;
}

// A snippet may name a public host (unleash.example.com); the test routes such names to its
// loopback server through HTTPS_PROXY. Should anything try to reach another address, it
// fails here instead of sending a packet: nothing leaves 127.0.0.1.
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function refusal(host: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`README snippets may reach 127.0.0.1 only, not ${host}`), { code: 'ENOTFOUND' });
}

const lookup = dns.lookup;
dns.lookup = function (this: unknown, host: string, ...rest: unknown[]) {
  const callback = rest[rest.length - 1];
  if (!LOOPBACK.has(host) && typeof callback === 'function') return process.nextTick(callback as (err: Error) => void, refusal(host));
  return (lookup as (...args: unknown[]) => unknown).call(this, host, ...rest);
} as typeof dns.lookup;

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  // Node passes its own normalised [options, callback] pair, or the user's arguments.
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  const options = (typeof first === 'object' && first !== null ? first : { host: args[1] }) as { host?: unknown; path?: unknown };
  if (options.path === undefined && typeof options.host === 'string' && !LOOPBACK.has(options.host.replace(/^\[|\]$/g, ''))) {
    throw refusal(options.host);
  }
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof connect;

function fromEnvironment(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`the README snippet prelude needs ${name}`);
  return value;
}

globalThis.url = fromEnvironment('README_SNIPPET_URL');
globalThis.appName = 'readme-snippets';
globalThis.token = fromEnvironment('UNLEASH_TOKEN');
globalThis.customHeaders = { Authorization: token };
globalThis.headers = { Authorization: token };
globalThis.body = JSON.parse(readFileSync('flags.json', 'utf8'));
globalThis.userId = '42';
globalThis.cache = new MemoryCache();
globalThis.client = new UnleashClient({ url, appName, customHeaders });
await client.start();

/** Run after the snippet: what a real program does on shutdown. */
export async function finish(): Promise<void> {
  await client.destroy();
  await cache.destroy();
}
