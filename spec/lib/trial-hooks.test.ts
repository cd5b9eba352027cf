/**
 * Trial findings (a user trying to break the new hook feature from the packed package).
 * Each test states the EXPECTED behaviour in its name and fails on the code as merged.
 *
 * README, "Hooks": "Hooks are synchronous and can never change an answer".
 */
import { UnleashClient } from '../../lib/client';
import type { UnleashEvent } from '../../lib/events';
import type { Hook } from '../../lib/hooks';
import { TestData } from '../../lib/test-data';

let clients: UnleashClient[] = [];
let events: UnleashEvent[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  clients = [];
  events = [];
});

async function client(td: TestData): Promise<UnleashClient> {
  const c = new UnleashClient({ appName: 'trial-hooks', offline: true, flagSource: td, eventCallback: (e) => events.push(e) });
  clients.push(c);
  await c.start();
  return c;
}

function flags(): TestData {
  const td = new TestData();
  td.update(td.flag('on'), td.flag('beta').users('alice'));
  return td;
}

describe('trial: hooks can never change an answer', () => {
  test('EXPECTED: an afterEvaluation hook that writes result.enabled does not change what isEnabled/evaluate return', async () => {
    const c = await client(flags());
    expect(c.isEnabled('on')).toBe(true);
    c.addHook({
      name: 'mutates-result',
      afterEvaluation: (_series, _data, result) => {
        (result as { enabled: boolean }).enabled = false;
      },
    });
    // As merged: the result object handed to afterEvaluation is the one returned, so both are false.
    expect(c.isEnabled('on')).toBe(true);
    expect(c.evaluate('on').enabled).toBe(true);
  });

  test('EXPECTED: a beforeEvaluation hook that writes series.context does not change the answer nor the caller\'s context', async () => {
    const c = await client(flags());
    const mine = { userId: 'alice' };
    expect(c.isEnabled('beta', mine)).toBe(true);
    c.addHook({
      name: 'mutates-context',
      beforeEvaluation: (series) => {
        (series.context as { userId?: string }).userId = 'bob';
      },
    });
    const answer = c.isEnabled('beta', mine);
    // As merged: series.context is the caller's object and is evaluated after the hook ran.
    expect({ answer, mine }).toEqual({ answer: true, mine: { userId: 'alice' } });
  });
});

describe('trial: a stack overflow while a flag is first evaluated', () => {
  test('EXPECTED: a RangeError during the lazy compile does not turn an enabled flag off for good', async () => {
    const td = new TestData();
    td.update(td.flag('on').rollout(100));
    const c = await client(td);
    // A hook that (by mistake) evaluates the flag again recurses until the stack overflows;
    // the runner catches the RangeError at every level, so some level's evaluation runs the
    // flag's first-use compile with almost no stack left. The compile catches that RangeError
    // and memoises the result: the flag as off (DISABLED), or its strategy as one that never
    // matches (NO_STRATEGY_MATCHED), depending on where the stack ran out, until the next payload.
    const remove = c.addHook({
      name: 'recursive',
      beforeEvaluation: (series) => {
        c.isEnabled(series.flag, series.context);
      },
    });
    c.isEnabled('on');
    remove();
    // No hook now, plenty of stack: the flag is on (a 100 % rollout is on for everyone).
    // As merged: off (DISABLED or NO_STRATEGY_MATCHED) until a new payload replaces the flag;
    // with polling answering 304, that is for good.
    expect(c.explain('on').reason.kind).toBe('STRATEGY_MATCH');
    expect(c.isEnabled('on')).toBe(true);
  });
});

describe('trial: addHook removers', () => {
  test('EXPECTED: the same hook object added twice is removed once per remover call', async () => {
    const c = await client(flags());
    let calls = 0;
    const hook: Hook = { afterEvaluation: () => void calls++ };
    const removeFirst = c.addHook(hook);
    c.addHook(hook);
    c.isEnabled('on');
    expect(calls).toBe(2);
    calls = 0;
    removeFirst();
    c.isEnabled('on');
    // As merged: the remover filters out every registration of the object, so 0.
    expect(calls).toBe(1);
  });
});

describe('trial: hook failure warnings', () => {
  test('EXPECTED: a second unnamed hook that throws is reported even though an earlier unnamed hook at the same position threw', async () => {
    const c = await client(flags());
    const warnings = (): string[] => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    const removeA = c.addHook({ beforeEvaluation: () => { throw new Error('first hook broke'); } });
    c.isEnabled('on');
    expect(warnings().filter((m) => m.includes('first hook broke'))).toHaveLength(1);
    removeA();
    c.addHook({ beforeEvaluation: () => { throw new Error('second hook broke'); } });
    c.isEnabled('on');
    // As merged: the once-key is the label "hook #1" (its position), which the first hook used.
    expect(warnings().filter((m) => m.includes('second hook broke'))).toHaveLength(1);
  });
});
