/**
 * The updater's pure rules: reading an event id from an ETag or SSE id, and whether a delta
 * may follow the last event applied. Its behaviour against a server is in streaming.test.ts.
 */
import { checkEventOrder, parseEventId } from '../../lib/updater';
import type { DeltaEvent } from '../../lib/types';

describe('parseEventId', () => {
  test.each([
    ['42', 42],
    ['"42"', 42],
    ['W/"42"', 42],
    [' 7 ', 7],
    ['0', 0],
  ])('%j → %i', (value, id) => expect(parseEventId(value)).toBe(id));

  test.each([[undefined], [''], ['"features-3"'], ['76d8bb0e:2'], ['-1'], ['1.5'], ['1234567890123456']])('%j → undefined', (value) => {
    expect(parseEventId(value)).toBeUndefined();
  });
});

const updated = (eventId: number): DeltaEvent => ({ type: 'feature-updated', eventId, feature: { name: `f${eventId}`, enabled: true, strategies: [] } as never });
const hydration = (eventId: number): DeltaEvent => ({ type: 'hydration', eventId, features: [], segments: [] });

describe('checkEventOrder', () => {
  test.each<[string, DeltaEvent[], number | undefined, number | undefined, number | undefined]>([
    ['events after the last id', [updated(3), updated(4)], 4, 2, 4],
    ['no last id: anything goes', [updated(1)], 1, undefined, 1],
    ['a hydration resets the order', [hydration(1)], 1, 9, 1],
    ['a hydration in the middle restarts the count', [updated(10), hydration(2), updated(3)], 3, 9, 3],
    ['no message id: the highest event id', [updated(5), updated(6)], undefined, 4, 6],
    ['events without ids: the message id', [updated(0)], 8, 4, 8],
    ['an empty message at the same id', [], 4, 4, 4],
    ['one event just after the last id', [updated(5)], 5, 4, 5],
    ['an empty message without an id keeps the last id', [], undefined, 4, 4],
  ])('%s: accepted', (_name, events, messageId, lastId, id) => {
    expect(checkEventOrder(events, messageId, lastId)).toEqual({ ok: true, id });
  });

  test.each<[string, DeltaEvent[], number | undefined, number | undefined, string]>([
    ['an event at the last id', [updated(4)], 4, 4, 'event id 4 does not follow 4'],
    ['an event before the last id', [updated(1)], 5, 4, 'event id 1 does not follow 4'],
    ['ids going down within a message', [updated(6), updated(5)], 6, 4, 'event id 5 does not follow 6'],
    ['a message id that does not increase', [updated(0)], 3, 4, 'message id 3 does not follow 4'],
  ])('%s: refused', (_name, events, messageId, lastId, reason) => {
    expect(checkEventOrder(events, messageId, lastId)).toEqual({ ok: false, reason });
  });
});
