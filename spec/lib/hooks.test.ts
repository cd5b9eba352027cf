/**
 * Evaluation hooks on a real (offline, TestData-fed) client: what they see, that they never
 * change an answer, and that a hook that throws is reported once.
 */
import { UnleashClient } from '../../lib/client';
import type { EvaluationResult } from '../../lib/engine/evaluation';
import type { UnleashEvent } from '../../lib/events';
import type { EvaluationSeriesContext, EvaluationSeriesData, Hook } from '../../lib/hooks';
import type { UnleashConfig } from '../../lib/options';
import { TestData } from '../../lib/test-data';
import type { Context, Variant } from '../../lib/types';

const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
};

function testData(): TestData {
  const td = new TestData();
  td.update(
    td.flag('on'),
    td.flag('off').off(),
    td.flag('beta').users('alice'),
    td.flag('half').rollout(50, { stickiness: 'userId' }),
    td.flag('colour').variant('blue', { weight: 1 }).variant('red', { weight: 1 }),
    td.flag('child').dependsOn('beta'),
    td.flag('random').rollout(50, { stickiness: 'random' }),
  );
  return td;
}

let clients: UnleashClient[] = [];
let events: UnleashEvent[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
beforeEach(() => {
  events = [];
  unhandled.length = 0;
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  clients = [];
  expect(unhandled).toEqual([]);
});

async function client(options: Partial<UnleashConfig> = {}, td = testData()): Promise<UnleashClient> {
  const c = new UnleashClient({ appName: 'hooks-test', offline: true, flagSource: td, eventCallback: (e) => events.push(e), ...options });
  clients.push(c);
  await c.start();
  return c;
}

const flagOf = (ctx: Context): string => String(ctx.properties?.flag);
const warnings = (): string[] => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));

interface Call {
  stage: 'before' | 'after';
  hook: string;
  series: EvaluationSeriesContext;
  data?: EvaluationSeriesData;
  result?: EvaluationResult;
}

function recordingHook(name: string, calls: Call[]): Hook {
  return {
    name,
    beforeEvaluation(series) {
      calls.push({ stage: 'before', hook: name, series });
      return { from: name };
    },
    afterEvaluation(series, data, result) {
      calls.push({ stage: 'after', hook: name, series, data, result });
    },
  };
}

describe('hooks', () => {
  test('run around isEnabled, getVariant and evaluate with the flag, context, method, answer and reason; data goes from before to after', async () => {
    const calls: Call[] = [];
    const c = await client({ hooks: [recordingHook('first', calls)] });
    c.addHook(recordingHook('second', calls));
    const ctx = { userId: 'alice' };

    expect(c.isEnabled('beta', ctx)).toBe(true);
    expect(calls.map((x) => `${x.stage}:${x.hook}`)).toEqual(['before:first', 'before:second', 'after:second', 'after:first']);
    expect(calls[0]!.series).toEqual({ flag: 'beta', context: ctx, method: 'isEnabled' });
    // A frozen copy: the caller's object is never handed to hooks.
    expect(calls[0]!.series.context).not.toBe(ctx);
    expect(Object.isFrozen(calls[0]!.series.context)).toBe(true);
    // Each hook gets its own data back, and the series object is the same one.
    expect(calls[2]!.data).toEqual({ from: 'second' });
    expect(calls[3]!.data).toEqual({ from: 'first' });
    expect(calls[3]!.series).toBe(calls[0]!.series);
    expect(calls[3]!.result).toMatchObject({ flag: 'beta', enabled: true, reason: { kind: 'STRATEGY_MATCH', name: 'userWithId' } });

    calls.length = 0;
    const variant = c.getVariant('off', undefined, { name: 'fallback', enabled: true, feature_enabled: false });
    expect(variant.name).toBe('fallback');
    expect(calls[0]!.series).toEqual({ flag: 'off', context: { appName: 'hooks-test', environment: 'default' }, method: 'getVariant' });
    // The result is what the caller got: the fallback, with the reason of the walk.
    expect(calls[3]!.result).toEqual({ flag: 'off', enabled: false, variant, reason: { kind: 'DISABLED' } });

    calls.length = 0;
    const result = c.evaluate('nope', { userId: 'x' });
    // An equal, frozen copy: the object the caller got is never handed to hooks.
    expect(calls[3]!.result).toEqual(result);
    expect(calls[3]!.result).not.toBe(result);
    expect(Object.isFrozen(calls[3]!.result) && Object.isFrozen(calls[3]!.result!.reason)).toBe(true);
    expect(calls[0]!.series.method).toBe('evaluate');
    expect(result.reason).toEqual({ kind: 'FLAG_NOT_FOUND' });
  });

  // One client without hooks, one with a hook that does nothing: every answer the same.
  test.each<[string, (c: UnleashClient, ctx: Context) => unknown]>([
    ['isEnabled', (c, ctx) => c.isEnabled(flagOf(ctx), ctx)],
    ['isEnabled with a fallback value for unknown flags', (c, ctx) => c.isEnabled(`${flagOf(ctx)}-x`, ctx, true)],
    ['isEnabled with a fallback function', (c, ctx) => c.isEnabled('unknown', ctx, (name, context) => name === 'unknown' && context.userId === 'alice')],
    ['getVariant', (c, ctx) => c.getVariant(flagOf(ctx), ctx)],
    ['getVariant with a fallback', (c, ctx) => c.getVariant(flagOf(ctx), ctx, { name: 'fb', enabled: true, feature_enabled: false } as Variant)],
    ['getVariant of an unknown flag with a fallback', (c, ctx) => c.getVariant('unknown', ctx, { name: 'fb', enabled: true, feature_enabled: false })],
    ['evaluate', (c, ctx) => c.evaluate(flagOf(ctx), ctx)],
  ])('%s answers the same with a hook as without', async (_name, call) => {
    const plain = await client();
    const hooked = await client({ hooks: [{ afterEvaluation: () => undefined }] });
    const flags = ['on', 'off', 'beta', 'half', 'colour', 'child', 'nope'];
    let compared = 0;
    for (const flag of flags) {
      for (const userId of ['alice', 'bob', 'carol', '1', '2', '3', '42', '99', undefined]) {
        const ctx: Context = { ...(userId === undefined ? { sessionId: 's1' } : { userId }), properties: { flag } };
        expect(call(hooked, ctx)).toEqual(call(plain, ctx));
        compared++;
      }
    }
    expect(compared).toBe(63);
  });

  test('random stickiness: the answer a hook sees is the answer the caller gets', async () => {
    const seen: boolean[] = [];
    const c = await client({ hooks: [{ afterEvaluation: (_s, _d, r) => void seen.push(r.enabled) }] });
    const answers: boolean[] = [];
    for (let i = 0; i < 200; i++) answers.push(c.isEnabled('random'));
    expect(seen).toEqual(answers);
    // Both answers occur, so the comparison above was not of constants.
    expect(new Set(answers).size).toBe(2);
  });

  test('a hook that throws is reported once per hook and stage, never changes the answer, and the other hooks still run', async () => {
    const after: string[] = [];
    const c = await client({
      hooks: [
        {
          name: 'broken',
          beforeEvaluation: () => {
            throw new Error('before boom');
          },
          afterEvaluation: () => {
            throw new Error('after boom');
          },
        },
        { name: 'fine', afterEvaluation: (s) => void after.push(s.flag) },
      ],
    });
    for (let i = 0; i < 5; i++) {
      expect(c.isEnabled('on')).toBe(true);
      expect(c.getVariant('colour', { userId: 'alice' }).enabled).toBe(true);
    }
    expect(after).toHaveLength(10);
    const hookWarnings = warnings().filter((m) => m.includes('hook "broken"'));
    expect(hookWarnings).toHaveLength(2);
    expect(hookWarnings[0]).toContain('beforeEvaluation (Error: before boom)');
    expect(hookWarnings[1]).toContain('afterEvaluation (Error: after boom)');
    expect(events.filter((e) => e.type === 'warning' && e.origin === 'callback')).toHaveLength(2);
  });

  test('a hook returning a Promise that rejects is reported once, with no unhandled rejection', async () => {
    const c = await client({ hooks: [{ afterEvaluation: () => Promise.reject(new Error('async boom')) as never }] });
    expect(c.isEnabled('on')).toBe(true);
    expect(c.isEnabled('on')).toBe(true);
    await settle();
    expect(warnings().filter((m) => m.includes('async boom'))).toHaveLength(1);
    expect(warnings()[0]).toContain('hook #1');
  });

  test('addHook returns a remover; something that is not a hook is a warning, not a crash', async () => {
    let calls = 0;
    const c = await client({ hooks: [{ nope: true } as unknown as Hook, null as unknown as Hook] });
    await settle();
    expect(warnings().filter((m) => /hooks\[[01]\] is not a hook/.test(m))).toHaveLength(2);
    const remove = c.addHook({ beforeEvaluation: () => void calls++ });
    c.isEnabled('on');
    remove();
    c.isEnabled('on');
    c.evaluate('on');
    expect(calls).toBe(1);
    c.addHook(42 as unknown as Hook);
    expect(warnings().some((m) => m.startsWith('addHook: a hook must be'))).toBe(true);
    expect(c.isEnabled('on')).toBe(true);
  });

  test('a hook added while an evaluation runs takes part from the next call on', async () => {
    const order: string[] = [];
    let c: UnleashClient | undefined;
    const late: Hook = { beforeEvaluation: () => void order.push('late') };
    c = await client({
      hooks: [
        {
          beforeEvaluation: () => {
            order.push('first');
            if (order.length === 1) c!.addHook(late);
          },
        },
      ],
    });
    c.isEnabled('on');
    c.isEnabled('on');
    expect(order).toEqual(['first', 'first', 'late']);
  });
});

describe('hooks can never change an answer', () => {
  test('an afterEvaluation hook that writes result fields changes neither isEnabled, evaluate nor the reason the caller gets', async () => {
    const c = await client();
    expect(c.isEnabled('on')).toBe(true);
    c.addHook({
      name: 'mutates-result',
      afterEvaluation: (_series, _data, result) => {
        (result as { enabled: boolean }).enabled = false;
      },
    });
    c.addHook({
      name: 'mutates-reason',
      afterEvaluation: (_series, _data, result) => {
        (result.reason as { kind: string }).kind = 'DISABLED';
      },
    });
    expect(c.isEnabled('on')).toBe(true);
    const answer = c.evaluate('on');
    expect(answer.enabled).toBe(true);
    expect(answer.reason.kind).toBe('STRATEGY_MATCH');
    // Writing to the frozen copy threw, and that is reported like any other throw.
    expect(warnings().filter((m) => m.includes('mutates-result') && m.includes('TypeError'))).toHaveLength(1);
    expect(warnings().filter((m) => m.includes('mutates-reason') && m.includes('TypeError'))).toHaveLength(1);
  });

  test("a beforeEvaluation hook that writes series.context changes neither the answer nor the caller's context", async () => {
    const c = await client();
    const mine: Context = { userId: 'alice', properties: { plan: 'pro' } };
    expect(c.isEnabled('beta', mine)).toBe(true);
    c.addHook({
      name: 'mutates-context',
      beforeEvaluation: (series) => {
        (series.context as { userId?: string }).userId = 'bob';
      },
    });
    c.addHook({
      name: 'mutates-properties',
      beforeEvaluation: (series) => {
        (series.context.properties as Record<string, string>).plan = 'free';
      },
    });
    const answer = c.isEnabled('beta', mine);
    expect({ answer, mine }).toEqual({ answer: true, mine: { userId: 'alice', properties: { plan: 'pro' } } });
  });

  test('a context whose fields cannot be read is seen by hooks as {} and the call still answers', async () => {
    const c = await client();
    const seen: Context[] = [];
    c.addHook({ beforeEvaluation: (series) => void seen.push(series.context) });
    const hostile = Object.defineProperty({}, 'userId', { enumerable: true, get: () => { throw new Error('no'); } }) as Context;
    expect(typeof c.isEnabled('beta', hostile)).toBe('boolean');
    expect(seen).toEqual([{}]);
  });

  test('an evaluation a hook makes runs without hooks, so a hook that evaluates the flag again does not recurse', async () => {
    const c = await client();
    let before = 0;
    let inner: boolean | undefined;
    c.addHook({
      name: 'recursive',
      beforeEvaluation: (series) => {
        before++;
        inner = c.isEnabled(series.flag, series.context);
      },
    });
    expect(c.isEnabled('beta', { userId: 'alice' })).toBe(true);
    expect(inner).toBe(true);
    expect(before).toBe(1);
    expect(c.explain('beta', { userId: 'alice' }).reason.kind).toBe('STRATEGY_MATCH');
    expect(warnings()).toEqual([]);
  });
});

describe('addHook removers and hook warnings', () => {
  test('the same hook object added twice is removed once per remover call; a remover called twice removes once', async () => {
    const c = await client();
    let calls = 0;
    const hook: Hook = { afterEvaluation: () => void calls++ };
    const removeFirst = c.addHook(hook);
    const removeSecond = c.addHook(hook);
    c.isEnabled('on');
    expect(calls).toBe(2);
    calls = 0;
    removeFirst();
    removeFirst();
    c.isEnabled('on');
    expect(calls).toBe(1);
    calls = 0;
    removeSecond();
    c.isEnabled('on');
    expect(calls).toBe(0);
  });

  test('a second unnamed hook that throws is reported even though an earlier unnamed hook at the same position threw', async () => {
    const c = await client();
    const removeA = c.addHook({ beforeEvaluation: () => { throw new Error('first hook broke'); } });
    c.isEnabled('on');
    c.isEnabled('on');
    expect(warnings().filter((m) => m.includes('first hook broke'))).toHaveLength(1);
    removeA();
    c.addHook({ beforeEvaluation: () => { throw new Error('second hook broke'); } });
    c.isEnabled('on');
    expect(warnings().filter((m) => m.includes('second hook broke'))).toHaveLength(1);
  });
});
