/**
 * switchyard vs the official Node SDK (`unleash-client`), same flags, same contexts,
 * same run. `npm run bench` (builds first); `BENCH_QUICK=1 npm run bench` for a short run.
 *
 * Each measurement runs in a fresh child process per system (bench/worker.mjs), one at a
 * time, so the systems never share a JIT, a heap or a CPU. Only the answer digest of the
 * slow system is spread over two processes at once: it is not timed.
 *
 * Exit code 1 when the answer digests differ: a mismatch is a bug, not a number.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFlags } from './generator.mjs';
import { digestOf } from './measure.mjs';
import { officialVersion } from './systems.mjs';

const QUICK = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
const CONFIG = QUICK
  ? { flags: 200, contexts: 1000, rounds: 3, roundMs: 150, warmupMs: 300, loadRounds: 3, scale: [1000, 5000], scaleRounds: 2 }
  : { flags: 1000, contexts: 10_000, rounds: 5, roundMs: 400, warmupMs: 800, loadRounds: 5, scale: [1000, 10_000, 50_000], scaleRounds: 2 };
const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));

function runWorker(task) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', WORKER, JSON.stringify(task)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`worker ${task.kind}/${task.system ?? '-'} failed (exit ${code}):\n${err.slice(-3000)}`));
        return;
      }
      resolve(JSON.parse(line.slice('BENCH_RESULT '.length)));
    });
  });
}

function step(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

const fmtOps = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`);
const fmtMs = (n) => (n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`);
const fmtBytes = (n) => (n === undefined ? 'n/a' : n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : `${(n / 1024).toFixed(0)} KiB`);
const fmtAlloc = (n) => (n === undefined ? 'n/a' : `${n.toFixed(n < 10 ? 1 : 0)} B`);

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('   ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('   ')];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join('\n');
}

function switchyardVersion() {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
}

async function main() {
  const started = Date.now();
  const loadAtStart = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  try {
    step(`${QUICK ? 'quick' : 'full'} run: ${CONFIG.flags} flags × ${CONFIG.contexts} contexts`);
    const bodyFile = join(dir, `flags-${CONFIG.flags}.json`);
    writeFileSync(bodyFile, JSON.stringify(generateFlags(CONFIG.flags)));
    const common = { bodyFile, contexts: CONFIG.contexts, rounds: CONFIG.rounds, roundMs: CONFIG.roundMs, warmupMs: CONFIG.warmupMs, loadRounds: CONFIG.loadRounds };

    step('switchyard: load, heap, isEnabled, getVariant, allocation, answer digest');
    const ours = await runWorker({ ...common, kind: 'main', system: 'switchyard' });
    step('unleash-client: load, heap, isEnabled, getVariant, allocation');
    const theirs = await runWorker({ ...common, kind: 'main', system: 'official', digest: false });
    step('murmur-hash-only floor');
    const floor = await runWorker({ ...common, kind: 'floor' });

    step(`scale: ${CONFIG.scale.join(', ')} flags`);
    const scale = [];
    for (const size of CONFIG.scale) {
      const file = join(dir, `scale-${size}.json`);
      writeFileSync(file, JSON.stringify(generateFlags(size)));
      const task = { kind: 'scale', bodyFile: file, loadRounds: CONFIG.scaleRounds, copies: size >= 50_000 ? 1 : 2 };
      const s = await runWorker({ ...task, system: 'switchyard' });
      const o = await runWorker({ ...task, system: 'official' });
      scale.push({ size, ours: s, theirs: o });
      rmSync(file);
    }

    step('unchanged payloads: 304 and identical 200 bodies');
    const refresh = await runWorker({ kind: 'refresh', bodyFile });

    step('unleash-client: answer digest (2 processes, untimed)');
    const half = Math.ceil(CONFIG.flags / 2);
    const slices = await Promise.all([
      runWorker({ kind: 'digest', system: 'official', bodyFile, contexts: CONFIG.contexts, from: 0, to: half }),
      runWorker({ kind: 'digest', system: 'official', bodyFile, contexts: CONFIG.contexts, from: half, to: CONFIG.flags }),
    ]);
    const theirsPerFlag = [...slices[0].digest.perFlag, ...slices[1].digest.perFlag];
    const mismatched = [];
    ours.digest.perFlag.forEach((d, i) => {
      const t = theirsPerFlag[i];
      if (d[0] !== t[0] || d[1] !== t[1]) mismatched.push(i);
    });
    const digestOurs = digestOf(ours.digest.perFlag);
    const digestTheirs = digestOf(theirsPerFlag);
    const names = JSON.parse(readFileSync(bodyFile, 'utf8')).features.map((f) => f.name);

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const ratioIs = ours.isEnabled.opsPerSec / theirs.isEnabled.opsPerSec;
    const ratioGv = ours.getVariant.opsPerSec / theirs.getVariant.opsPerSec;
    const ns = (opsPerSec) => `${(1e9 / opsPerSec).toFixed(0)} ns`;
    console.log('');
    console.log(`switchyard ${switchyardVersion()} vs unleash-client ${officialVersion()}: ${CONFIG.flags} flags × ${CONFIG.contexts.toLocaleString('en-US')} contexts${QUICK ? ' (QUICK run: small, short, indicative only)' : ''}`);
    console.log(`node ${process.version}, ${availableParallelism()} cores (${cpu}), load average at start ${loadAtStart}`);
    console.log(`switchyard via ${ours.mode}, unleash-client via ${theirs.mode}; both count metrics on every call.`);
    console.log(`Throughput: evaluations per CPU-second of the process, median of ${CONFIG.rounds} rounds after warm-up (wall-clock medians in parentheses).`);
    console.log('');
    console.log(
      table([
        ['', 'switchyard', 'unleash-client', 'ratio'],
        ['isEnabled', `${fmtOps(ours.isEnabled.opsPerSec)} (${fmtOps(ours.isEnabled.wallOpsPerSec)})`, `${fmtOps(theirs.isEnabled.opsPerSec)} (${fmtOps(theirs.isEnabled.wallOpsPerSec)})`, `${ratioIs.toFixed(1)}×`],
        ['getVariant', `${fmtOps(ours.getVariant.opsPerSec)} (${fmtOps(ours.getVariant.wallOpsPerSec)})`, `${fmtOps(theirs.getVariant.opsPerSec)} (${fmtOps(theirs.getVariant.wallOpsPerSec)})`, `${ratioGv.toFixed(1)}×`],
        ['isEnabled, time per call', ns(ours.isEnabled.opsPerSec), ns(theirs.isEnabled.opsPerSec), ''],
        ['getVariant, time per call', ns(ours.getVariant.opsPerSec), ns(theirs.getVariant.opsPerSec), ''],
        ['allocated per isEnabled / getVariant', `${fmtAlloc(ours.alloc.isEnabled)} / ${fmtAlloc(ours.alloc.getVariant)}`, `${fmtAlloc(theirs.alloc.isEnabled)} / ${fmtAlloc(theirs.alloc.getVariant)}`, ''],
        ['  same, new context every 1000 calls', `${fmtAlloc(ours.alloc.isEnabledNewContexts)} / ${fmtAlloc(ours.alloc.getVariantNewContexts)}`, `${fmtAlloc(theirs.alloc.isEnabledNewContexts)} / ${fmtAlloc(theirs.alloc.getVariantNewContexts)}`, ''],
        ['load: fetch to ready', fmtMs(ours.loadMs), fmtMs(theirs.loadMs), `${(ours.loadMs / theirs.loadMs).toFixed(1)}× the time`],
        ['retained heap: loaded', fmtBytes(ours.heap?.loaded), fmtBytes(theirs.heap?.loaded), `${(ours.heap?.loaded / theirs.heap?.loaded).toFixed(2)}× the heap`],
        ['retained heap: every flag evaluated', fmtBytes(ours.heap?.warmed), fmtBytes(theirs.heap?.warmed), `${(ours.heap?.warmed / theirs.heap?.warmed).toFixed(2)}× the heap`],
        ['answer digest', digestOurs, digestTheirs, mismatched.length === 0 ? 'MATCH' : `MISMATCH (${mismatched.length} flags)`],
      ]),
    );
    console.log('');
    console.log(
      `murmur-hash-only floor (one "<groupId>:<userId>" hash per call with switchyard's lib/engine/hash.ts): ${fmtOps(floor.shipped)} ` +
        `(${ns(floor.shipped)}); isEnabled runs at ${((100 * ours.isEnabled.opsPerSec) / floor.shipped).toFixed(0)}% of it.`,
    );
    console.log(
      `murmurhash3js-revisited alone on pre-encoded ${floor.averageBytes.toFixed(0)}-byte inputs: ${fmtOps(floor.packageValidated)} with its default ` +
        `inputValidation, ${fmtOps(floor.packageUnvalidated)} without.`,
    );
    console.log(
      `Answers compared: ${ours.digest.pairs.toLocaleString('en-US')} (flag, context) pairs, isEnabled and getVariant each ` +
        `(${ours.digest.enabledCount.toLocaleString('en-US')} enabled, ${ours.digest.variantCount.toLocaleString('en-US')} with a variant).`,
    );
    console.log('');
    console.log('Targets:');
    const target = (ok, label, value, goal) => console.log(`  ${ok ? 'met    ' : 'NOT MET'}  ${label}: ${value} (target: ${goal})`);
    target(ratioIs >= 20, 'isEnabled throughput', `${ratioIs.toFixed(1)}×`, '≥ 20×');
    target(ratioGv >= 10, 'getVariant throughput', `${ratioGv.toFixed(1)}×`, '≥ 10×');
    target(ours.heap?.loaded <= theirs.heap?.loaded, 'retained heap, loaded', `${fmtBytes(ours.heap?.loaded)} vs ${fmtBytes(theirs.heap?.loaded)}`, '≤ unleash-client');
    target(ours.heap?.warmed <= theirs.heap?.warmed, 'retained heap, every flag evaluated', `${fmtBytes(ours.heap?.warmed)} vs ${fmtBytes(theirs.heap?.warmed)}`, '≤ unleash-client');
    const perCall = Math.max(ours.alloc.isEnabled ?? Infinity, ours.alloc.getVariant ?? Infinity);
    target(perCall < 2, 'allocation per call (one context)', `${fmtAlloc(ours.alloc.isEnabled)} / ${fmtAlloc(ours.alloc.getVariant)}`, '~0 B; the clock read of DATE_* without currentTime boxes 16 B');
    target(refresh.kept304, 'unchanged payload (304) not recompiled', refresh.kept304 ? 'kept' : 'recompiled', 'kept');
    target(refresh.keptIdentical, 'unchanged payload (identical 200 body) not recompiled', refresh.keptIdentical ? 'kept' : 'recompiled', 'kept');
    const biggest = scale[scale.length - 1];
    target(
      biggest.ours.compileMs < 3000,
      `compile of ${biggest.size.toLocaleString('en-US')} flags`,
      fmtMs(biggest.ours.compileMs),
      '≪ the 15 s default refresh interval (under a fifth of it)',
    );
    const first = scale[0];
    const growth = (x) => (x(biggest) / biggest.size / (x(first) / first.size)).toFixed(2);
    const heapGrowth = Number(growth((r) => r.ours.heap.loaded));
    target(
      heapGrowth > 0.75 && heapGrowth < 1.25,
      'linear growth',
      `per-flag heap at ${biggest.size.toLocaleString('en-US')} vs ${first.size.toLocaleString('en-US')} flags: switchyard ${growth((r) => r.ours.heap.loaded)}×, ` +
        `unleash-client ${growth((r) => r.theirs.heap.loaded)}×; per-flag compile time ${growth((r) => r.ours.compileMs)}×`,
      '≈ 1× (see the scale table)',
    );
    console.log('');
    console.log('Scale (load: fetch from a loopback server until ready; compile: parse + compile of the body by the engine alone):');
    console.log(
      table([
        ['flags', 'switchyard load', 'compile', 'heap', 'per flag', 'unleash-client load', 'heap', 'per flag'],
        ...scale.map(({ size, ours: s, theirs: o }) => [
          size.toLocaleString('en-US'),
          fmtMs(s.loadMs),
          fmtMs(s.compileMs),
          fmtBytes(s.heap?.loaded),
          `${(s.heap?.loaded / size / 1024).toFixed(2)} KiB`,
          fmtMs(o.loadMs),
          fmtBytes(o.heap?.loaded),
          `${(o.heap?.loaded / size / 1024).toFixed(2)} KiB`,
        ]),
      ]),
    );
    console.log('');
    console.log(`Reproduce: ${QUICK ? 'BENCH_QUICK=1 ' : ''}npm run bench   (total ${((Date.now() - started) / 1000).toFixed(0)} s)`);

    if (mismatched.length > 0) {
      console.log('');
      console.log(`DIGEST MISMATCH on ${mismatched.length} flags; first differing answers:`);
      for (const i of mismatched.slice(0, 3)) {
        const flag = names[i];
        const [a, b] = await Promise.all([
          runWorker({ kind: 'answers', system: 'switchyard', bodyFile, contexts: CONFIG.contexts, flag }),
          runWorker({ kind: 'answers', system: 'official', bodyFile, contexts: CONFIG.contexts, flag }),
        ]);
        let shown = 0;
        for (let c = 0; c < a.answers.length && shown < 3; c++) {
          if (a.answers[c] !== b.answers[c]) {
            console.log(`  ${flag} context #${c}: switchyard ${a.answers[c]} | unleash-client ${b.answers[c]}`);
            shown++;
          }
        }
      }
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 2;
});
