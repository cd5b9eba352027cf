import { EventHub, type UnleashEvent } from '../../lib/events';

function makeLog(): { errors: string[]; warnings: string[]; error: (m: string) => void; warn: (m: string) => void } {
  const log = {
    errors: [] as string[],
    warnings: [] as string[],
    error: (m: string) => log.errors.push(m),
    warn: (m: string) => log.warnings.push(m),
  };
  return log;
}

const ready: UnleashEvent = { type: 'ready', from: 'server' };

describe('EventHub', () => {
  test('delivers each event to the callback and to the listeners of its type only', () => {
    const seen: string[] = [];
    const hub = new EventHub((e) => seen.push(`callback:${e.type}`));
    hub.on('ready', (e) => seen.push(`ready:${e.from}`));
    hub.on('fetched', () => seen.push('fetched'));
    hub.emit(ready);
    expect(seen).toEqual(['callback:ready', 'ready:server']);
  });

  test('wants() tells whether an event would be heard', () => {
    expect(new EventHub().wants('impression')).toBe(false);
    expect(new EventHub(() => undefined).wants('impression')).toBe(true);
    const hub = new EventHub();
    const off = hub.on('impression', () => undefined);
    expect(hub.wants('impression')).toBe(true);
    expect(hub.wants('ready')).toBe(false);
    off();
    expect(hub.wants('impression')).toBe(false);
  });

  test('a throwing callback or listener becomes an error event (origin callback); emit never throws', () => {
    const errors: string[] = [];
    const hub = new EventHub((e) => {
      if (e.type === 'error') errors.push(e.error.message);
      if (e.type === 'ready') throw new Error('callback bug');
    });
    hub.on('ready', () => {
      throw new TypeError('listener bug');
    });
    expect(() => hub.emit(ready)).not.toThrow();
    expect(errors).toEqual([
      'an event listener threw on a "ready" event: Error: callback bug',
      'an event listener threw on a "ready" event: TypeError: listener bug',
    ]);
  });

  test('a listener that also throws on the error report goes to the log, without looping', () => {
    const log = makeLog();
    const hub = new EventHub(() => {
      throw new Error('always');
    }, log);
    expect(() => hub.emit(ready)).not.toThrow();
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]).toMatch(/while handling a listener error/);
  });

  test('errors and warnings nobody hears go to the log; heard ones do not', () => {
    const log = makeLog();
    const hub = new EventHub(undefined, log);
    hub.error('fetch', new Error('boom'));
    hub.warn('config', 'odd');
    hub.emit(ready);
    expect(log.errors).toEqual(['[switchyard] fetch: boom']);
    expect(log.warnings).toEqual(['[switchyard] config: odd']);
    hub.on('error', () => undefined);
    hub.error('fetch', new Error('heard'));
    expect(log.errors).toHaveLength(1);
  });

  test('a non-Error value passed to error() is wrapped', () => {
    const events: UnleashEvent[] = [];
    const hub = new EventHub((e) => events.push(e));
    hub.error('cache', 'plain string');
    expect(events[0]).toMatchObject({ type: 'error', origin: 'cache' });
    expect((events[0] as { error: Error }).error).toBeInstanceOf(Error);
  });

  test('adding the same handler twice delivers once; off() with an unknown handler is a no-op', () => {
    const hub = new EventHub();
    let count = 0;
    const handler = (): void => {
      count++;
    };
    hub.on('ready', handler);
    hub.on('ready', handler);
    hub.emit(ready);
    expect(count).toBe(1);
    hub.off('ready', () => undefined);
    hub.off('ready', handler);
    hub.emit(ready);
    expect(count).toBe(1);
  });
});
