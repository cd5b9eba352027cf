/**
 * A custom strategy that returns a rejecting Promise must not take the host process down:
 * the rejection is observed by the engine. Run in a child process with Node's default
 * `--unhandled-rejections=throw`, where an unobserved rejection exits with code 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('a custom strategy returning a rejecting Promise is false, warned once, and the process lives on', () => {
  if (!existsSync(`${root}dist/engine.js`)) throw new Error('dist/ is missing: run `npm run build` first (`npm test` does it in pretest)');
  const script = `
    import { Engine, Strategy, parseClientPayload } from './dist/engine.js';
    class Async extends Strategy {
      constructor() { super('async'); }
      isEnabled() { return Promise.reject(new Error('rejected in a strategy')); }
    }
    const warnings = [];
    const engine = new Engine({ strategies: [new Async()], onWarning: (m) => warnings.push(m) });
    const flag = engine.load(parseClientPayload({ version: 2, features: [{ name: 'f', enabled: true, strategies: [{ name: 'async' }] }] }).payload).get('f');
    const answers = [];
    for (let i = 0; i < 100; i++) answers.push(flag.isEnabled({ userId: String(i) }));
    setTimeout(() => console.log(JSON.stringify({ on: answers.filter(Boolean).length, warnings: warnings.length })), 50);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
  expect(JSON.parse(child.stdout)).toEqual({ on: 0, warnings: 1 });
});
