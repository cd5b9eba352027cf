/**
 * The murmur-hash-only floor: what one evaluation would cost if it did nothing but hash
 * `"<groupId>:<userId>"` — the one piece of work a sticky rollout cannot skip. Measured
 * with the very hashing code switchyard ships (lib/engine/hash.ts, transpiled on the fly: it is
 * internal, so dist does not export it), over the same flags and contexts as the
 * evaluations, plus the raw cost of the `murmurhash3js-revisited` package for reference.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateContexts } from './generator.mjs';
import { median } from './measure.mjs';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** lib/engine/hash.ts as an ES module, transpiled by the project's TypeScript into .tmp/. */
async function loadShippedHash() {
  const ts = require('typescript');
  const source = readFileSync(`${ROOT}lib/engine/hash.ts`, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  mkdirSync(`${ROOT}.tmp`, { recursive: true });
  const file = `${ROOT}.tmp/bench-hash-${process.pid}.mjs`;
  writeFileSync(file, outputText);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(file, { force: true });
  }
}

function timeRounds(rounds, roundMs, body) {
  body(roundMs); // warm-up
  const samples = [];
  for (let i = 0; i < rounds; i++) samples.push(body(roundMs));
  return median(samples);
}

/** Hashes per second for each hashing variant, over the benchmark's flags and contexts. */
export async function murmurFloor({ bodyFile, contexts: contextCount, rounds, roundMs }) {
  const hash = await loadShippedHash();
  const murmur = require('murmurhash3js-revisited');
  const names = JSON.parse(readFileSync(bodyFile, 'utf8')).features.map((f) => f.name);
  const contexts = generateContexts(contextCount);
  const ids = contexts.map((c) => c.userId ?? c.sessionId);
  const prefixes = names.map((n) => hash.hashPrefix(n));
  const F = names.length;
  const C = ids.length;

  const loop = (fn) => (minMs) => {
    let c = 0;
    let ops = 0;
    let sink = 0;
    const t0 = performance.now();
    let t1;
    do {
      const id = ids[c];
      if (++c === C) c = 0;
      for (let f = 0; f < F; f++) sink ^= fn(f, id);
      ops += F;
    } while ((t1 = performance.now()) - t0 < minMs);
    if (sink === 0.5) console.log(sink);
    return (ops * 1000) / (t1 - t0);
  };

  const shipped = timeRounds(rounds, roundMs, loop((f, id) => hash.normalizedRollout(prefixes[f], id)));

  // The package on its own, over bytes prepared once (no encoding cost at all).
  const encoder = new TextEncoder();
  const bytes = [];
  for (let i = 0; i < 4096; i++) bytes.push(encoder.encode(`${names[i % F]}:${ids[i % C]}`));
  const packageLoop = (minMs) => {
    let ops = 0;
    let sink = 0;
    const t0 = performance.now();
    let t1;
    do {
      for (let i = 0; i < 4096; i++) sink ^= murmur.x86.hash32(bytes[i], 0);
      ops += 4096;
    } while ((t1 = performance.now()) - t0 < minMs);
    if (sink === 0.5) console.log(sink);
    return (ops * 1000) / (t1 - t0);
  };
  const packageValidated = timeRounds(rounds, roundMs, packageLoop);
  murmur.inputValidation = false;
  const packageUnvalidated = timeRounds(rounds, roundMs, packageLoop);
  murmur.inputValidation = true;
  const averageBytes = bytes.reduce((n, b) => n + b.length, 0) / bytes.length;
  return { shipped, packageValidated, packageUnvalidated, averageBytes };
}
