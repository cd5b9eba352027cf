/**
 * The engine and strategies stay pure: nothing they import (transitively, within the
 * project) reaches HTTP, timers, the file system or `node:os`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const forbidden = /^(node:)?(http|https|http2|net|tls|dgram|fs|fs\/promises|os|timers|timers\/promises|child_process|worker_threads)$|^got$|^node-cache$/;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

function closure(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const specs = importsOf(file);
    seen.set(file, specs);
    for (const spec of specs) if (spec.startsWith('.')) stack.push(`${resolve(dirname(file), spec)}.ts`);
  }
  return seen;
}

// Every file of lib/engine/ (not only what its index reaches), the strategies and the parser.
const entries = [...readdirSync(join(root, 'lib/engine')).filter((f) => f.endsWith('.ts')).map((f) => `lib/engine/${f}`), 'strategies/registry.ts', 'lib/payload.ts'];

test.each(entries)('%s imports no I/O module', (entry) => {
  const graph = closure(join(root, entry));
  expect(graph.size).toBeGreaterThan(0);
  const offenders = [...graph].flatMap(([file, specs]) => specs.filter((s) => forbidden.test(s)).map((s) => `${file} -> ${s}`));
  expect(offenders).toEqual([]);
  // setTimeout/setInterval are globals, not imports: check for them by name too.
  const timerUse = [...graph.keys()].filter((file) => /\bset(Timeout|Interval|Immediate)\s*\(/.test(readFileSync(file, 'utf8')));
  expect(timerUse).toEqual([]);
});
