/**
 * A real Redis server for tests: installed from Debian's `redis-server` package when it is
 * missing (CI starts on a clean machine, as root, without stdin), started on a free
 * 127.0.0.1 port with persistence off, and stopped by the test that started it.
 *
 * When Redis can be neither found nor installed, `startRedis` throws with the reason: a
 * test that needs Redis fails loudly rather than skipping.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A running Redis server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM) and removes its working directory. Idempotent. */
  stop(): Promise<void>;
}

/** Installing a package can take a while on a cold machine: this bounds a stuck apt. */
const APT_TIMEOUT = 10 * 60 * 1000;

function findOnPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(command: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        timeout: APT_TIMEOUT,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      },
      (err, stdout, stderr) => resolve({ ok: err === null, output: `${stdout}${stderr}` }),
    );
  });
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * The path of `redis-server`, installing Debian's package when it is missing. Throws with
 * apt's output when it cannot be installed (no network, not root, not Debian).
 */
export async function ensureRedisServer(): Promise<string> {
  const found = findOnPath('redis-server');
  if (found) return found;
  const apt = findOnPath('apt-get');
  if (!apt) throw new Error('redis-server is not installed and apt-get is not available: install Redis to run this test');
  if (process.getuid?.() !== 0) {
    throw new Error('redis-server is not installed: run `apt-get install -y redis-server` as root, or run the tests as root');
  }
  // Waits for a dpkg lock held by another install rather than failing at once.
  const install = ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', 'redis-server'];
  let result = await run(apt, install);
  if (!result.ok) {
    // A clean machine may have no package lists yet, or stale ones.
    const update = await run(apt, ['-o', 'DPkg::Lock::Timeout=300', 'update']);
    result = update.ok ? await run(apt, install) : update;
  }
  const installed = findOnPath('redis-server');
  if (!result.ok || !installed) {
    throw new Error(`redis-server is missing and could not be installed with apt-get:\n${tail(result.output)}`);
  }
  return installed;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Resolves once Redis says it accepts connections; rejects with its output if it exits. */
function whenReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.off('exit', onExit);
        child.off('error', reject);
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      reject(new Error(`redis-server exited (${signal ?? `code ${code}`}) before it was ready:\n${tail(output)}`));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

/**
 * Installs Redis if needed and starts a private server on 127.0.0.1: on a free port, or on
 * `port` (to start one again where a stopped one was, as a restarted Redis would be).
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  const binary = await ensureRedisServer();
  let lastError: unknown;
  // The port was free when picked; another process may take it first, so try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (options.port !== undefined && attempt > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-redis-'));
    const child = spawn(
      binary,
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--protected-mode', 'yes',
        '--save', '',
        '--appendonly', 'no',
        '--dir', dir,
        '--daemonize', 'no',
        '--loglevel', 'notice',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await whenReady(child);
    } catch (err) {
      lastError = err;
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    // Keep draining its output so a chatty server never blocks on a full pipe.
    child.stdout!.resume();
    child.stderr!.resume();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let stopping: Promise<void> | undefined;
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop() {
        stopping ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error('redis-server did not start');
}
