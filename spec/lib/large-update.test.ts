/**
 * A large update is compiled in slices that yield to the event loop, evaluations answer
 * from the old flags until the new ones are served in one swap, and payloads are served in
 * the order they arrive (a full payload supersedes those still compiling before it; a delta
 * queues behind them). Nothing here is timed: the slices end after at most 2,000 flags
 * (SLICED_COMPILE_FLAGS), whatever the machine's speed, so the turns counted are a floor.
 */
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { UnleashClient } from '../../lib/client';
import { Engine, type PendingLoad } from '../../lib/engine/engine';
import type { MetricsStore } from '../../lib/metrics';
import type { UnleashEvent } from '../../lib/events';
import type { FlagSource } from '../../lib/test-data';
import type { FeaturesPayload } from '../../lib/types';
import { SLICED_COMPILE_FLAGS } from '../../lib/snapshot-loader';
import { Poller, SLICED_PARSE_BYTES } from '../../lib/poller';
import { FIRST_LOAD_PARSE_BYTES } from '../../lib/payload-slices';
import { FileCache } from '../../cache/file-cache';
import { TestServer } from '../support/test-server';
import { ManualScheduler } from '../support/manual-scheduler';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIG = 3 * SLICED_COMPILE_FLAGS;

function flag(name: string, enabled: boolean) {
  return { name, enabled, strategies: [{ name: 'default', parameters: {}, constraints: [], segments: [], variants: [] }], variants: [], dependencies: [], impressionData: false };
}

/** `count` filler flags plus `changing`, on or off. */
function body(count: number, changing: boolean): FeaturesPayload {
  const features = Array.from({ length: count }, (_, i) => flag(`filler-${i}`, true));
  features.push(flag('changing', changing));
  return { version: 2, features, segments: [] } as FeaturesPayload;
}

/** A flag source the test pushes through by hand. */
function manualSource(): FlagSource & { push(body: unknown): void } {
  let listener: ((payload: FeaturesPayload) => void) | undefined;
  return {
    subscribe(l) {
      listener = l;
      return () => (listener = undefined);
    },
    push(b) {
      listener!(b as FeaturesPayload);
    },
  };
}

/** Runs a setImmediate loop until stopped: each turn of the event loop calls `onTurn` once. */
function everyTurn(onTurn: () => void): () => void {
  let on = true;
  let turns = 0;
  const tick = (): void => {
    if (!on || ++turns > 20_000) return;
    onTurn();
    setImmediate(tick);
  };
  setImmediate(tick);
  return () => (on = false);
}

describe('a large update', () => {
  let client: UnleashClient | undefined;
  afterEach(async () => {
    await client?.destroy();
    client = undefined;
  });

  async function start(source: FlagSource, events: UnleashEvent[]) {
    client = new UnleashClient({ appName: 'large-update', offline: true, flagSource: source, eventCallback: (e) => events.push(e) });
    await client.start();
    return client;
  }

  /** Resolves once `count` fetched events were seen, or after 20,000 turns (the test's expectations then fail). */
  function served(events: UnleashEvent[], count: number): Promise<void> {
    let turns = 0;
    return new Promise((resolve) => {
      const check = (): void => {
        if (events.filter((e) => e.type === 'fetched').length >= count || ++turns > 20_000) resolve();
        else setImmediate(check);
      };
      check();
    });
  }

  /**
   * Pushes an update that turns `changing` on (the second `fetched`) and checks it was
   * served in slices: not in this turn, the loop turning between slices (at least one turn
   * per 2,000 flags compiled) and only ever seeing the old answer; then the new flags, all
   * of them at once. `meanwhile` runs right after the push.
   */
  async function servedInSlices(c: UnleashClient, events: UnleashEvent[], push: () => void, meanwhile?: () => void): Promise<void> {
    const seen: boolean[] = [];
    const stop = everyTurn(() => {
      if (events.filter((e) => e.type === 'fetched').length < 2) seen.push(c.isEnabled('changing'));
    });
    push();
    expect(c.isEnabled('changing')).toBe(false);
    meanwhile?.();
    await served(events, 2);
    stop();
    expect(seen.length).toBeGreaterThanOrEqual(BIG / SLICED_COMPILE_FLAGS - 1);
    expect(seen.every((answer) => answer === false)).toBe(true);
    expect(c.isEnabled('changing')).toBe(true);
    expect(c.status().flagCount).toBe(BIG + 1);
  }

  test('yields to the event loop while it compiles, and evaluations answer from the old flags until one swap', async () => {
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    source.push(body(10, false));
    expect(c.isEnabled('changing')).toBe(false); // small: served at once
    await servedInSlices(c, events, () => source.push(body(BIG, true)), () => expect(c.status().flagCount).toBe(11));
  });

  test.each([
    ['one changed flag', (): unknown => ({ events: [{ type: 'feature-updated', eventId: 2, feature: flag('changing', true) }] })],
    ['a hydration of every flag', (): unknown => ({ events: [{ type: 'hydration', eventId: 2, features: body(BIG, true).features, segments: [] }] })],
  ])('a delta on top of many flags (%s) compiles in slices too: it compiles the whole state again', async (_, delta) => {
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    source.push(body(BIG, false));
    await served(events, 1);
    expect(c.status().flagCount).toBe(BIG + 1);

    // Not served in this turn: the whole state compiles in slices.
    await servedInSlices(c, events, () => source.push(delta()));
  });

  test('a small delta on top of few flags is still served at once', async () => {
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    source.push(body(10, false));
    source.push({ events: [{ type: 'feature-updated', eventId: 2, feature: flag('changing', true) }] });
    expect(c.isEnabled('changing')).toBe(true);
  });

  /** Counts the compiles of `Engine.prepare` that have finished (their last `step` answered true). */
  function watchCompiles(): { done: number } {
    const seen = { done: 0 };
    const prepare = Engine.prototype.prepare;
    jest.spyOn(Engine.prototype, 'prepare').mockImplementation(function (this: Engine, payload) {
      const pending: PendingLoad = prepare.call(this, payload);
      return {
        step: (shouldYield) => {
          const done = pending.step(shouldYield);
          if (done) seen.done++;
          return done;
        },
        compiled: () => pending.compiled(),
        commit: () => pending.commit(),
      };
    });
    return seen;
  }

  test('builds the new flag table in slices too, after the compile: the loop turns between the two and the swap', async () => {
    const compiles = watchCompiles();
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    source.push(body(10, false));
    expect(compiles.done).toBe(1); // small: compiled and served at once

    // Turns of the loop after the big compile ended and before its flags were served.
    const between: boolean[] = [];
    const stop = everyTurn(() => {
      if (compiles.done === 2 && events.filter((e) => e.type === 'fetched').length < 2) between.push(c.isEnabled('changing'));
    });
    source.push(body(BIG, true));
    await served(events, 2);
    stop();
    jest.restoreAllMocks();
    // BIG + 1 entries, at most 2,000 per slice: at least two turns between compile and swap,
    // and each still answered from the old table.
    expect(between.length).toBeGreaterThanOrEqual(BIG / SLICED_COMPILE_FLAGS - 1);
    expect(between.every((answer) => answer === false)).toBe(true);
    expect(c.isEnabled('changing')).toBe(true);
    expect(c.status().flagCount).toBe(BIG + 1);
  });

  test('metrics counts made while a large update compiles and its table is built all carry over the swap', async () => {
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    const store = (c as unknown as { store: MetricsStore }).store;
    const small = body(10, false);
    small.features.push(flag('dropped', true) as never);
    source.push(small);
    const big = body(BIG, true);
    big.features.push(flag('arriving', true) as never);

    let turns = 0;
    const stop = everyTurn(() => {
      if (events.filter((e) => e.type === 'fetched').length >= 2) return;
      turns++;
      c.isEnabled('changing'); // old entry: false
      c.isEnabled('dropped'); // served now, gone after the swap
      c.isEnabled('arriving'); // unknown now, served after the swap
      c.getVariant('filler-0');
    });
    source.push(big);
    await served(events, 2);
    stop();
    expect(turns).toBeGreaterThanOrEqual((2 * BIG) / SLICED_COMPILE_FLAGS - 1);
    // After the swap: counted on the new entries.
    c.isEnabled('changing');
    c.isEnabled('arriving');
    c.isEnabled('dropped'); // unknown now

    const toggles = store.take(Date.now())!.toggles;
    expect(toggles['changing']).toEqual({ yes: 1, no: turns, variants: {} });
    expect(toggles['dropped']).toEqual({ yes: turns, no: 1, variants: {} });
    expect(toggles['arriving']).toEqual({ yes: 1, no: turns, variants: {} });
    expect(toggles['filler-0']).toEqual({ yes: turns, no: 0, variants: { disabled: turns } });
    expect(store.take(Date.now())).toBeUndefined();
  });

  test('a full payload arriving while a large one compiles supersedes it: the older is never served', async () => {
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    source.push(body(BIG, true));
    source.push(body(5, false)); // small, but behind the big one: queued, not served at once
    expect(c.hasFlags).toBe(false);
    await served(events, 1);
    await new Promise((resolve) => setImmediate(resolve));
    const fetched = events.filter((e): e is Extract<UnleashEvent, { type: 'fetched' }> => e.type === 'fetched');
    expect(fetched.map((e) => e.features.length)).toEqual([6]);
    expect(c.isEnabled('changing')).toBe(false);
    expect(c.status().flagCount).toBe(6);
  });

  test('a delta arriving while a large payload compiles is applied after it, onto it', async () => {
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    source.push(body(BIG, false));
    source.push({ events: [{ type: 'feature-updated', eventId: 2, feature: flag('changing', true) }] });
    await served(events, 2);
    const fetched = events.filter((e): e is Extract<UnleashEvent, { type: 'fetched' }> => e.type === 'fetched');
    expect(fetched.map((e) => e.features.length)).toEqual([BIG + 1, BIG + 1]);
    expect(c.isEnabled('changing')).toBe(true);
    expect(c.isEnabled(`filler-${BIG - 1}`)).toBe(true);
  });

  test('destroy() during a large compile: the update is dropped, the client keeps its flags and stops', async () => {
    const source = manualSource();
    const events: UnleashEvent[] = [];
    const c = await start(source, events);
    source.push(body(3, false));
    source.push(body(BIG, true));
    await c.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.isEnabled('changing')).toBe(false);
    expect(c.status().flagCount).toBe(4);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });
});

describe('a large body fetched from a server', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  test('is parsed in one go before the client serves flags, then in slices: served, written to the file cache, and an identical body is not recompiled', async () => {
    const server = await TestServer.start();
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-large-'));
    const scheduler = new ManualScheduler();
    const events: UnleashEvent[] = [];
    const padded = (changing: boolean) => {
      const big = body(BIG, changing);
      for (const f of big.features) (f as { description?: string }).description = 'd'.repeat(200);
      return big;
    };
    const first = padded(true);
    const text = JSON.stringify(first);
    // Over the bound of a serving client, under the bound of one that serves nothing yet.
    expect(text.length).toBeGreaterThan(SLICED_PARSE_BYTES);
    expect(text.length).toBeLessThan(FIRST_LOAD_PARSE_BYTES);
    server.serveFeatures(first);
    // Pacing is asked for only when a body is digested or parsed in slices.
    const sliced = jest.spyOn(Poller.prototype as unknown as { slices(): unknown }, 'slices');
    const cache = new FileCache({ appName: 'large', directory: dir });
    const client = new UnleashClient({
      url: server.url,
      appName: 'large-update',
      cache,
      disableMetrics: true,
      disableRegistration: true,
      scheduler,
      eventCallback: (e) => events.push(e),
    });
    const nextPoll = async () => {
      const before = client.status().lastFetch!.at;
      await scheduler.fireNext('fetch');
      // Bounded wait for the poll's outcome (not a timing assertion).
      for (let i = 0; i < 2000 && client.status().lastFetch!.at === before; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    try {
      await client.start();
      expect(client.status().flagCount).toBe(BIG + 1);
      expect(client.isEnabled('changing')).toBe(true);
      expect(sliced).not.toHaveBeenCalled();
      // Now serving: a changed body of the same size is digested and parsed in slices.
      server.serveFeatures(padded(false));
      await nextPoll();
      expect(sliced).toHaveBeenCalled();
      expect(client.status().lastFetch?.outcome).toBe('updated');
      // The new flags are compiled in slices too: served once the fetched event fires.
      for (let i = 0; i < 2000 && events.filter((e) => e.type === 'fetched').length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(client.isEnabled('changing')).toBe(false);
      await nextPoll();
      expect(server.requestsTo('/api/client/features')).toHaveLength(3);
      expect(events.filter((e) => e.type === 'fetched')).toHaveLength(2);
      expect(client.status().lastFetch?.outcome).toBe('unchanged');
      await client.destroy();
      await cache.destroy();
      const saved = JSON.parse(readFileSync(cache.path, 'utf8')) as { entries: { features: FeaturesPayload } };
      expect(saved.entries.features.features).toHaveLength(BIG + 1);
      expect(saved.entries.features.features.at(-1)).toMatchObject({ name: 'changing', enabled: false });
      expect(events.filter((e) => e.type === 'error' || e.type === 'warning')).toEqual([]);
    } finally {
      await client.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
