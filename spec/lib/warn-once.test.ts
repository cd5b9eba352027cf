import { warnOnce } from '../../lib/warn-once';

describe('warnOnce', () => {
  test('reports once per key, whatever the message says', () => {
    const seen: string[] = [];
    const warn = warnOnce((m) => seen.push(m));
    for (let i = 0; i < 5000; i++) warn('custom-strategy-threw:team', `no team for user-${i}`);
    warn('custom-strategy-threw:other', 'no team for user-1');
    expect(seen).toEqual(['no team for user-0', 'no team for user-1']);
  });

  test('a throwing sink is contained, and the key still counts as reported', () => {
    let calls = 0;
    const warn = warnOnce(() => {
      calls++;
      throw new Error('broken handler');
    });
    expect(() => warn('k', 'm')).not.toThrow();
    warn('k', 'm');
    expect(calls).toBe(1);
  });

  test('memory is bounded: past 1000 keys it starts over', () => {
    const seen: string[] = [];
    const warn = warnOnce((m) => seen.push(m));
    for (let i = 0; i < 1001; i++) warn(`k${i}`, `m${i}`);
    warn('k0', 'again');
    expect(seen).toHaveLength(1002);
  });
});
