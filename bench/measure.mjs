/**
 * Measurements shared by the benchmark runner and the smoke test: answer digests,
 * throughput, allocation per call, load time and retained heap.
 *
 * Every loop calls `target.isEnabled` / `target.getVariant` directly, as an application
 * would. Each system runs in its own process (see worker.mjs), so the JIT never sees the
 * other system's objects at these call sites.
 */
import { performance } from 'node:perf_hooks';

/** FNV-1a over a string, from a given offset basis: two bases give two independent lanes. */
function fnv(h, text) {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The canonical text of one (isEnabled, getVariant) answer pair. */
export function answerText(enabled, variant) {
  const payload = variant.payload;
  return `${enabled ? 1 : 0}|${variant.name}|${variant.enabled ? 1 : 0}|${variant.feature_enabled ? 1 : 0}|${payload ? `${payload.type}|${payload.value}` : '-'}`;
}

/**
 * Evaluates every (flag, context) pair with `isEnabled` and `getVariant` and digests the
 * answers per flag (two independent 32-bit FNV-1a lanes), so a mismatch can be located.
 */
export function digestAnswers(target, names, contexts) {
  const perFlag = new Array(names.length);
  let enabledCount = 0;
  let variantCount = 0;
  for (let f = 0; f < names.length; f++) {
    const name = names[f];
    let a = 0x811c9dc5;
    let b = 0x01000193;
    for (let c = 0; c < contexts.length; c++) {
      const context = contexts[c];
      const enabled = target.isEnabled(name, context);
      const variant = target.getVariant(name, context);
      if (enabled) enabledCount++;
      if (variant.enabled) variantCount++;
      const text = answerText(enabled, variant);
      a = fnv(a, text);
      b = fnv(b ^ c, text);
    }
    perFlag[f] = [a, b];
  }
  return { perFlag, enabledCount, variantCount, pairs: names.length * contexts.length };
}

/** One digest over all flags from the per-flag lanes: the same for any split of the work. */
export function digestOf(perFlag) {
  let a = 0x811c9dc5;
  let b = 0x1b873593;
  for (const [x, y] of perFlag) {
    a = Math.imul(a ^ x, 0x01000193) >>> 0;
    b = Math.imul(b ^ y, 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** Every context's answer text for one flag, to show where two systems disagree. */
export function answersFor(target, name, contexts) {
  return contexts.map((context) => answerText(target.isEnabled(name, context), target.getVariant(name, context)));
}

/** Milliseconds of CPU this process used since `start` (a `process.cpuUsage()` reading). */
function cpuMs(start) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/**
 * One timed round: contexts in turn, every flag for each (a request checks many flags for
 * one user), until `minMs` of wall time have passed. Returns evaluations per second of
 * wall time and per second of this process's CPU time (the latter does not count time the
 * machine gave to other processes), and where the next round starts.
 */
function isEnabledRound(target, names, contexts, start, minMs) {
  const F = names.length;
  const C = contexts.length;
  let c = start;
  let ops = 0;
  let on = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let t1;
  do {
    const context = contexts[c];
    if (++c === C) c = 0;
    for (let f = 0; f < F; f++) if (target.isEnabled(names[f], context)) on++;
    ops += F;
  } while ((t1 = performance.now()) - t0 < minMs);
  return { opsPerSec: (ops * 1000) / (t1 - t0), opsPerCpuSec: (ops * 1000) / cpuMs(cpu0), next: c, sink: on };
}

function getVariantRound(target, names, contexts, start, minMs) {
  const F = names.length;
  const C = contexts.length;
  let c = start;
  let ops = 0;
  let on = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let t1;
  do {
    const context = contexts[c];
    if (++c === C) c = 0;
    for (let f = 0; f < F; f++) if (target.getVariant(names[f], context).enabled) on++;
    ops += F;
  } while ((t1 = performance.now()) - t0 < minMs);
  return { opsPerSec: (ops * 1000) / (t1 - t0), opsPerCpuSec: (ops * 1000) / cpuMs(cpu0), next: c, sink: on };
}

export function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Warm-up, then `rounds` timed rounds; the median evaluations per second (CPU time, the
 * headline figure; see `isEnabledRound`), the wall-time median, and every round's figures.
 */
export function throughput(target, names, contexts, { method, rounds, roundMs, warmupMs }) {
  const round = method === 'isEnabled' ? isEnabledRound : getVariantRound;
  let next = 0;
  let sink = 0;
  ({ next, sink } = round(target, names, contexts, next, warmupMs));
  const wall = [];
  const cpu = [];
  for (let i = 0; i < rounds; i++) {
    const r = round(target, names, contexts, next, roundMs);
    next = r.next;
    sink += r.sink;
    wall.push(r.opsPerSec);
    cpu.push(r.opsPerCpuSec);
  }
  return { opsPerSec: median(cpu), wallOpsPerSec: median(wall), cpu, wall, sink };
}

/** Bytes allocated while `body` runs, every object counted (V8's sampling heap profiler at 16-byte intervals, collected objects included). */
async function allocatedDuring(session, body) {
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  body();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  let total = 0;
  const walk = (node) => {
    total += node.selfSize;
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  return total;
}

/**
 * Bytes allocated per call, counted by V8's sampling heap profiler (every allocation,
 * garbage included), minus what an empty run of the profiler itself allocates.
 * `contextsPerRun`: 1 evaluates every flag for one context again and again, as requests
 * with a known context do (the per-call cost); more uses a new context every
 * `calls / contextsPerRun` calls, so per-context work (the first parse of a context's
 * currentTime, address or version) is included, amortised.
 */
export async function allocationPerCall(target, names, contexts, method, { calls = 20_000, contextsPerRun = 1, from = 0 } = {}) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  const F = names.length;
  const perContext = Math.max(1, Math.floor(calls / contextsPerRun));
  let sink = 0;
  let first = from;
  const run = () => {
    let f = 0;
    let k = first;
    let left = perContext;
    for (let i = 0; i < calls; i++) {
      const context = contexts[k % contexts.length];
      const r = method === 'isEnabled' ? target.isEnabled(names[f], context) : target.getVariant(names[f], context).enabled;
      if (r) sink++;
      if (++f === F) f = 0;
      if (--left === 0) {
        left = perContext;
        k++;
      }
    }
  };
  try {
    // Warm: code optimised and lazily built state built, for the very contexts measured.
    for (let i = 0; i < 3; i++) run();
    const overhead = await allocatedDuring(session, () => {});
    if (contextsPerRun > 1) first += contextsPerRun;
    const total = await allocatedDuring(session, run);
    if (sink < 0) console.log(sink);
    return Math.max(0, total - overhead) / calls;
  } finally {
    await session.post('HeapProfiler.disable');
    session.disconnect();
  }
}

/** Load time: `rounds` fresh loads after `warmup` untimed ones; median milliseconds. */
export async function loadTime(load, { rounds, warmup }) {
  const samples = [];
  for (let i = 0; i < warmup + rounds; i++) {
    const t0 = performance.now();
    const system = await load();
    const ms = performance.now() - t0;
    await system.destroy();
    if (i >= warmup) samples.push(ms);
  }
  return { ms: median(samples), samples };
}

async function settle() {
  // Let deferred work (ticks, promises, sockets closing, and switchyard's check of its
  // deferred flags after a load, which runs in slices) finish, then collect everything:
  // wait until the event loop has been idle (under 5% busy) for 50 ms, at most 5 s. The
  // same wait for both systems; a system with no work left waits 50 ms.
  const until = performance.now() + 5000;
  let last = performance.eventLoopUtilization();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = performance.eventLoopUtilization();
    if (performance.eventLoopUtilization(now, last).utilization < 0.05 || performance.now() > until) break;
    last = now;
  }
  for (let i = 0; i < 4; i++) globalThis.gc();
}

/**
 * Heap retained by a loaded system: full GCs around `copies` loads held at once, divided
 * by `copies`; the body text is allocated beforehand (it is input, not state). `warm`
 * (optional) runs on each loaded system before the second reading, to include what
 * evaluation builds lazily (metrics counters, caches). Needs `--expose-gc`.
 */
export async function retainedHeap(load, { copies = 3, warm } = {}) {
  if (typeof globalThis.gc !== 'function') return undefined;
  await settle();
  const before = process.memoryUsage().heapUsed;
  const held = [];
  for (let i = 0; i < copies; i++) held.push(await load());
  await settle();
  const loaded = process.memoryUsage().heapUsed;
  if (warm) for (const system of held) warm(system.target);
  await settle();
  const warmed = process.memoryUsage().heapUsed;
  for (const system of held) await system.destroy();
  return { loaded: (loaded - before) / copies, warmed: (warmed - before) / copies };
}
