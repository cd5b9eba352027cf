import { backoffDelay, MAX_TIMER_DELAY } from '../../lib/poller';
import { delay, systemScheduler, withJitter } from '../../lib/scheduler';
import { ManualScheduler } from '../support/manual-scheduler';

describe('systemScheduler', () => {
  test('its timers never keep the process alive', () => {
    const handle = systemScheduler.setTimeout(() => undefined, 60_000, 'fetch') as NodeJS.Timeout;
    try {
      expect(handle.hasRef()).toBe(false);
    } finally {
      systemScheduler.clearTimeout(handle);
    }
  });

  test('runs a timer and can clear one', async () => {
    let cleared = false;
    const handle = systemScheduler.setTimeout(() => (cleared = true), 0, 'x');
    systemScheduler.clearTimeout(handle);
    await new Promise<void>((resolve) => systemScheduler.setTimeout(resolve, 0, 'y'));
    expect(cleared).toBe(false);
    const r = systemScheduler.random();
    expect(r >= 0 && r < 1).toBe(true);
  });
});

describe('withJitter', () => {
  test.each([
    [15_000, 0.5, 15_000],
    [15_000, 0, 13_500],
    [15_000, 0.99999999, 16_500],
    [0, 0.3, 0],
  ])('withJitter(%p, %p) = %p', (ms, random, expected) => {
    expect(withJitter(ms, random)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  test.each([
    [0, 15_000],
    [1, 30_000],
    [10, 165_000],
    [50, 165_000],
  ])('%i failures -> %i ms', (failures, expected) => {
    expect(backoffDelay(15_000, failures)).toBe(expected);
  });

  test('never exceeds what setTimeout can wait', () => {
    expect(backoffDelay(2 ** 30, 10)).toBe(MAX_TIMER_DELAY);
  });
});

describe('delay', () => {
  test('resolves when its timer fires, and cancel clears the timer', async () => {
    const scheduler = new ManualScheduler();
    const d = delay(scheduler, 500, 'deadline');
    const timer = await scheduler.next('deadline');
    expect(timer.delay).toBe(500);
    scheduler.fire(timer);
    await d.promise;
    const other = delay(scheduler, 100, 'deadline');
    other.cancel();
    expect(scheduler.pending()).toHaveLength(0);
  });
});
