/**
 * Starts the real Unleash server before the e2e suite (installing it on first use) and
 * remembers whether this run started it, so global-teardown stops only what it started.
 * SWITCHYARD_E2E_KEEP=1 leaves a server started here running for faster reruns.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../scripts/unleash-server.sh', import.meta.url));

export default function globalSetup() {
  const wasRunning = spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
  const started = Date.now();
  // stdout (the env lines) is not needed here: tests read them with `env`.
  const result = spawnSync('bash', [script, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) {
    throw new Error(`scripts/unleash-server.sh start failed (exit ${result.status ?? result.signal})`);
  }
  if (!wasRunning) {
    process.stderr.write(`\nUnleash server ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  globalThis.__switchyardE2eStopServer = !wasRunning && process.env.SWITCHYARD_E2E_KEEP !== '1';
}
