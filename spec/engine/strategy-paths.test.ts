/**
 * Table rows for the optimised paths of the built-in strategies: the indexed and the
 * unindexed user-id list, remoteAddress entries and ranges, and rollout buckets at their
 * exact thresholds (buckets computed with the reference murmur package).
 */
import { bucketOf, idInBucket, strategyFlag, type Context, type EngineSettings } from './build';

describe('userWithId', () => {
  // The same entries, in three lists: short enough to index; with one entry longer than
  // the index can describe (4095 characters); with entries starting beyond the index's
  // offset limit. The last two are searched in the text itself.
  const entries = [
    'alice',
    ' bob ',
    '\tcarol\u00a0',
    '',
    '  ',
    'dave\u3000',
    ' user-10',
    'user-1',
    'xuser-2',
    ' eve\b',
    '\u000efrank',
    '\u007fgus',
    '\u0085hal',
    '1234',
    'a b',
    '\ufeffivy\r\n',
    'jo',
    'jörg',
    'zed',
  ];
  const core = entries.join(',');
  const longEntry = 'x'.repeat(5000);
  const filler = Array.from({ length: 50000 }, (_, i) => `filler-${i}`).join(',');
  const lists: [string, string][] = [
    ['indexed', core],
    ['an entry too long to index', `${longEntry},${core}`],
    ['entries beyond the offset limit', `${filler},${core}`],
  ];

  const rows: [string, string, boolean][] = [
    ['the first entry', 'alice', true],
    ['an entry trimmed of spaces', 'bob', true],
    ['an entry trimmed of a tab and a no-break space', 'carol', true],
    ['an entry trimmed of an ideographic space', 'dave', true],
    ['an entry trimmed of a byte-order mark and CR LF', 'ivy', true],
    ['an entry with a longer neighbour before it', 'user-1', true],
    ['an entry that is a prefix of another', 'jo', true],
    ['a non-ASCII entry', 'jörg', true],
    ['the last entry', 'zed', true],
    ['an entry with a space inside', 'a b', true],
    ['a digits-only entry', '1234', true],
    ['the longer neighbour', 'user-10', true],
    ['backspace is no whitespace: not trimmed', 'eve', false],
    ['the untrimmed entry with backspace', 'eve\b', true],
    ['U+000E is no whitespace', 'frank', false],
    ['DEL is no whitespace', 'gus', false],
    ['U+0085 is no whitespace', 'hal', false],
    ['a prefix of an entry', 'ali', false],
    ['a suffix of an entry', 'lice', false],
    ['an entry minus its first character', 'user-2', false],
    ['an entry plus a character', 'user-100', false],
    ['a shorter prefix', 'user-', false],
    ['a name between entries', 'bobby', false],
    ['a name sorting before all', '0', false],
    ['a name sorting after all', '~', false],
    ['an id with a leading space', ' bob', false],
    ['an id with a trailing space', 'bob ', false],
    ['an id with a trailing no-break space', 'carol\u00a0', false],
    ['an id with a leading tab', '\tcarol', false],
    ['an id spanning two entries, with their comma', 'alice, bob', false],
    ['two entries without the space', 'user-1,xuser-2', false],
    ['a lone comma', ',', false],
    ['a blank id', ' ', false],
    ['part of the long entry', 'xxxx', false],
    ['case matters', 'Alice', false],
    ['a lookalike (o for ö)', 'jorg', false],
  ];

  describe.each(lists)('%s', (_list, userIds) => {
    const flag = strategyFlag('userWithId', { userIds });
    test.each(rows)('%s: %j', (_name, userId, expected) => {
      expect(flag.isEnabled({ userId })).toBe(expected);
    });
  });

  test('the 5000-character entry is found in its own list', () => {
    expect(strategyFlag('userWithId', { userIds: `${longEntry},${core}` }).isEnabled({ userId: longEntry })).toBe(true);
    expect(strategyFlag('userWithId', { userIds: `${core},${longEntry}` }).isEnabled({ userId: longEntry.slice(1) })).toBe(false);
  });

  test('a 4095-character entry and a 4096-character one both count', () => {
    const a = 'a'.repeat(4095);
    const b = 'b'.repeat(4096);
    const flag = strategyFlag('userWithId', { userIds: `${a},${b}` });
    expect([flag.isEnabled({ userId: a }), flag.isEnabled({ userId: b }), flag.isEnabled({ userId: 'a'.repeat(4096) })]).toEqual([true, true, false]);
  });

  test('every entry of a long, shuffled list is found, and none of its neighbours', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `u${(i * 7919) % 1000}`);
    const flag = strategyFlag('userWithId', { userIds: ids.join(' , ') });
    const listed = new Set(ids);
    for (let i = 0; i < 1000; i++) {
      expect([i, flag.isEnabled({ userId: `u${i}` })]).toEqual([i, listed.has(`u${i}`)]);
    }
  });

  test.each<[string, Record<string, string>, Context, boolean]>([
    ['no userIds parameter', {}, { userId: 'a' }, false],
    ['an empty list', { userIds: '' }, { userId: 'a' }, false],
    ['only commas and blanks', { userIds: ' , ,, ' }, { userId: 'a' }, false],
    ['an empty userId is absent', { userIds: 'a' }, { userId: '' }, false],
    ['no userId', { userIds: 'a' }, {}, false],
    ['a number userId is its string form', { userIds: '12' }, { userId: 12 }, true],
    ['a single entry', { userIds: 'a' }, { userId: 'a' }, true],
    ['two entries, the second', { userIds: 'a,b' }, { userId: 'b' }, true],
    ['a userId in properties does not count', { userIds: 'a' }, { properties: { userId: 'a' } }, false],
  ])('%s', (_name, parameters, context, expected) => {
    expect(strategyFlag('userWithId', parameters).isEnabled(context)).toBe(expected);
  });
});

describe('remoteAddress', () => {
  const IPs = 'gateway, 10.0.0.1 ,192.168.0.0/16,\t2001:db8::/32, ::1, 172.16.5.0/33';

  test.each<[string, string | undefined, boolean]>([
    ['an exact v4 entry', '10.0.0.1', true],
    // Entries are compared as addresses: one that is no address never matches (issue 11, item 6).
    ['an exact entry that is no address', 'gateway', false],
    ['an exact v6 entry', '::1', true],
    ['a v4 range', '192.168.200.3', true],
    ['just outside the v4 range', '192.169.0.0', false],
    ['a v6 range', '2001:db8:1::9', true],
    ['outside the v6 range', '2001:db9::', false],
    ['the neighbour of an exact v4 entry', '10.0.0.2', false],
    ['another spelling of an exact entry', '0:0:0:0:0:0:0:1', true],
    ['a v4-mapped spelling of an exact entry', '::ffff:10.0.0.1', true],
    ['a padded address', ' 192.168.1.1 ', true],
    ['an unusable range is not an entry either', '172.16.5.0', false],
    ['an unusable range, as written', '172.16.5.0/33', false],
    ['no address', undefined, false],
    ['an empty address', '', false],
    ['junk', 'gatewa', false],
  ])('%s: %j', (_name, remoteAddress, expected) => {
    expect(strategyFlag('remoteAddress', { IPs }).isEnabled(remoteAddress === undefined ? {} : { remoteAddress })).toBe(expected);
  });

  test.each<[string, string, string, boolean]>([
    ['no ranges, no match', 'gateway, proxy', '10.0.0.1', false],
    ['entries that are no addresses never match', 'gateway, proxy', 'proxy', false],
    ['no ranges, an exact match', '10.0.0.1, proxy', '10.0.0.1', true],
    ['a range, an address that does not parse', '10.0.0.0/8', '10.0.0.x', false],
    ['a second range matches', '10.0.0.0/8, 11.0.0.0/8', '11.1.1.1', true],
    ['no IPs parameter', '', '10.0.0.1', false],
    ['a number remoteAddress is not looked up', '12', '', false],
  ])('%s', (_name, ips, remoteAddress, expected) => {
    expect(strategyFlag('remoteAddress', { IPs: ips }).isEnabled({ remoteAddress })).toBe(expected);
  });

  test('without an IPs parameter nothing matches', () => {
    expect(strategyFlag('remoteAddress', {}).isEnabled({ remoteAddress: '10.0.0.1' })).toBe(false);
  });
});

describe('rollout buckets at their thresholds', () => {
  // Each group: the hashed prefix leaves 0, 1, 2 and 3 bytes carried; two are not ASCII
  // (U+0080 is the first character that takes two UTF-8 bytes).
  const groups = ['abc', 'abcd', 'abcde', 'abcdef', 'grüppe', 'g\u0080'];
  // Ids with 0–3 bytes over whole blocks, and non-ASCII ones.
  const prefixes = ['u', 'us', 'usr', 'user', 'jürgen', '用户', '\u007f', '\u0080'];

  type Shape = [string, (group: string, threshold: number, groupParameter: boolean) => { flag: ReturnType<typeof strategyFlag>; context: (id: string) => Context }];
  const shapes: Shape[] = [
    ['flexibleRollout, default stickiness, userId', (g, t, p) => ({ flag: strategyFlag('flexibleRollout', { rollout: String(t), ...(p ? { groupId: g } : {}) }, {}, p ? 'flag' : g), context: (id) => ({ userId: id, sessionId: 'other' }) })],
    ['flexibleRollout, default stickiness, sessionId', (g, t, p) => ({ flag: strategyFlag('flexibleRollout', { rollout: String(t), stickiness: 'default', ...(p ? { groupId: g } : {}) }, {}, p ? 'flag' : g), context: (id) => ({ sessionId: id }) })],
    ['flexibleRollout, userId stickiness', (g, t, p) => ({ flag: strategyFlag('flexibleRollout', { rollout: String(t), stickiness: 'userId', ...(p ? { groupId: g } : {}) }, {}, p ? 'flag' : g), context: (id) => ({ userId: id }) })],
    ['flexibleRollout, a custom field', (g, t, p) => ({ flag: strategyFlag('flexibleRollout', { rollout: String(t), stickiness: 'tenant', ...(p ? { groupId: g } : {}) }, {}, p ? 'flag' : g), context: (id) => ({ properties: { tenant: id } }) })],
    ['gradualRolloutUserId', (g, t, p) => ({ flag: strategyFlag('gradualRolloutUserId', { percentage: String(t), ...(p ? { groupId: g } : {}) }, {}, p ? 'flag' : g), context: (id) => ({ userId: id }) })],
    ['gradualRolloutSessionId', (g, t, p) => ({ flag: strategyFlag('gradualRolloutSessionId', { percentage: String(t), ...(p ? { groupId: g } : {}) }, {}, p ? 'flag' : g), context: (id) => ({ sessionId: id }) })],
  ];

  describe.each(shapes)('%s', (_shape, make) => {
    test.each(groups.flatMap((g) => prefixes.map((prefix) => [g, prefix] as const)))('group %s, ids %s…: on at bucket = threshold, off one below', (group, prefix) => {
      const { id, bucket } = idInBucket(group, (b) => b > 1 && b < 100, prefix);
      for (const groupParameter of [true, false]) {
        const at = make(group, bucket, groupParameter);
        const below = make(group, bucket - 1, groupParameter);
        expect([groupParameter, at.flag.isEnabled(at.context(id)), below.flag.isEnabled(below.context(id))]).toEqual([groupParameter, true, false]);
      }
    });

    test.each<[string, (b: number) => boolean, number, boolean]>([
      ['bucket 1 at threshold 1', (b) => b === 1, 1, true],
      ['bucket 1 at threshold 0', (b) => b === 1, 0, false],
      ['bucket 2 at threshold 1', (b) => b === 2, 1, false],
      ['bucket 99 at threshold 99', (b) => b === 99, 99, true],
      ['bucket 100 at threshold 99', (b) => b === 100, 99, false],
      ['bucket 100 at threshold 100', (b) => b === 100, 100, true],
      ['bucket 50 at threshold 50.5', (b) => b === 50, 50.5, true],
      ['bucket 51 at threshold 50.5', (b) => b === 51, 50.5, false],
    ])('%s', (_name, wanted, threshold, expected) => {
      const { id } = idInBucket('abc', wanted);
      const { flag, context } = make('abc', threshold, true);
      expect(flag.isEnabled(context(id))).toBe(expected);
    });
  });

  test('the reference bucket of id 123 in Feature.flexibleRollout.userId.55 is 84', () => {
    expect(bucketOf('Feature.flexibleRollout.userId.55', '123')).toBe(84);
  });

  test('a very long id, longer than any scratch buffer, hashes like the reference', () => {
    const id = `${'ü'.repeat(3000)}-end`;
    const bucket = bucketOf('g', id);
    expect(strategyFlag('flexibleRollout', { rollout: String(bucket), groupId: 'g', stickiness: 'userId' }).isEnabled({ userId: id })).toBe(true);
    expect(strategyFlag('flexibleRollout', { rollout: String(bucket - 1), groupId: 'g', stickiness: 'userId' }).isEnabled({ userId: id })).toBe(false);
  });

  test.each<[string, Record<string, string>, Context, boolean]>([
    ['default stickiness prefers userId to sessionId', { rollout: '$u' }, { userId: '$u', sessionId: '$s' }, true],
    ['default stickiness prefers userId to sessionId (off)', { rollout: '$s' }, { userId: '$s', sessionId: '$u' }, false],
    ['an empty userId falls back to sessionId', { rollout: '$u' }, { userId: '', sessionId: '$u' }, true],
    ['an empty userId falls back to sessionId (off)', { rollout: '$s' }, { userId: '', sessionId: '$s' }, false],
    ['a missing custom field is off', { rollout: '100', stickiness: 'tenant' }, { userId: '$u' }, false],
    ['a custom field may be top-level', { rollout: '$u', stickiness: 'tenant' }, { tenant: '$u' }, true],
    ['a custom field may be top-level (off)', { rollout: '$s', stickiness: 'tenant' }, { tenant: '$s' }, false],
    ['an empty groupId is the flag name', { rollout: '$u', groupId: '' }, { userId: '$u' }, true],
    ['an empty groupId is the flag name (off)', { rollout: '$s', groupId: '' }, { userId: '$s' }, false],
    ['an empty stickiness is default', { rollout: '$u', stickiness: '' }, { sessionId: '$u' }, true],
    ['a padded rollout', { rollout: ' $u ' }, { userId: '$u' }, true],
    ['an unreadable rollout is 0', { rollout: 'all' }, { userId: '$u' }, false],
    ['a missing rollout is 0', {}, { userId: '$u' }, false],
    ['a negative rollout is off', { rollout: '-5' }, { userId: '$u' }, false],
    ['an infinite rollout is 0', { rollout: 'Infinity' }, { userId: '$u' }, false],
  ])('flexibleRollout: %s', (_name, parameters, context, expected) => {
    // $u: an id in bucket 60 of the flag; $s: one in bucket 70; rollout $u is 60, $s 69.
    const u = idInBucket('flag', (b) => b === 60).id;
    const s = idInBucket('flag', (b) => b === 70).id;
    const fill = (text: string) => text.replace('$u', u).replace('$s', s);
    const params = Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, k === 'rollout' ? v.replace('$u', '60').replace('$s', '69') : v]));
    const ctx = JSON.parse(fill(JSON.stringify(context))) as Context;
    expect(strategyFlag('flexibleRollout', params, {}, 'flag').isEnabled(ctx)).toBe(expected);
  });

  describe('random buckets', () => {
    // random() in [0, 1) is bucket floor(random * 100) + 1.
    const at = (value: number): EngineSettings => ({ random: () => value });

    test.each<[string, string, Record<string, string>, number, boolean]>([
      ['gradualRolloutRandom: bucket 1 at 1%', 'gradualRolloutRandom', { percentage: '1' }, 0.0099, true],
      ['gradualRolloutRandom: bucket 2 at 1%', 'gradualRolloutRandom', { percentage: '1' }, 0.01, false],
      ['gradualRolloutRandom: bucket 1 at 0%', 'gradualRolloutRandom', { percentage: '0' }, 0, false],
      ['gradualRolloutRandom: bucket 100 at 99%', 'gradualRolloutRandom', { percentage: '99' }, 0.99, false],
      ['gradualRolloutRandom: bucket 99 at 99%', 'gradualRolloutRandom', { percentage: '99' }, 0.989, true],
      ['gradualRolloutRandom: bucket 100 at 100%', 'gradualRolloutRandom', { percentage: '100' }, 0.9999, true],
      ['gradualRolloutRandom: a negative percentage', 'gradualRolloutRandom', { percentage: '-1' }, 0, false],
      ['flexibleRollout random: bucket 30 at 30%', 'flexibleRollout', { rollout: '30', stickiness: 'random' }, 0.295, true],
      ['flexibleRollout random: bucket 31 at 30%', 'flexibleRollout', { rollout: '30', stickiness: 'random' }, 0.3, false],
      ['flexibleRollout random: 0%', 'flexibleRollout', { rollout: '0', stickiness: 'random' }, 0, false],
      ['flexibleRollout default without ids: bucket 30 at 30%', 'flexibleRollout', { rollout: '30' }, 0.295, true],
      ['flexibleRollout default without ids: bucket 31 at 30%', 'flexibleRollout', { rollout: '30' }, 0.3, false],
      ['flexibleRollout default without ids: 0%', 'flexibleRollout', { rollout: '0' }, 0, false],
    ])('%s', (_name, strategy, parameters, random, expected) => {
      expect(strategyFlag(strategy, parameters, at(random)).isEnabled({})).toBe(expected);
    });

    test('a hashed rollout does not draw a random number', () => {
      let draws = 0;
      const flag = strategyFlag('flexibleRollout', { rollout: '50' }, { random: () => (draws++, 0) });
      flag.isEnabled({ userId: 'u' });
      flag.isEnabled({ sessionId: 's' });
      expect(draws).toBe(0);
      flag.isEnabled({});
      expect(draws).toBe(1);
    });
  });
});

describe('applicationHostname', () => {
  test.each<[string, string | undefined, string, boolean]>([
    ['an exact host', 'web-1', 'web-1', true],
    ['case-insensitive list', 'WEB-1', 'web-1', true],
    ['case-insensitive host', 'web-1', 'WEB-1', true],
    ['a trimmed entry', 'db, web-1 ', 'web-1', true],
    ['another host', 'db', 'web-1', false],
    ['a prefix', 'web', 'web-1', false],
    ['no hostNames', undefined, 'web-1', false],
    ['no host name injected', 'web-1', '', false],
  ])('%s', (_name, hostNames, hostname, expected) => {
    const flag = strategyFlag('applicationHostname', hostNames === undefined ? {} : { hostNames }, { hostname });
    expect(flag.isEnabled({})).toBe(expected);
  });
});

describe('custom strategies', () => {
  test.each<[string, (parameters: Record<string, string>, context: Context) => unknown, boolean]>([
    ['true is on', () => true, true],
    ['false is off', () => false, false],
    ['a truthy non-boolean is off', () => 1, false],
    ['a throw is off', () => { throw new Error('boom'); }, false],
    ['parameters and context reach it', (p, c) => p.team === c.properties?.team, true],
  ])('%s', (_name, isEnabled, expected) => {
    const strategy = { name: 'team', isEnabled: isEnabled as (p: Record<string, string>, c: Context) => boolean };
    const flag = strategyFlag('team', { team: 'red' }, { strategies: [strategy] });
    expect(flag.isEnabled({ properties: { team: 'red' } })).toBe(expected);
  });

  test('a throwing strategy is reported once, with its message', () => {
    const warnings: string[] = [];
    const strategy = { name: 'boom', isEnabled: (): boolean => { throw new Error('kaput'); } };
    const flag = strategyFlag('boom', {}, { strategies: [strategy], onWarning: (m) => warnings.push(m) });
    flag.isEnabled({});
    flag.isEnabled({});
    expect(warnings).toEqual(['custom strategy "boom" threw (Error: kaput); it counts as false (reported once per strategy)']);
  });

  test('a strategy cannot change the parameters other evaluations see', () => {
    const strategy = {
      name: 'grabby',
      isEnabled: (p: Record<string, string>): boolean => {
        try {
          (p as Record<string, string>).team = 'blue';
        } catch {
          // frozen
        }
        return p.team === 'red';
      },
    };
    const flag = strategyFlag('grabby', { team: 'red' }, { strategies: [strategy] });
    expect([flag.isEnabled({}), flag.isEnabled({})]).toEqual([true, true]);
  });
});
