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
import { digestOf, median } from './measure.mjs';
import { officialVersion } from './systems.mjs';

const QUICK = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
/**
 * `sizes`: the flag counts every row is measured at; the first is the base size, where the
 * answers are compared, the floor and the context-size rows are measured. Larger sizes
 * take fewer rounds (each load of 50,000 flags takes a second or more).
 */
const CONFIG = QUICK
  ? { sizes: [200, 2000], contexts: 1000, rounds: 3, roundMs: 150, warmupMs: 300, loadRounds: 3, coldRuns: 2 }
  : { sizes: [1000, 10_000, 50_000], contexts: 10_000, rounds: 5, roundMs: 400, warmupMs: 800, loadRounds: 5, coldRuns: 5 };
const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/** The goals of issue 12 ("Speed at scale"); ratios decide, never absolute times. */
const GOALS = {
  throughput: 20, // × unleash-client, isEnabled and getVariant
  coldLoad: 1.5, // × unleash-client's time, bootstrap to ready in a fresh process
  heap: 1, // × unleash-client's retained heap
  stallMs: 100, // worst event-loop delay while an update of every flag is taken in
  contextSize: 1.5, // time per call, 10,000-property context ÷ small context
};

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
const fmtMs = (n) => (n === undefined ? 'n/a' : n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`);
const fmtBytes = (n) => (n === undefined ? 'n/a' : n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : `${(n / 1024).toFixed(0)} KiB`);
const fmtAlloc = (n) => (n === undefined ? 'n/a' : `${n.toFixed(n < 10 ? 1 : 0)} B`);
const fmtSize = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

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

/** Medians of fresh-process runs of one cold-start kind. */
function coldMedians(runs) {
  return { importMs: median(runs.map((r) => r.importMs)), readyMs: median(runs.map((r) => r.readyMs)), totalMs: median(runs.map((r) => r.importMs + r.readyMs)) };
}

/**
 * The cold starts of both systems, interleaved (switchyard then unleash-client, from a
 * bootstrap then from a fetch, `coldRuns` rounds), so that whatever else the host does
 * weighs on both alike; medians per system and source.
 */
async function coldStarts(bodyFile) {
  const runs = { switchyard: { bootstrap: [], server: [] }, official: { bootstrap: [], server: [] } };
  for (let i = 0; i < CONFIG.coldRuns; i++) {
    for (const source of ['bootstrap', 'server']) {
      for (const system of ['switchyard', 'official']) runs[system][source].push(await runWorker({ kind: 'cold', system, source, bodyFile }));
    }
  }
  const of = (system) => ({ coldBoot: coldMedians(runs[system].bootstrap), coldFetch: coldMedians(runs[system].server) });
  return { switchyard: of('switchyard'), official: of('official') };
}

/** Every measurement at one size, both systems, one process at a time. */
async function measureSize(size, bodyFile, base) {
  const big = size >= 10_000;
  const common = {
    bodyFile,
    contexts: CONFIG.contexts,
    rounds: big ? 3 : CONFIG.rounds,
    roundMs: CONFIG.roundMs,
    warmupMs: CONFIG.warmupMs,
    loadRounds: big ? 2 : CONFIG.loadRounds,
    loadWarmup: big ? 1 : 2,
    copies: size >= 50_000 ? 1 : big ? 2 : 3,
  };
  const out = {};
  for (const system of ['switchyard', 'official']) {
    const name = system === 'official' ? 'unleash-client' : 'switchyard';
    step(`${fmtSize(size)} flags, ${name}: load, heap, throughput (metrics on), allocation${base && system === 'switchyard' ? ', answer digest' : ''}`);
    const main = await runWorker({ ...common, kind: 'main', system, digest: base && system === 'switchyard' ? undefined : false });
    step(`${fmtSize(size)} flags, ${name}: throughput with metrics off`);
    const off = await runWorker({ ...common, kind: 'main', system, metrics: false, throughputOnly: true });
    step(`${fmtSize(size)} flags, ${name}: an update of every flag while running`);
    const update = await runWorker({ kind: 'update', system, bodyFile, settleMs: big ? 1500 : 500 });
    let compileMs;
    if (system === 'switchyard') compileMs = (await runWorker({ kind: 'scale', system, bodyFile, loadRounds: 2, copies: 1 })).compileMs;
    out[system] = { main, off, update, compileMs };
  }
  step(`${fmtSize(size)} flags: cold starts (${CONFIG.coldRuns} fresh processes per system and source, the two systems interleaved)`);
  const colds = await coldStarts(bodyFile);
  for (const system of ['switchyard', 'official']) Object.assign(out[system], colds[system]);
  return out;
}

async function main() {
  const started = Date.now();
  const loadAtStart = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  try {
    const baseSize = CONFIG.sizes[0];
    step(`${QUICK ? 'quick' : 'full'} run: ${CONFIG.sizes.map(fmtSize).join(', ')} flags × ${CONFIG.contexts} contexts`);
    const files = {};
    for (const size of CONFIG.sizes) {
      files[size] = join(dir, `flags-${size}.json`);
      writeFileSync(files[size], JSON.stringify(generateFlags(size)));
    }
    const bodyFile = files[baseSize];
    const results = {};
    for (const size of CONFIG.sizes) results[size] = await measureSize(size, bodyFile === files[size] ? bodyFile : files[size], size === baseSize);

    step('murmur-hash-only floor');
    const floor = await runWorker({ kind: 'floor', bodyFile, contexts: CONFIG.contexts, rounds: CONFIG.rounds, roundMs: CONFIG.roundMs, warmupMs: CONFIG.warmupMs });
    step('context size: isEnabled with a 10,000-property context');
    const contextSize = { switchyard: await runWorker({ kind: 'context-size', system: 'switchyard' }), official: await runWorker({ kind: 'context-size', system: 'official' }) };
    step('unchanged payloads: 304 and identical 200 bodies');
    const refresh = await runWorker({ kind: 'refresh', bodyFile });

    step('unleash-client: answer digest (2 processes, untimed)');
    const flags = baseSize;
    const half = Math.ceil(flags / 2);
    const slices = await Promise.all([
      runWorker({ kind: 'digest', system: 'official', bodyFile, contexts: CONFIG.contexts, from: 0, to: half }),
      runWorker({ kind: 'digest', system: 'official', bodyFile, contexts: CONFIG.contexts, from: half, to: flags }),
    ]);
    const ours = results[baseSize].switchyard.main;
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
    const ns = (opsPerSec) => `${(1e9 / opsPerSec).toFixed(0)} ns`;
    console.log('');
    console.log(
      `switchyard ${switchyardVersion()} vs unleash-client ${officialVersion()}: ${CONFIG.sizes.map(fmtSize).join(', ')} flags × ${CONFIG.contexts.toLocaleString('en-US')} contexts` +
        `${QUICK ? ' (QUICK run: small, short, indicative only)' : ''}`,
    );
    console.log(`node ${process.version}, ${availableParallelism()} cores (${cpu}), load average at start ${loadAtStart}`);
    console.log(`switchyard via ${ours.mode}, unleash-client via ${results[baseSize].official.main.mode}.`);
    console.log('Throughput: evaluations per CPU-second of the process, median of the rounds after warm-up. Ratios decide; absolute times depend on the machine.');

    const goals = [];
    const mark = (ok) => (ok ? 'met' : 'NOT MET');
    for (const size of CONFIG.sizes) {
      const { switchyard: s, official: o } = results[size];
      const r = (a, b) => a / b;
      const isOn = r(s.main.isEnabled.opsPerSec, o.main.isEnabled.opsPerSec);
      const gvOn = r(s.main.getVariant.opsPerSec, o.main.getVariant.opsPerSec);
      const isOff = r(s.off.isEnabled.opsPerSec, o.off.isEnabled.opsPerSec);
      const gvOff = r(s.off.getVariant.opsPerSec, o.off.getVariant.opsPerSec);
      const coldBoot = r(s.coldBoot.readyMs, o.coldBoot.readyMs);
      const coldFetch = r(s.coldFetch.readyMs, o.coldFetch.readyMs);
      const heapLoaded = r(s.main.heap?.loaded, o.main.heap?.loaded);
      const heapWarmed = r(s.main.heap?.warmed, o.main.heap?.warmed);
      const heapBoot = r(s.main.heapBootstrap?.loaded, o.main.heapBootstrap?.loaded);
      const stall = s.update.maxStallMs;
      const rows = [
        ['', 'switchyard', 'unleash-client', 'ratio', 'goal', ''],
        ['isEnabled, metrics on (default)', `${fmtOps(s.main.isEnabled.opsPerSec)} (${ns(s.main.isEnabled.opsPerSec)})`, `${fmtOps(o.main.isEnabled.opsPerSec)} (${ns(o.main.isEnabled.opsPerSec)})`, `${isOn.toFixed(1)}×`, `≥ ${GOALS.throughput}×`, mark(isOn >= GOALS.throughput)],
        ['getVariant, metrics on (default)', `${fmtOps(s.main.getVariant.opsPerSec)} (${ns(s.main.getVariant.opsPerSec)})`, `${fmtOps(o.main.getVariant.opsPerSec)} (${ns(o.main.getVariant.opsPerSec)})`, `${gvOn.toFixed(1)}×`, `≥ ${GOALS.throughput}×`, mark(gvOn >= GOALS.throughput)],
        ['isEnabled, metrics off', `${fmtOps(s.off.isEnabled.opsPerSec)} (${ns(s.off.isEnabled.opsPerSec)})`, `${fmtOps(o.off.isEnabled.opsPerSec)} (${ns(o.off.isEnabled.opsPerSec)})`, `${isOff.toFixed(1)}×`, `≥ ${GOALS.throughput}×`, mark(isOff >= GOALS.throughput)],
        ['getVariant, metrics off', `${fmtOps(s.off.getVariant.opsPerSec)} (${ns(s.off.getVariant.opsPerSec)})`, `${fmtOps(o.off.getVariant.opsPerSec)} (${ns(o.off.getVariant.opsPerSec)})`, `${gvOff.toFixed(1)}×`, `≥ ${GOALS.throughput}×`, mark(gvOff >= GOALS.throughput)],
        ['allocated per isEnabled / getVariant', `${fmtAlloc(s.main.alloc.isEnabled)} / ${fmtAlloc(s.main.alloc.getVariant)}`, `${fmtAlloc(o.main.alloc.isEnabled)} / ${fmtAlloc(o.main.alloc.getVariant)}`, '', '', ''],
        ['  same, new context every 1000 calls', `${fmtAlloc(s.main.alloc.isEnabledNewContexts)} / ${fmtAlloc(s.main.alloc.getVariantNewContexts)}`, `${fmtAlloc(o.main.alloc.isEnabledNewContexts)} / ${fmtAlloc(o.main.alloc.getVariantNewContexts)}`, '', '', ''],
        ['cold: import the SDK (fresh process)', fmtMs(s.coldBoot.importMs), fmtMs(o.coldBoot.importMs), `${r(s.coldBoot.importMs, o.coldBoot.importMs).toFixed(2)}×`, '', ''],
        ['cold: bootstrap to ready (fresh process)', fmtMs(s.coldBoot.readyMs), fmtMs(o.coldBoot.readyMs), `${coldBoot.toFixed(2)}×`, `≤ ${GOALS.coldLoad}×`, mark(coldBoot <= GOALS.coldLoad)],
        ['cold: import + bootstrap to ready', fmtMs(s.coldBoot.totalMs), fmtMs(o.coldBoot.totalMs), `${r(s.coldBoot.totalMs, o.coldBoot.totalMs).toFixed(2)}×`, '', ''],
        ['cold: fetch to ready (fresh process)', fmtMs(s.coldFetch.readyMs), fmtMs(o.coldFetch.readyMs), `${coldFetch.toFixed(2)}×`, `≤ ${GOALS.coldLoad}×`, mark(coldFetch <= GOALS.coldLoad)],
        // switchyard loads its HTTP client (got) at the first request, unleash-client at its
        // import: only the sum compares the same work.
        ['cold: import + fetch to ready', fmtMs(s.coldFetch.totalMs), fmtMs(o.coldFetch.totalMs), `${r(s.coldFetch.totalMs, o.coldFetch.totalMs).toFixed(2)}×`, '', ''],
        ['warm: fetch to ready (median of reloads)', fmtMs(s.main.loadMs), fmtMs(o.main.loadMs), `${r(s.main.loadMs, o.main.loadMs).toFixed(2)}×`, '', ''],
        ['retained heap: loaded', fmtBytes(s.main.heap?.loaded), fmtBytes(o.main.heap?.loaded), `${heapLoaded.toFixed(2)}×`, `≤ ${GOALS.heap}×`, mark(heapLoaded <= GOALS.heap)],
        ['retained heap: loaded from a bootstrap', fmtBytes(s.main.heapBootstrap?.loaded), fmtBytes(o.main.heapBootstrap?.loaded), `${heapBoot.toFixed(2)}×`, `≤ ${GOALS.heap}×`, mark(heapBoot <= GOALS.heap)],
        ['retained heap: every flag evaluated', fmtBytes(s.main.heap?.warmed), fmtBytes(o.main.heap?.warmed), `${heapWarmed.toFixed(2)}×`, `≤ ${GOALS.heap}×`, mark(heapWarmed <= GOALS.heap)],
        [`update of every flag (${fmtBytes(s.update.bytes)}): worst event-loop stall`, fmtMs(stall), fmtMs(o.update.maxStallMs), `${r(stall, o.update.maxStallMs).toFixed(2)}×`, `≤ ${GOALS.stallMs} ms`, mark(stall <= GOALS.stallMs)],
        ['  same, 99th percentile of the delay', fmtMs(s.update.p99StallMs), fmtMs(o.update.p99StallMs), '', '', ''],
        ['  last byte received to new flags served', fmtMs(s.update.lastByteToServedMs), fmtMs(o.update.lastByteToServedMs), `${r(s.update.lastByteToServedMs, o.update.lastByteToServedMs).toFixed(2)}×`, '', ''],
        ['compile (engine alone: parse + compile)', fmtMs(s.compileMs), '', '', '', ''],
      ];
      console.log('');
      console.log(`${size.toLocaleString('en-US')} flags`);
      console.log(table(rows));
      for (const row of rows.slice(1)) if (row[5] !== '') goals.push({ size, label: row[0], value: `${row[3]} (${row[1]} vs ${row[2]})`, goal: row[4], ok: row[5] === 'met' });
    }

    const ctxRatio = contextSize.switchyard.bigNs / contextSize.switchyard.smallNs;
    const ctxRatioTheirs = contextSize.official.bigNs / contextSize.official.smallNs;
    console.log('');
    console.log(
      table([
        ['isEnabled, flag reading appName/environment', 'switchyard', 'unleash-client'],
        ['small context', `${contextSize.switchyard.smallNs.toFixed(0)} ns`, `${contextSize.official.smallNs.toFixed(0)} ns`],
        ['10,000-property context', `${contextSize.switchyard.bigNs.toFixed(0)} ns`, `${contextSize.official.bigNs.toFixed(0)} ns`],
        ['ratio (10,000 properties ÷ small)', `${ctxRatio.toFixed(2)}×`, `${ctxRatioTheirs.toFixed(2)}×`],
      ]),
    );
    goals.push({ size: 1, label: 'isEnabled independent of context size (10,000 properties ÷ small)', value: `${ctxRatio.toFixed(2)}×`, goal: `≤ ${GOALS.contextSize}×`, ok: ctxRatio <= GOALS.contextSize });

    const base = results[baseSize].switchyard.main;
    console.log('');
    console.log(`Answers compared at ${fmtSize(baseSize)} flags: ${base.digest.pairs.toLocaleString('en-US')} (flag, context) pairs, isEnabled and getVariant each ` +
      `(${base.digest.enabledCount.toLocaleString('en-US')} enabled, ${base.digest.variantCount.toLocaleString('en-US')} with a variant): ` +
      `${digestOurs} vs ${digestTheirs}, ${mismatched.length === 0 ? 'MATCH' : `MISMATCH (${mismatched.length} flags)`}.`);
    console.log(
      `murmur-hash-only floor (one "<groupId>:<userId>" hash per call with switchyard's lib/engine/hash.ts): ${fmtOps(floor.shipped)} ` +
        `(${ns(floor.shipped)}); isEnabled runs at ${((100 * base.isEnabled.opsPerSec) / floor.shipped).toFixed(0)}% of it. ` +
        `murmurhash3js-revisited alone on pre-encoded ${floor.averageBytes.toFixed(0)}-byte inputs: ${fmtOps(floor.packageValidated)} with its default ` +
        `inputValidation, ${fmtOps(floor.packageUnvalidated)} without.`,
    );
    console.log(`Unchanged payloads: a 304 ${refresh.kept304 ? 'kept' : 'RECOMPILED'} the snapshot; an identical 200 body ${refresh.keptIdentical ? 'kept' : 'RECOMPILED'} it.`);
    const first = results[CONFIG.sizes[0]].switchyard;
    const last = results[CONFIG.sizes[CONFIG.sizes.length - 1]].switchyard;
    const growth = (x) => (x(last) / CONFIG.sizes[CONFIG.sizes.length - 1] / (x(first) / CONFIG.sizes[0])).toFixed(2);
    console.log(`Growth per flag from ${fmtSize(CONFIG.sizes[0])} to ${fmtSize(CONFIG.sizes[CONFIG.sizes.length - 1])} flags: heap ${growth((r) => r.main.heap.loaded)}×, compile ${growth((r) => r.compileMs)}× (≈ 1× is linear).`);

    console.log('');
    console.log('Goals (issue 12):');
    for (const g of goals) console.log(`  ${g.ok ? 'met    ' : 'NOT MET'}  ${g.size > 1 ? `${fmtSize(g.size)} flags: ` : ''}${g.label}: ${g.value} (goal ${g.goal})`);
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
    if (!refresh.kept304 || !refresh.keptIdentical) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 2;
});
