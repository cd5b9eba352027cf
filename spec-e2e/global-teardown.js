/** Stops the Unleash server after the e2e suite, when global-setup started it. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../scripts/unleash-server.sh', import.meta.url));

export default function globalTeardown() {
  if (globalThis.__switchyardE2eStopServer) {
    spawnSync('bash', [script, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}
