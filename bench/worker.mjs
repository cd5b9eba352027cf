/**
 * One measurement task for one system, in its own process (started by run.mjs), so that
 * neither system's objects, JIT feedback nor heap disturb the other's figures.
 *
 *   node --expose-gc bench/worker.mjs '<json task>'
 *
 * Prints one line `BENCH_RESULT <json>` on stdout.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateContexts } from './generator.mjs';
import { murmurFloor } from './floor.mjs';
import { allocationPerCall, answersFor, digestAnswers, loadTime, median, retainedHeap, throughput } from './measure.mjs';
import { createFlagServer, loadOfficial, loadSwitchyard } from './systems.mjs';
import { createRequire } from 'node:module';

const task = JSON.parse(process.argv[2]);

async function loaderFor(system) {
  if (system === 'official') return loadOfficial;
  const mod = await import('../dist/index.js');
  return (text, options) => loadSwitchyard(mod, text, options);
}

/** Evaluates every flag for a few contexts: what any running service has done. */
function warmer(names, contexts) {
  return (target) => {
    for (let c = 0; c < 10; c++) {
      for (const name of names) {
        target.isEnabled(name, contexts[c]);
        target.getVariant(name, contexts[c]);
      }
    }
  };
}

async function mainTask(text) {
  const names = JSON.parse(text).features.map((f) => f.name);
  const contexts = generateContexts(task.contexts);
  const loader = await loaderFor(task.system);
  const server = await createFlagServer(text);
  const metrics = task.metrics !== false;
  try {
    const load = () => loader(text, { url: server.url, metrics });
    const opts = { rounds: task.rounds, roundMs: task.roundMs, warmupMs: task.warmupMs };
    if (task.throughputOnly) {
      // Metrics off: the same loops in a process of its own.
      const system = await load();
      const isEnabled = throughput(system.target, names, contexts, { ...opts, method: 'isEnabled' });
      const getVariant = throughput(system.target, names, contexts, { ...opts, method: 'getVariant' });
      await system.destroy();
      return { mode: system.mode, isEnabled, getVariant };
    }
    const loaded = await loadTime(load, { rounds: task.loadRounds, warmup: task.loadWarmup ?? 2 });
    const heap = await retainedHeap(load, { copies: task.copies ?? 3, warm: warmer(names, contexts) });
    // An offline client, or one before its first fetch: the flags came from a bootstrap.
    const heapBootstrap = await retainedHeap(() => loader(text, { source: 'bootstrap', metrics }), { copies: task.copies ?? 3 });
    const system = await load();
    const { target } = system;
    const isEnabled = throughput(target, names, contexts, { ...opts, method: 'isEnabled' });
    const getVariant = throughput(target, names, contexts, { ...opts, method: 'getVariant' });
    // Every flag for one context, as one request does; then a new context every 1000 calls.
    const calls = task.system === 'official' ? 2000 : 20_000;
    const oneContext = async (method) => {
      let sum = 0;
      for (let from = 0; from < 4; from++) sum += await allocationPerCall(target, names, contexts, method, { calls, from });
      return sum / 4;
    };
    const alloc = {
      isEnabled: await oneContext('isEnabled'),
      getVariant: await oneContext('getVariant'),
      isEnabledNewContexts: await allocationPerCall(target, names, contexts, 'isEnabled', { calls, contextsPerRun: calls / 1000 }),
      getVariantNewContexts: await allocationPerCall(target, names, contexts, 'getVariant', { calls, contextsPerRun: calls / 1000 }),
    };
    const digest = task.digest === false ? undefined : digestAnswers(target, names, contexts);
    await system.destroy();
    return {
      mode: system.mode,
      loadMs: loaded.ms,
      loadSamples: loaded.samples,
      heap,
      heapBootstrap,
      isEnabled,
      getVariant,
      alloc,
      digest,
    };
  } finally {
    await server.close();
  }
}

/** Digest of a slice of the flags only (run.mjs splits the slow system across processes). */
async function digestTask(text) {
  const names = JSON.parse(text).features.map((f) => f.name);
  const contexts = generateContexts(task.contexts);
  const loader = await loaderFor(task.system);
  const system = await loader(text, { source: 'bootstrap' });
  const digest = digestAnswers(system.target, names.slice(task.from, task.to), contexts);
  await system.destroy();
  return { digest };
}

async function scaleTask(text) {
  const loader = await loaderFor(task.system);
  const server = await createFlagServer(text);
  try {
    const load = () => loader(text, { url: server.url });
    const loaded = await loadTime(load, { rounds: task.loadRounds, warmup: 1 });
    const heap = await retainedHeap(load, { copies: task.copies ?? 1 });
    let compileMs;
    if (task.system === 'switchyard') {
      // The engine alone: parse + compile of a new body, as a poll that brings changes does.
      const { Engine, parseClientPayload } = await import('../dist/engine.js');
      const samples = [];
      for (let i = 0; i < task.loadRounds; i++) {
        const engine = new Engine();
        const t0 = performance.now();
        engine.load(parseClientPayload(text).payload);
        samples.push(performance.now() - t0);
      }
      compileMs = median(samples);
    }
    return { loadMs: loaded.ms, loadSamples: loaded.samples, heap, compileMs };
  } finally {
    await server.close();
  }
}

/**
 * One cold start in this fresh process: the SDK's import, then either a bootstrap from the
 * body (`source: 'bootstrap'`: no network) or a fetch from a loopback server, until ready.
 * The server and the body are ready before the clock starts. Nothing of the SDK is loaded
 * before: this worker's own modules import neither.
 */
async function coldTask(text) {
  const server = task.source === 'server' ? await createFlagServer(text) : undefined;
  try {
    const t0 = performance.now();
    let loader;
    if (task.system === 'official') {
      createRequire(import.meta.url)('unleash-client');
      loader = loadOfficial;
    } else {
      const mod = await import('../dist/index.js');
      loader = (body, options) => loadSwitchyard(mod, body, options);
    }
    const t1 = performance.now();
    const system = await loader(text, server === undefined ? { source: 'bootstrap' } : { url: server.url });
    const t2 = performance.now();
    await system.destroy();
    return { importMs: t1 - t0, readyMs: t2 - t1 };
  } finally {
    await server?.close();
  }
}

/**
 * isEnabled with a small context and with one of 10,000 properties, for a flag whose
 * constraints read appName and environment (which the caller leaves out, so each SDK
 * fills in its defaults). Time per call, median of rounds; the ratio is what counts.
 */
async function contextSizeTask() {
  const body = JSON.stringify({
    version: 2,
    features: [
      {
        name: 'reads-defaults',
        enabled: true,
        strategies: [
          {
            name: 'default',
            parameters: {},
            constraints: [
              { contextName: 'appName', operator: 'IN', values: ['switchyard-bench'] },
              { contextName: 'environment', operator: 'IN', values: ['default', 'production'] },
            ],
          },
        ],
      },
    ],
  });
  const loader = await loaderFor(task.system);
  const system = await loader(body, { source: 'bootstrap' });
  const properties = {};
  for (let i = 0; i < 10_000; i++) properties[`p${i}`] = `v${i}`;
  const small = { userId: 'u1', properties: { plan: 'pro' } };
  const big = { userId: 'u1', properties };
  const perCall = (context) => {
    const samples = [];
    let on = 0;
    for (let round = 0; round < 7; round++) {
      let calls = 0;
      const t0 = performance.now();
      let t1;
      do {
        for (let i = 0; i < 50; i++) if (system.target.isEnabled('reads-defaults', context)) on++;
        calls += 50;
      } while ((t1 = performance.now()) - t0 < 60);
      samples.push(((t1 - t0) * 1e6) / calls);
    }
    if (on === 0) throw new Error('the flag reading appName/environment was off: the defaults were not applied');
    return median(samples.slice(2));
  };
  const smallNs = perCall(small);
  const bigNs = perCall(big);
  await system.destroy();
  return { smallNs, bigNs };
}

/** The flag the update brings: on for everyone, so its first `true` marks the new flags served. */
const SENTINEL = 'bench-update-sentinel';

/**
 * A running client takes an update of every flag (each flag's description changes, and a
 * sentinel flag appears) from a loopback server on its own thread. While it does,
 * `perf_hooks.monitorEventLoopDelay` (1 ms resolution) records how late the event loop
 * ran, and a 1 ms interval asks for the sentinel: its first `true` is when the new flags
 * were served. Each SDK runs with its default cache, a file in a temporary directory.
 */
async function updateTask(text) {
  const { Worker } = await import('node:worker_threads');
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const body = JSON.parse(text);
  const updated = JSON.stringify({
    ...body,
    features: [
      ...body.features.map((f) => ({ ...f, description: `${f.description ?? ''} (updated)` })),
      { name: SENTINEL, enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
    ],
  });
  const thread = new Worker(new URL('./server-thread.mjs', import.meta.url), { workerData: { body: text } });
  const messages = [];
  let wake = () => {};
  thread.on('message', (m) => {
    messages.push(m);
    wake();
  });
  const waitFor = async (test) => {
    for (;;) {
      const found = messages.find(test);
      if (found !== undefined) return found;
      await new Promise((resolve) => (wake = resolve));
    }
  };
  const { url } = await waitFor((m) => m.url !== undefined);
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-cache-'));
  const loader = await loaderFor(task.system);
  const epoch = () => performance.timeOrigin + performance.now();
  try {
    const system = await loader(text, { url, refreshInterval: 1000, backupPath: dir });
    const { target } = system;
    const context = { userId: 'u1' };
    if (target.isEnabled(SENTINEL, context)) throw new Error('the sentinel was on before the update');
    // The first load's 200 is reported from the server's thread asynchronously: wait for
    // it, so the next one reported is the update's.
    await waitFor((m) => m.sentAt !== undefined);
    const sentBefore = messages.filter((m) => m.sentAt !== undefined).length;
    thread.postMessage({ body: updated });
    await waitFor((m) => m.replaced);
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const servedAt = await new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('the update was not served within 120 s')), 120_000);
      const timer = setInterval(() => {
        if (target.isEnabled(SENTINEL, context)) {
          clearInterval(timer);
          clearTimeout(deadline);
          resolve(epoch());
        }
      }, 1);
    });
    // The cache write and whatever else follows the swap count too.
    await sleep(task.settleMs ?? 1500);
    histogram.disable();
    const sent = messages.filter((m) => m.sentAt !== undefined)[sentBefore];
    await system.destroy();
    return {
      maxStallMs: histogram.max / 1e6,
      p99StallMs: histogram.percentile(99) / 1e6,
      lastByteToServedMs: servedAt - sent.sentAt,
      bytes: sent.bytes,
    };
  } finally {
    thread.postMessage({ close: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Does a poll that brings nothing new recompile? First a 304, then the identical body
 * with a 200 and no ETag: after each, the client should still hold the same snapshot.
 */
async function refreshTask(text) {
  const mod = await import('../dist/index.js');
  const server = await createFlagServer(text);
  const client = new mod.UnleashClient({
    appName: 'switchyard-bench',
    url: server.url,
    cache: new mod.MemoryCache(),
    refreshInterval: 1000,
    disableMetrics: true,
    disableRegistration: true,
  });
  let fetched = 0;
  client.on('fetched', () => fetched++);
  // A private field, read only here: the snapshot object is what a recompile replaces.
  const snapshot = () => client.engine?.snapshot;
  try {
    await client.start();
    const first = snapshot();
    while (server.served.notModified === 0) await sleep(25);
    await sleep(25);
    const kept304 = snapshot() === first;
    const fetchedAfter304 = fetched;
    server.setEtags(false);
    while (server.served.full < 2) await sleep(25);
    await sleep(50);
    const keptIdentical = snapshot() === first;
    return { kept304, keptIdentical, fetchedAfter304, fetchedAfterIdentical: fetched };
  } finally {
    await client.destroy();
    await server.close();
  }
}

async function main() {
  const text = task.bodyFile ? readFileSync(task.bodyFile, 'utf8') : undefined;
  switch (task.kind) {
    case 'main':
      return mainTask(text);
    case 'digest':
      return digestTask(text);
    case 'scale':
      return scaleTask(text);
    case 'refresh':
      return refreshTask(text);
    case 'update':
      return updateTask(text);
    case 'cold':
      return coldTask(text);
    case 'context-size':
      return contextSizeTask();
    case 'answers': {
      const loader = await loaderFor(task.system);
      const system = await loader(text, { source: 'bootstrap' });
      const answers = answersFor(system.target, task.flag, generateContexts(task.contexts));
      await system.destroy();
      return { answers };
    }
    case 'floor':
      return murmurFloor(task);
    default:
      throw new Error(`unknown task ${task.kind}`);
  }
}

main().then(
  (result) => {
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
    // The official SDK may keep sockets or timers of its own; do not wait for them.
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
