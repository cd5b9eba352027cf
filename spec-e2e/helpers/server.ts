/**
 * Where the real Unleash server is, and how a test stops and restarts it. Everything goes
 * through scripts/unleash-server.sh, the same door CI and developers use.
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = fileURLToPath(new URL('../../scripts/unleash-server.sh', import.meta.url));
const run = promisify(execFile);

/** Connection details printed by `scripts/unleash-server.sh env`. */
export interface ServerInfo {
  /** Client/admin API base, ending in `/api` (what `UnleashClient` takes as `url`). */
  url: string;
  /** Origin without `/api`, for building proxies. */
  origin: string;
  adminToken: string;
  /** A valid backend token for the `development` environment. */
  clientToken: string;
}

let info: ServerInfo | undefined;

/** Reads the server's URL and tokens once per test file. */
export function server(): ServerInfo {
  if (info) return info;
  const out = execFileSync('bash', [SCRIPT, 'env'], { encoding: 'utf8' });
  const env: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const match = /^([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  const { UNLEASH_URL: url, UNLEASH_ADMIN_TOKEN: adminToken, UNLEASH_CLIENT_TOKEN: clientToken } = env;
  if (!url || !adminToken || !clientToken) {
    throw new Error(`scripts/unleash-server.sh env printed no URL or tokens:\n${out}`);
  }
  info = { url, origin: url.replace(/\/api$/, ''), adminToken, clientToken };
  return info;
}

/**
 * Stops the Unleash process only (PostgreSQL stays up so a restart takes seconds).
 * Asynchronous so the clients under test keep running their timers meanwhile.
 */
export async function stopServer(): Promise<void> {
  await run('bash', [SCRIPT, 'stop-server']);
}

/** Starts the server again on the same port; resolves once it serves the client API. */
export async function startServer(): Promise<void> {
  await run('bash', [SCRIPT, 'start'], { timeout: 180_000 });
}
