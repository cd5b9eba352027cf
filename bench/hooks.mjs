/**
 * What an evaluation hook costs: isEnabled and getVariant throughput of the built client
 * (dist/) with no hook and with one hook that does nothing, on the benchmark's generated
 * flags and contexts, on the same machine. Each client lives in its own child process (as
 * in an application, which has one client; two in one process would share compiled code
 * and type feedback); the parent asks them for one timed round each in rotating order
 * (interleaved), so a noisy neighbour slows all alike. The medians and their ratio are
 * printed, with the bytes allocated per call (V8's sampling heap profiler) to show the
 * hook-free path allocates nothing.
 *
 *   npm run build && node --expose-gc bench/hooks.mjs [--flags 200] [--contexts 1000] [--rounds 7] [--round-ms 300] [--baseline DIR]
 *
 * `--baseline DIR`: also time a client built from another checkout (DIR/dist/index.js, e.g.
 * the commit before hooks existed) in the same interleaved rounds, to show what the
 * hook-free path costs against code that has no hook check at all.
 *
 * Self-contained on purpose (bench/run.mjs and its helpers are the main benchmark).
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateContexts, generateFlags } from './generator.mjs';

const args = process.argv.slice(2);
const raw = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const arg = (name, fallback) => (raw(name) === undefined ? fallback : Number(raw(name)));
const BASELINE = raw('baseline');
const FLAGS = arg('flags', 200);
const CONTEXTS = arg('contexts', 1000);
const ROUNDS = arg('rounds', 7);
const ROUND_MS = arg('round-ms', 300);

const body = generateFlags(FLAGS);
const text = JSON.stringify(body);
const names = body.features.map((f) => f.name);
const contexts = generateContexts(CONTEXTS);

/** One timed round: every flag for one context after another, for at least `ms`; ops/s of CPU time. */
function round(target, method, ms, state) {
  const F = names.length;
  let ops = 0;
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  do {
    const context = contexts[state.c];
    if (++state.c === contexts.length) state.c = 0;
    if (method === 'isEnabled') {
      for (let f = 0; f < F; f++) if (target.isEnabled(names[f], context)) sink++;
    } else {
      for (let f = 0; f < F; f++) if (target.getVariant(names[f], context).enabled) sink++;
    }
    ops += F;
  } while (performance.now() - t0 < ms);
  const cpu = process.cpuUsage(cpu0);
  state.sink += sink;
  return (ops * 1e6) / Math.max(1, cpu.user + cpu.system);
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Bytes allocated per call (sampling heap profiler at 16-byte intervals, garbage included). */
async function bytesPerCall(target, method, calls = 20_000) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  const context = contexts[0];
  let sink = 0;
  const run = () => {
    for (let i = 0; i < calls; i++) {
      const name = names[i % names.length];
      if (method === 'isEnabled' ? target.isEnabled(name, context) : target.getVariant(name, context).enabled) sink++;
    }
  };
  const sampled = async (fn) => {
    await session.post('HeapProfiler.startSampling', { samplingInterval: 16, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    fn();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    let total = 0;
    const walk = (node) => {
      total += node.selfSize;
      node.children.forEach(walk);
    };
    walk(profile.head);
    return total;
  };
  try {
    for (let i = 0; i < 3; i++) run();
    const overhead = await sampled(() => {});
    const total = await sampled(run);
    return sink < 0 ? 0 : Math.max(0, total - overhead) / calls;
  } finally {
    await session.post('HeapProfiler.disable');
    session.disconnect();
  }
}

/**
 * A child process holding one client (`none`: no hook, `hook`: one no-op hook, `base`: the
 * baseline build), timing rounds on request. One client per process, as in an application:
 * clients with and without hooks in one process would share the client's compiled code and
 * its type feedback, and so slow each other down.
 */
async function child(kind) {
  const dir = kind === 'base' ? `file://${BASELINE.replace(/\/$/, '')}/dist/index.js` : new URL('../dist/index.js', import.meta.url).href;
  const { UnleashClient, MemoryCache } = await import(dir);
  const cache = new MemoryCache();
  await cache.bootstrapFromDict(text);
  let hookCalls = 0;
  const hooks = kind === 'hook' ? [{ name: 'no-op', afterEvaluation: () => void hookCalls++ }] : undefined;
  const client = new UnleashClient({ appName: 'bench-hooks', cache, offline: true, disableRegistration: true, ...(hooks ? { hooks } : {}) });
  client.on('warning', () => {}); // the generated flags reference a missing segment and parent on purpose
  await client.start();
  const state = { c: 0, sink: 0 };
  process.on('message', async (msg) => {
    if (msg.type === 'round') {
      globalThis.gc?.();
      process.send({ opsPerSec: round(client, msg.method, msg.ms, state) });
    } else if (msg.type === 'bytes') {
      process.send({ bytes: await bytesPerCall(client, msg.method) });
    } else {
      await client.destroy();
      process.send({ done: true, hookNeverRan: kind === 'hook' && hookCalls === 0 });
      process.disconnect();
    }
  });
  process.send({ ready: true });
}

if (args[0] === '--child') {
  await child(args[1]);
} else {
  const kinds = ['none', 'hook', ...(BASELINE === undefined ? [] : ['base'])];
  const workers = await Promise.all(
    kinds.map(async (kind) => {
      const proc = fork(fileURLToPath(import.meta.url), ['--child', kind, ...args], { execArgv: ['--expose-gc'] });
      const pending = [];
      proc.on('message', (msg) => pending.shift()?.(msg));
      const ask = (msg) => new Promise((resolve) => {
        pending.push(resolve);
        if (msg !== undefined) proc.send(msg);
      });
      await ask(undefined); // ready
      return { kind, ask };
    }),
  );
  const rows = [];
  for (const method of ['isEnabled', 'getVariant']) {
    for (const w of workers) await w.ask({ type: 'round', method, ms: ROUND_MS }); // warm-up
    const results = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // One round each, in rotating order, so all share the machine's moments alike.
      for (let k = 0; k < workers.length; k++) {
        const w = workers[(r + k) % workers.length];
        results[w.kind].push((await w.ask({ type: 'round', method, ms: ROUND_MS })).opsPerSec);
      }
    }
    const row = { method };
    for (const w of workers) {
      row[w.kind] = median(results[w.kind]);
      row[`${w.kind}Bytes`] = (await w.ask({ type: 'bytes', method })).bytes;
    }
    rows.push(row);
  }
  for (const w of workers) {
    if ((await w.ask({ type: 'done' })).hookNeverRan) throw new Error('the hook never ran: the comparison measured nothing');
  }
  const fmt = (n) => `${(n / 1e6).toFixed(2)} M`;
  console.log(`switchyard hooks benchmark: ${FLAGS} flags x ${CONTEXTS} contexts, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms (median, CPU time), node ${process.versions.node}`);
  const withBase = BASELINE !== undefined;
  console.log(`| call | no hook (ops/s) | one no-op hook (ops/s) | no hook / hook | bytes/call no hook | bytes/call hook |${withBase ? ' baseline (ops/s) | no hook / baseline |' : ''}`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: |${withBase ? ' ---: | ---: |' : ''}`);
  for (const r of rows) {
    const base = withBase ? ` ${fmt(r.base)} | ${(r.none / r.base).toFixed(2)}x |` : '';
    console.log(`| ${r.method} | ${fmt(r.none)} | ${fmt(r.hook)} | ${(r.none / r.hook).toFixed(2)}x | ${r.noneBytes.toFixed(1)} | ${r.hookBytes.toFixed(1)} |${base}`);
  }
}
