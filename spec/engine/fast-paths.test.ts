/**
 * Table rows for every optimised path of constraint evaluation, through the public engine
 * surface: each row would fail if its fast path were changed by one token (see
 * spec/engine/MUTANTS.md for the mutants no row can kill, and why).
 */
import { constraintFlag, NOW, type Context, type EngineSettings, type Json } from './build';

type Row = [string, Json, Context, boolean];

function check(constraint: Json, context: Context, settings?: EngineSettings): boolean {
  return constraintFlag({ contextName: 'userId', values: [], ...constraint }, settings).isEnabled(context);
}

const ci = (operator: string, values: string[]): Json => ({ operator, values, caseInsensitive: true });

describe('STR_* with caseInsensitive', () => {
  test.each<Row>([
    // ASCII values are folded on the fly, without a lower-cased copy.
    ['contains: upper-case value, lower-case entry', ci('STR_CONTAINS', ['ell']), { userId: 'HELLO' }, true],
    ['contains: mixed-case entry is lower-cased at compile', ci('STR_CONTAINS', ['xX', 'ElL']), { userId: 'hello' }, true],
    ['contains: A and Z fold', ci('STR_CONTAINS', ['az']), { userId: '-AZ-' }, true],
    ['contains: @ is not A', ci('STR_CONTAINS', ['a`b']), { userId: 'A@B' }, false],
    ['contains: [ is not Z', ci('STR_CONTAINS', ['{']), { userId: '[' }, false],
    ['contains: a match at the very end', ci('STR_CONTAINS', ['abc']), { userId: 'xxABC' }, true],
    ['contains: a match at the very start', ci('STR_CONTAINS', ['abc']), { userId: 'ABCxx' }, true],
    ['contains: the whole value', ci('STR_CONTAINS', ['abc']), { userId: 'AbC' }, true],
    ['contains: an entry longer than the value', ci('STR_CONTAINS', ['abcd']), { userId: 'ABC' }, false],
    ['contains: a near miss', ci('STR_CONTAINS', ['abd']), { userId: 'xABCx' }, false],
    ['contains: the second entry matches', ci('STR_CONTAINS', ['zz', 'bc']), { userId: 'ABC' }, true],
    ['contains: no entry matches', ci('STR_CONTAINS', ['zz', 'yy']), { userId: 'ABC' }, false],
    ['starts: prefix', ci('STR_STARTS_WITH', ['HE']), { userId: 'hello' }, true],
    ['starts: same length', ci('STR_STARTS_WITH', ['HELLO']), { userId: 'hello' }, true],
    ['starts: only a suffix matches', ci('STR_STARTS_WITH', ['LO']), { userId: 'hello' }, false],
    ['starts: only the middle matches', ci('STR_STARTS_WITH', ['ELL']), { userId: 'hello' }, false],
    ['starts: entry longer than the value', ci('STR_STARTS_WITH', ['HELLOS']), { userId: 'hello' }, false],
    ['ends: suffix', ci('STR_ENDS_WITH', ['LO']), { userId: 'HelLo' }, true],
    ['ends: same length', ci('STR_ENDS_WITH', ['hello']), { userId: 'HELLO' }, true],
    ['ends: only a prefix matches', ci('STR_ENDS_WITH', ['HE']), { userId: 'hello' }, false],
    ['ends: entry longer than the value', ci('STR_ENDS_WITH', ['XHELLO']), { userId: 'hello' }, false],
    ['an empty entry is in every value', ci('STR_ENDS_WITH', ['']), { userId: 'HELLO' }, true],
    // Non-ASCII values are lower-cased as String.prototype.toLowerCase does.
    ['contains: ÄPFEL holds äpfel', ci('STR_CONTAINS', ['äpfel']), { userId: 'GRÜNE ÄPFEL' }, true],
    ['contains: äpfel holds the upper-case entry ÄPFEL', ci('STR_CONTAINS', ['ÄPFEL']), { userId: 'äpfel' }, true],
    ['contains: non-ASCII miss', ci('STR_CONTAINS', ['birne']), { userId: 'ÄPFEL' }, false],
    ['starts: ÄPFEL-', ci('STR_STARTS_WITH', ['äpfel-']), { userId: 'ÄPFEL-SAFT' }, true],
    ['starts: not a suffix', ci('STR_STARTS_WITH', ['saft']), { userId: 'ÄPFEL-SAFT' }, false],
    ['ends: -SAFT after non-ASCII', ci('STR_ENDS_WITH', ['-saft']), { userId: 'ÄPFEL-SAFT' }, true],
    ['ends: not a prefix', ci('STR_ENDS_WITH', ['äpfel']), { userId: 'ÄPFEL-SAFT' }, false],
    ['Turkish İ lower-cases to i + combining dot', ci('STR_STARTS_WITH', ['i̇stanbul']), { userId: 'İSTANBUL' }, true],
    ['Turkish İ is not a plain i', ci('STR_STARTS_WITH', ['istanbul']), { userId: 'İSTANBUL' }, false],
    ['capital ẞ lower-cases to ß', ci('STR_ENDS_WITH', ['groß']), { userId: 'GROẞ' }, true],
    ['ß is not folded to ss', ci('STR_CONTAINS', ['straße']), { userId: 'STRASSE' }, false],
    ['Greek capitals fold', ci('STR_CONTAINS', ['αβγ']), { userId: 'ΑΒΓ' }, true],
    // Case-sensitive operators do not fold, on either path.
    ['case-sensitive contains: ASCII', { operator: 'STR_CONTAINS', values: ['ell'] }, { userId: 'HELLO' }, false],
    ['case-sensitive starts: ASCII', { operator: 'STR_STARTS_WITH', values: ['he'] }, { userId: 'HELLO' }, false],
    ['case-sensitive ends: ASCII', { operator: 'STR_ENDS_WITH', values: ['lo'] }, { userId: 'HELLO' }, false],
    ['case-sensitive contains: non-ASCII', { operator: 'STR_CONTAINS', values: ['äpfel'] }, { userId: 'ÄPFEL' }, false],
    ['case-sensitive contains: upper-case entry', { operator: 'STR_CONTAINS', values: ['ELL'] }, { userId: 'hello' }, false],
    ['case-sensitive contains: exact case', { operator: 'STR_CONTAINS', values: ['ÄPF'] }, { userId: 'ÄPFEL' }, true],
    ['case-sensitive starts: exact case', { operator: 'STR_STARTS_WITH', values: ['ÄPF'] }, { userId: 'ÄPFEL' }, true],
    ['case-sensitive starts: a suffix is no prefix', { operator: 'STR_STARTS_WITH', values: ['FEL'] }, { userId: 'ÄPFEL' }, false],
    ['case-sensitive ends: exact case', { operator: 'STR_ENDS_WITH', values: ['FEL'] }, { userId: 'ÄPFEL' }, true],
    ['case-sensitive ends: a prefix is no suffix', { operator: 'STR_ENDS_WITH', values: ['ÄPF'] }, { userId: 'ÄPFEL' }, false],
    ['case-sensitive: a later entry matches', { operator: 'STR_CONTAINS', values: ['x', 'PF'] }, { userId: 'ÄPFEL' }, true],
    // Field reading and inversion on both paths.
    ['a missing field is false', ci('STR_CONTAINS', ['']), {}, false],
    ['an empty field is absent', ci('STR_CONTAINS', ['']), { userId: '' }, false],
    ['inverted ASCII match', { ...ci('STR_CONTAINS', ['ell']), inverted: true }, { userId: 'HELLO' }, false],
    ['inverted non-ASCII miss', { ...ci('STR_CONTAINS', ['birne']), inverted: true }, { userId: 'ÄPFEL' }, true],
    ['a number property is compared as text', { ...ci('STR_STARTS_WITH', ['12']), contextName: 'n' }, { properties: { n: 123 } }, true],
    ['a boolean property is compared as text', { ...ci('STR_CONTAINS', ['TRU']), contextName: 'b' }, { properties: { b: true } }, true],
  ])('%s', (_name, constraint, context, expected) => {
    expect(check(constraint, context)).toBe(expected);
  });
});

describe('IN and NOT_IN', () => {
  // Up to 12 entries are scanned in place; longer lists are de-duplicated, sorted by code
  // unit and searched by bisection.
  const short = ['b', 'd', 'f', 'h', 'j', 'l', 'n', 'p', 'r', 't', 'v', 'x'];
  const long = ['m10', 'a', 'zz', 'Z', 'é', 'm2', 'm1', '😀', 'ｆ', 'a', '', 'm', 'M', 'm10', 'b b', '0'];

  test.each<[string, string[]]>([
    ['a 12-entry list (scanned)', short],
    ['a 16-entry list with duplicates (bisected)', long],
    ['a 13-entry list (bisected)', [...short, 'z']],
    ['a 200-entry list (bisected)', Array.from({ length: 200 }, (_, i) => `id-${(i * 7919) % 1000}`)],
  ])('%s: IN finds every entry, NOT_IN none', (_name, list) => {
    const inFlag = constraintFlag({ contextName: 'userId', operator: 'IN', values: list });
    const notInFlag = constraintFlag({ contextName: 'userId', operator: 'NOT_IN', values: list });
    for (const v of list) {
      if (v === '') continue; // an empty field is absent
      expect([v, inFlag.isEnabled({ userId: v })]).toEqual([v, true]);
      expect([v, notInFlag.isEnabled({ userId: v })]).toEqual([v, false]);
    }
  });

  test.each<[string, string[], string[]]>([
    ['short: neighbours of each entry', short, ['a', 'c', 'g', 'k', 'o', 's', 'w', 'y', 'bb', 'B', 'x ']],
    ['long: values that sort next to entries', long, ['m0', 'm11', 'm3', 'A', 'aa', 'z', 'zzz', 'b', 'bb', 'e', 'ｇ', '😁', '/', '1', 'M1']],
    ['long: before the first and after the last', [...short, 'z'], ['0', 'a', 'zz', '~']],
  ])('%s: IN misses them, NOT_IN holds', (_name, list, others) => {
    const inFlag = constraintFlag({ contextName: 'userId', operator: 'IN', values: list });
    const notInFlag = constraintFlag({ contextName: 'userId', operator: 'NOT_IN', values: list });
    for (const v of others) {
      expect([v, inFlag.isEnabled({ userId: v })]).toEqual([v, false]);
      expect([v, notInFlag.isEnabled({ userId: v })]).toEqual([v, true]);
    }
  });

  test.each<Row>([
    ['short IN: missing field', { operator: 'IN', values: short }, {}, false],
    ['long IN: missing field', { operator: 'IN', values: long }, {}, false],
    ['short NOT_IN: missing field', { operator: 'NOT_IN', values: short }, {}, true],
    ['long NOT_IN: missing field', { operator: 'NOT_IN', values: long }, {}, true],
    ['short inverted IN', { operator: 'IN', values: short, inverted: true }, { userId: 'b' }, false],
    ['long inverted IN', { operator: 'IN', values: long, inverted: true }, { userId: 'zz' }, false],
    ['long inverted NOT_IN', { operator: 'NOT_IN', values: long, inverted: true }, { userId: 'zz' }, true],
    ['long IN on a number property', { contextName: 'n', operator: 'IN', values: [...short, '42'] }, { properties: { n: 42 } }, true],
    ['IN on an empty list', { operator: 'IN', values: [] }, { userId: 'a' }, false],
    ['NOT_IN on an empty list', { operator: 'NOT_IN', values: [] }, { userId: 'a' }, true],
    ['IN is case-sensitive', { operator: 'IN', values: ['Alice'] }, { userId: 'alice' }, false],
  ])('%s', (_name, constraint, context, expected) => {
    expect(check(constraint, context)).toBe(expected);
  });
});

describe('NUM_*', () => {
  const num = (operator: string, value: string, contextName = 'n'): Json => ({ contextName, operator, value });

  test.each<[string, string, number, boolean]>([
    ['NUM_EQ', '5', 5, true],
    ['NUM_EQ', '5', 4, false],
    ['NUM_EQ', '5', 6, false],
    ['NUM_GT', '5', 6, true],
    ['NUM_GT', '5', 5, false],
    ['NUM_GT', '5', 4, false],
    ['NUM_GTE', '5', 5, true],
    ['NUM_GTE', '5', 6, true],
    ['NUM_GTE', '5', 4.999, false],
    ['NUM_LT', '5', 4, true],
    ['NUM_LT', '5', 5, false],
    ['NUM_LT', '5', 6, false],
    ['NUM_LTE', '5', 5, true],
    ['NUM_LTE', '5', 4, true],
    ['NUM_LTE', '5', 5.001, false],
    ['NUM_EQ', '-0.5', -0.5, true],
    ['NUM_GT', '1e3', 1001, true],
  ])('%s %s against %d', (operator, value, n, expected) => {
    // The same answer whichever way the number arrives.
    const flag = constraintFlag(num(operator, value));
    expect(flag.isEnabled(<Context>{ n })).toBe(expected);
    expect(flag.isEnabled(<Context>{ n: String(n) })).toBe(expected);
    expect(flag.isEnabled(<Context>{ n: ` ${n}\t` })).toBe(expected);
    expect(flag.isEnabled({ properties: { n } })).toBe(expected);
    expect(flag.isEnabled({ properties: { n: String(n) } })).toBe(expected);
    expect(flag.isEnabled({ properties: { n: `\n${n} ` } })).toBe(expected);
  });

  test.each<Row>([
    ['a number-typed top-level value', num('NUM_EQ', '7'), { n: 7 }, true],
    ['a number-typed property', num('NUM_GT', '7'), { properties: { n: 8 } }, true],
    ['a number-typed top-level value wins over properties', num('NUM_EQ', '7'), { n: 7, properties: { n: 1 } }, true],
    ['a string top-level value wins over properties', num('NUM_EQ', '7'), { n: '7', properties: { n: 1 } }, true],
    // A number is present whatever its value ("NaN", "Infinity" are its string forms): the
    // top level wins over properties.
    ['a non-finite top-level number is its own value', num('NUM_EQ', '1'), { n: Infinity, properties: { n: 1 } }, false],
    ['NaN at the top level is its own value', num('NUM_EQ', '1'), { n: NaN, properties: { n: '1' } }, false],
    ['an empty top-level string is absent: properties are read', num('NUM_EQ', '3'), { n: '', properties: { n: '3' } }, true],
    ['null at the top level is absent: properties are read', num('NUM_EQ', '3'), { n: null, properties: { n: 3 } }, true],
    ['a blank top-level string is not a number (no fall-through)', num('NUM_LTE', '3'), { n: '   ', properties: { n: '3' } }, false],
    ['a blank property is not 0', num('NUM_LTE', '3'), { properties: { n: '  ' } }, false],
    ['an empty property is not 0', num('NUM_EQ', '0'), { properties: { n: '' } }, false],
    ['a blank property, inverted, holds', { ...num('NUM_EQ', '0'), inverted: true }, { properties: { n: ' ' } }, true],
    ['an infinite property compares as a number', num('NUM_GT', '3'), { properties: { n: Infinity } }, true],
    ['NaN as a property is no number', num('NUM_LT', '3'), { properties: { n: NaN } }, false],
    ['a null property is no number', num('NUM_LT', '3'), { properties: { n: null } }, false],
    ['a boolean top-level value is no number', num('NUM_EQ', '1'), { n: true, properties: { n: 1 } }, false],
    ['a boolean property is no number', num('NUM_EQ', '1'), { properties: { n: true } }, false],
    ['a Date top-level value is no number', num('NUM_GT', '0'), { n: new Date(NOW) }, false],
    ['text that is not a number', num('NUM_GT', '0'), { n: '12abc' }, false],
    ['hex text reads as Number does', num('NUM_EQ', '16'), { n: '0x10' }, true],
    ['a missing field is false', num('NUM_LT', '3'), {}, false],
    ['no properties at all is false', num('NUM_LT', '3'), { properties: undefined }, false],
    ['a padded constraint value', num('NUM_EQ', ' 7 '), { n: 7 }, true],
    ['an unusable constraint value is false', num('NUM_GTE', 'seven'), { n: 7 }, false],
    ['an unusable constraint value is false even inverted', { ...num('NUM_GTE', 'seven'), inverted: true }, { n: 7 }, false],
    ['a blank constraint value is unusable (not 0)', num('NUM_GTE', ' '), { n: 7 }, false],
    ['value falls back to the first of values', { contextName: 'n', operator: 'NUM_EQ', values: ['7', '8'] }, { n: 7 }, true],
    ['a number-typed userId reads too', num('NUM_EQ', '12', 'userId'), { userId: 12 as unknown as string }, true],
  ])('%s', (_name, constraint, context, expected) => {
    expect(check(constraint, context)).toBe(expected);
  });

  test('an unusable constraint value warns once, naming the operator', () => {
    const warnings: string[] = [];
    const flag = constraintFlag(num('NUM_GT', 'x'), { onWarning: (m) => warnings.push(m) });
    flag.isEnabled(<Context>{ n: 1 });
    flag.isEnabled(<Context>{ n: 2 });
    expect(warnings).toEqual(['NUM_GT constraint on "n" has no usable number; it is false, also when inverted']);
  });
});

describe('DATE_*', () => {
  const date = (operator: string, value: string): Json => ({ contextName: 'currentTime', operator, value });
  const T = '2024-02-29T12:00:00.500Z';
  const ms = Date.parse(T);

  test.each<[string, unknown, boolean, boolean]>([
    // [currentTime, is it after T, is it before T]
    ['the same instant, as written by toISOString', T, false, false],
    ['a millisecond later', '2024-02-29T12:00:00.501Z', true, false],
    ['a millisecond earlier', '2024-02-29T12:00:00.499Z', false, true],
    ['one fraction digit is tenths (.6 = 600 ms)', '2024-02-29T12:00:00.6Z', true, false],
    ['one fraction digit is tenths (.4 = 400 ms)', '2024-02-29T12:00:00.4Z', false, true],
    ['two fraction digits are hundredths (.51)', '2024-02-29T12:00:00.51Z', true, false],
    ['two fraction digits are hundredths (.49)', '2024-02-29T12:00:00.49Z', false, true],
    ['no fraction is .000', '2024-02-29T12:00:00Z', false, true],
    ['a second later', '2024-02-29T12:00:01Z', true, false],
    ['a minute earlier', '2024-02-29T11:59:00Z', false, true],
    ['an hour later', '2024-02-29T13:00:00Z', true, false],
    ['the day before', '2024-02-28T12:00:00Z', false, true],
    ['the next day, 1 March', '2024-03-01T00:00:00Z', true, false],
    ['a month earlier', '2024-01-29T12:00:00Z', false, true],
    ['a year later', '2025-02-28T12:00:00Z', true, false],
    ['a year earlier', '2023-02-28T12:00:00Z', false, true],
    ['23:59:59 the day before', '2024-02-28T23:59:59Z', false, true],
    ['a +01:00 offset (13:00:00.600 there is 12:00:00.600 UTC)', '2024-02-29T13:00:00.600+01:00', true, false],
    ['a -01:00 offset (11:00 there is 12:00 UTC)', '2024-02-29T11:00:00-01:00', false, true],
    ['a +00:00 offset', '2024-02-29T12:00:00.501+00:00', true, false],
    ['as a Date, later', new Date(ms + 1), true, false],
    ['as a Date, earlier', new Date(ms - 1), false, true],
    ['as a Date, equal', new Date(ms), false, false],
    ['as epoch ms, later', ms + 1, true, false],
    ['as epoch ms, earlier', ms - 1, false, true],
    ['as epoch ms, equal', ms, false, false],
    ['not a date at all', 'yesterday', false, false],
    ['an unsupported type', true, false, false],
  ])('currentTime %s', (_name, currentTime, after, before) => {
    const context = { currentTime } as unknown as Context;
    expect([constraintFlag(date('DATE_AFTER', T)).isEnabled(context), constraintFlag(date('DATE_BEFORE', T)).isEnabled(context)]).toEqual([after, before]);
  });

  // Day, month and time fields out of range are no fast-path dates; what is left is what
  // date-fns and then Date.parse make of them.
  test.each<[string, string, number]>([
    ['29 February of a leap year', '2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['29 February of a year divisible by 400', '2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['31 December', '2024-12-31T23:59:59.999Z', Date.UTC(2024, 11, 31, 23, 59, 59, 999)],
    ['1 January', '2024-01-01T00:00:00.000Z', Date.UTC(2024, 0, 1)],
    ['24:00 is the next midnight', '2024-01-01T24:00:00Z', Date.UTC(2024, 0, 2)],
  ])('currentTime %s', (_name, currentTime, expected) => {
    const after = constraintFlag(date('DATE_AFTER', new Date(expected - 1).toISOString()));
    const notAfter = constraintFlag(date('DATE_AFTER', new Date(expected).toISOString()));
    const before = constraintFlag(date('DATE_BEFORE', new Date(expected + 1).toISOString()));
    const notBefore = constraintFlag(date('DATE_BEFORE', new Date(expected).toISOString()));
    const context = { currentTime };
    expect([after.isEnabled(context), notAfter.isEnabled(context), before.isEnabled(context), notBefore.isEnabled(context)]).toEqual([true, false, true, false]);
  });

  test.each([
    // An impossible day is unusable, never rolled over into the next month.
    ['29 February of a common year', '2023-02-29T00:00:00Z'],
    ['29 February of a century year', '2100-02-29T00:00:00Z'],
    ['30 February', '2024-02-30T00:00:00Z'],
    ['31 April', '2024-04-31T00:00:00Z'],
    ['day 0', '2024-01-00T00:00:00Z'],
    ['day 32', '2024-01-32T00:00:00Z'],
    ['month 0', '2024-00-10T00:00:00Z'],
    ['month 13', '2024-13-01T00:00:00Z'],
    ['hour 25', '2024-01-01T25:00:00Z'],
    ['minute 60', '2024-01-01T23:60:00Z'],
    ['second 60', '2024-01-01T23:00:60Z'],
  ])('currentTime with %s is no date: neither after nor before anything', (_name, currentTime) => {
    const after = constraintFlag(date('DATE_AFTER', '1970-01-01T00:00:00Z'));
    const before = constraintFlag(date('DATE_BEFORE', '2999-01-01T00:00:00Z'));
    expect([after.isEnabled({ currentTime }), before.isEnabled({ currentTime })]).toEqual([false, false]);
  });

  test('each new currentTime text is parsed again (the memo holds one entry)', () => {
    const after = constraintFlag(date('DATE_AFTER', T));
    const seen = ['2024-03-01T00:00:00Z', '2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z', '2024-03-01T00:00:00Z', '2024-02-01T00:00:00Z'].map((currentTime) =>
      after.isEnabled({ currentTime }),
    );
    expect(seen).toEqual([true, false, true, true, false]);
  });

  test.each<[string, EngineSettings, Context, boolean, boolean]>([
    ['injected now is after', { now: () => ms + 1 }, {}, true, false],
    ['injected now is before', { now: () => ms - 1 }, {}, false, true],
    ['injected now equal', { now: () => ms }, {}, false, false],
    ['an empty currentTime is now', { now: () => ms + 1 }, { currentTime: '' }, true, false],
    ['a null currentTime is now', { now: () => ms - 1 }, { currentTime: null as unknown as string }, false, true],
    ['the system clock (2024 is past)', { now: Date.now }, {}, true, false],
  ])('%s', (_name, settings, context, after, before) => {
    expect([constraintFlag(date('DATE_AFTER', T), settings).isEnabled(context), constraintFlag(date('DATE_BEFORE', T), settings).isEnabled(context)]).toEqual([after, before]);
  });

  test('the system clock, before a future date', () => {
    expect(constraintFlag(date('DATE_BEFORE', '2999-01-01T00:00:00Z'), { now: Date.now }).isEnabled({})).toBe(true);
    expect(constraintFlag(date('DATE_AFTER', '2999-01-01T00:00:00Z'), { now: Date.now }).isEnabled({})).toBe(false);
  });

  test.each<Row>([
    ['a constraint date with a fraction', date('DATE_AFTER', '2024-01-01T00:00:00.5Z'), { currentTime: '2024-01-01T00:00:00.501Z' }, true],
    ['a constraint date with an offset', date('DATE_BEFORE', '2024-01-01T01:00:00+01:00'), { currentTime: '2024-01-01T00:00:00.001Z' }, false],
    ['a constraint date in values', { contextName: 'currentTime', operator: 'DATE_AFTER', values: ['2024-01-01T00:00:00Z'] }, { currentTime: '2024-01-02T00:00:00Z' }, true],
    ['an unusable constraint date is false', date('DATE_AFTER', 'soon'), { currentTime: '2024-01-02T00:00:00Z' }, false],
    ['an unusable constraint date is false even inverted', { ...date('DATE_AFTER', 'soon'), inverted: true }, {}, false],
    ['inverted DATE_BEFORE', { ...date('DATE_BEFORE', T), inverted: true }, { currentTime: '2025-01-01T00:00:00Z' }, true],
  ])('%s', (_name, constraint, context, expected) => {
    expect(check(constraint, context)).toBe(expected);
  });
});

describe('SEMVER_*', () => {
  const ver = (operator: string, value: string): Json => ({ contextName: 'version', operator, value });

  test.each<[string, string, string, boolean]>([
    ['SEMVER_EQ', '1.2.3', '1.2.3', true],
    ['SEMVER_EQ', '1.2.3', '1.2.4', false],
    ['SEMVER_EQ', '1.2.3', '1.2.3-rc.1', false],
    ['SEMVER_GT', '1.2.3', '1.2.4', true],
    ['SEMVER_GT', '1.2.3', '1.2.3', false],
    ['SEMVER_GT', '1.2.3', '1.2.2', false],
    ['SEMVER_GTE', '1.2.3', '1.2.3', true],
    ['SEMVER_GTE', '1.2.3', '1.10.0', true],
    ['SEMVER_GTE', '1.2.3', '1.2.3-beta', false],
    ['SEMVER_LT', '1.2.3', '1.2.3-rc.1', true],
    ['SEMVER_LT', '1.2.3', '1.2.3', false],
    ['SEMVER_LT', '1.2.3', '2.0.0', false],
    ['SEMVER_LTE', '1.2.3', '1.2.3', true],
    ['SEMVER_LTE', '1.2.3', '0.9.9', true],
    ['SEMVER_LTE', '1.2.3', '1.2.4', false],
    ['SEMVER_GT', '1.0.0-rc.2', '1.0.0-rc.10', true],
    ['SEMVER_LT', '1.0.0-alpha', '1.0.0-alpha.1', false],
  ])('%s %s with version %s', (operator, value, version, expected) => {
    const flag = constraintFlag(ver(operator, value));
    // Twice: the second answer comes from the version cache.
    expect([flag.isEnabled(<Context>{ version }), flag.isEnabled(<Context>{ version })]).toEqual([expected, expected]);
    expect(flag.isEnabled({ properties: { version } })).toBe(expected);
  });

  test.each<Row>([
    ['a v-prefixed context version is no version', ver('SEMVER_EQ', '1.2.3'), { version: 'v1.2.3' }, false],
    ['an =-prefixed context version is no version', ver('SEMVER_LTE', '1.2.3'), { version: '=1.2.3' }, false],
    ['a v-prefixed constraint version is unusable', ver('SEMVER_EQ', 'v1.2.3'), { version: '1.2.3' }, false],
    ['an unusable constraint version is false even inverted', { ...ver('SEMVER_EQ', 'x'), inverted: true }, { version: '1.2.3' }, false],
    ['junk is no version', ver('SEMVER_LT', '1.2.3'), { version: 'one' }, false],
    ['junk is no version, inverted holds', { ...ver('SEMVER_LT', '1.2.3'), inverted: true }, { version: 'one' }, true],
    ['a missing field is false', ver('SEMVER_LT', '1.2.3'), {}, false],
    ['inverted SEMVER_GT', { ...ver('SEMVER_GT', '1.2.3'), inverted: true }, { version: '1.2.4' }, false],
    ['the constraint version from values', { contextName: 'version', operator: 'SEMVER_EQ', values: ['2.0.0'] }, { version: '2.0.0' }, true],
  ])('%s', (_name, constraint, context, expected) => {
    expect(check(constraint, context)).toBe(expected);
  });

  test('many distinct versions: the cache stays correct as it cycles', () => {
    const flag = constraintFlag(ver('SEMVER_GTE', '1.500.0'));
    for (let round = 0; round < 2; round++) {
      for (let minor = 0; minor < 1200; minor++) {
        expect(flag.isEnabled(<Context>{ version: `1.${minor}.0` })).toBe(minor >= 500);
      }
    }
  });
});

describe('REGEX', () => {
  const re = (value: string, extra: Json = {}): Json => ({ contextName: 'email', operator: 'REGEX', value, ...extra });

  test.each<Row>([
    ['finds a match anywhere', re('@example\\.'), { email: 'a@example.com' }, true],
    ['anchored miss', re('^b'), { email: 'a@example.com' }, false],
    ['case-sensitive by default', re('EXAMPLE'), { email: 'a@example.com' }, false],
    ['caseInsensitive', re('EXAMPLE', { caseInsensitive: true }), { email: 'a@example.com' }, true],
    ['caseInsensitive, non-ASCII', re('ÄPFEL', { caseInsensitive: true }), { email: 'äpfel' }, true],
    ['a missing field is false', re('.*'), {}, false],
    ['a missing field, inverted, holds', re('x', { inverted: true }), {}, true],
    ['inverted match', re('a', { inverted: true }), { email: 'a' }, false],
    ['a pattern from values', { contextName: 'email', operator: 'REGEX', values: ['^a'] }, { email: 'a@x' }, true],
    ['an invalid pattern is false', re('(unclosed'), { email: '(unclosed' }, false],
    ['an invalid pattern is false even inverted', re('(', { inverted: true }), { email: 'x' }, false],
    ['backreferences are refused', re('(a)\\1'), { email: 'aa' }, false],
    ['a number property is matched as text', { contextName: 'n', operator: 'REGEX', value: '^4\\d$' }, { properties: { n: 42 } }, true],
  ])('%s', (_name, constraint, context, expected) => {
    expect(check(constraint, context)).toBe(expected);
  });
});

describe('IN_CIDR', () => {
  const cidr = (...values: string[]): Json => ({ contextName: 'remoteAddress', operator: 'IN_CIDR', values });

  test.each<Row>([
    ['v4 in a /24', cidr('10.1.2.0/24'), { remoteAddress: '10.1.2.255' }, true],
    ['v4 just outside a /24', cidr('10.1.2.0/24'), { remoteAddress: '10.1.3.0' }, false],
    ['v4 /32 match', cidr('10.1.2.3/32'), { remoteAddress: '10.1.2.3' }, true],
    ['v4 /32 neighbour', cidr('10.1.2.3/32'), { remoteAddress: '10.1.2.4' }, false],
    ['a bare v4 address', cidr('10.1.2.3'), { remoteAddress: '10.1.2.3' }, true],
    ['a bare v4 address, neighbour', cidr('10.1.2.3'), { remoteAddress: '10.1.2.2' }, false],
    ['v4 /0 holds every v4 address', cidr('0.0.0.0/0'), { remoteAddress: '203.0.113.9' }, true],
    ['v4 /0 holds no v6 address', cidr('0.0.0.0/0'), { remoteAddress: '2001:db8::1' }, false],
    ['v4 /1', cidr('128.0.0.0/1'), { remoteAddress: '127.255.255.255' }, false],
    ['v4 /1 upper half', cidr('128.0.0.0/1'), { remoteAddress: '128.0.0.0' }, true],
    ['v4 /31', cidr('10.0.0.0/31'), { remoteAddress: '10.0.0.1' }, true],
    ['v4 /31 outside', cidr('10.0.0.0/31'), { remoteAddress: '10.0.0.2' }, false],
    ['v4 /33 is no range', cidr('10.0.0.0/33'), { remoteAddress: '10.0.0.0' }, false],
    ['the range is masked: host bits ignored', cidr('10.1.2.77/24'), { remoteAddress: '10.1.2.1' }, true],
    ['leading zeros in a part are refused (never octal)', cidr('10.1.2.0/24'), { remoteAddress: '010.001.002.003' }, false],
    ['four digits in a part is no address', cidr('1.2.3.4/32'), { remoteAddress: '0001.2.3.4' }, false],
    ['four digits in the last part is no address', cidr('1.2.3.4/32'), { remoteAddress: '1.2.3.0004' }, false],
    ['a part above 255 is no address', cidr('0.0.0.0/0'), { remoteAddress: '1.2.256.4' }, false],
    ['a last part above 255 is no address', cidr('0.0.0.0/0'), { remoteAddress: '1.2.3.256' }, false],
    ['255 is a part', cidr('255.255.255.255/32'), { remoteAddress: '255.255.255.255' }, true],
    ['three parts is no address', cidr('0.0.0.0/0'), { remoteAddress: '1.2.3' }, false],
    ['five parts is no address', cidr('0.0.0.0/0'), { remoteAddress: '1.2.3.4.5' }, false],
    ['an empty part is no address', cidr('0.0.0.0/0'), { remoteAddress: '1..3.4' }, false],
    ['a trailing dot is no address', cidr('0.0.0.0/0'), { remoteAddress: '1.2.3.' }, false],
    ['a leading dot is no address', cidr('0.0.0.0/0'), { remoteAddress: '.1.2.3' }, false],
    ['letters are no address', cidr('0.0.0.0/0'), { remoteAddress: '1.2.3.x' }, false],
    ['a space-padded address', cidr('10.1.2.0/24'), { remoteAddress: ' 10.1.2.3 ' }, true],
    ['v4-mapped v6 in a v4 range', cidr('10.1.0.0/16'), { remoteAddress: '::ffff:10.1.2.3' }, true],
    ['v6 in a /32', cidr('2001:db8::/32'), { remoteAddress: '2001:db8:ffff::1' }, true],
    ['v6 outside a /32', cidr('2001:db8::/32'), { remoteAddress: '2001:db9::1' }, false],
    ['v6 in a /64', cidr('2001:db8:0:1::/64'), { remoteAddress: '2001:db8:0:1:ffff:ffff:ffff:ffff' }, true],
    ['v6 outside a /64', cidr('2001:db8:0:1::/64'), { remoteAddress: '2001:db8:0:2::' }, false],
    ['v6 in a /100 (third word partly masked)', cidr('2001:db8::1:0:0/100'), { remoteAddress: '2001:db8::1:fff:ffff' }, true],
    ['v6 outside a /100', cidr('2001:db8::1:0:0/100'), { remoteAddress: '2001:db8::1:1000:0' }, false],
    ['v6 /128', cidr('::1/128'), { remoteAddress: '::1' }, true],
    ['v6 /128 neighbour', cidr('::1/128'), { remoteAddress: '::2' }, false],
    ['v6 /129 is no range', cidr('::/129'), { remoteAddress: '::1' }, false],
    ['bracketed v6', cidr('::1'), { remoteAddress: '[::1]' }, true],
    ['v6 with a zone', cidr('fe80::/10'), { remoteAddress: 'fe80::1%eth0' }, true],
    ['v6 with a v4 tail', cidr('64:ff9b::/96'), { remoteAddress: '64:ff9b::192.0.2.1' }, true],
    ['a full v6 address', cidr('1:2:3:4:5:6:7:8'), { remoteAddress: '1:2:3:4:5:6:7:8' }, true],
    ['nine groups is no address', cidr('::/0'), { remoteAddress: '1:2:3:4:5:6:7:8:9' }, false],
    ['two :: is no address', cidr('::/0'), { remoteAddress: '1::2::3' }, false],
    ['a second range matches', cidr('10.0.0.0/8', '192.168.0.0/16'), { remoteAddress: '192.168.1.1' }, true],
    ['unusable entries are skipped', cidr('not-an-ip', '10.0.0.0/8'), { remoteAddress: '10.9.9.9' }, true],
    ['only unusable entries: false', cidr('not-an-ip'), { remoteAddress: '10.9.9.9' }, false],
    ['only unusable entries: false even inverted', { ...cidr('x'), inverted: true }, { remoteAddress: '10.9.9.9' }, false],
    // The general parser (addresses the dotted-quad shortcut refuses, and every range).
    ['a padded address with a letter', cidr('0.0.0.0/0'), { remoteAddress: ' 1.2.3.4a ' }, false],
    ['a padded address with a letter first', cidr('0.0.0.0/0'), { remoteAddress: ' a1.2.3.4 ' }, false],
    ['a padded address above 255', cidr('0.0.0.0/0'), { remoteAddress: ' 1.2.3.256 ' }, false],
    ['a padded address with three parts', cidr('0.0.0.0/0'), { remoteAddress: ' 1.2.3 ' }, false],
    ['a padded 255.255.255.255', cidr('255.255.255.255/32'), { remoteAddress: ' 255.255.255.255 ' }, true],
    ['a padded range', cidr(' 10.0.0.0/8 '), { remoteAddress: '10.1.1.1' }, true],
    ['a range with letters in its prefix length', cidr('10.0.0.0/8x'), { remoteAddress: '10.1.1.1' }, false],
    ['a range with letters before its prefix length', cidr('10.0.0.0/x8'), { remoteAddress: '10.1.1.1' }, false],
    ['a range whose address has a letter', cidr('10.0.0.0a/8'), { remoteAddress: '10.1.1.1' }, false],
    ['a range whose address is above 255', cidr('10.0.0.256/8'), { remoteAddress: '10.1.1.1' }, false],
    ['a range written with host bits in its second word', cidr('2001:0:1:2::/16'), { remoteAddress: '2001:ffff::1' }, true],
    ['v6 in a /80 (third word half masked)', cidr('2001:db8:0:0:1::/80'), { remoteAddress: '2001:db8:0:0:1:ffff::' }, true],
    ['v6 outside a /80', cidr('2001:db8:0:0:1::/80'), { remoteAddress: '2001:db8:0:0:2::' }, false],
    ['v6 with a bad v4 tail', cidr('::/0'), { remoteAddress: '::ffff:1.2.3.256' }, false],
    ['v6 with a v4 tail, outside', cidr('::ffff:10.0.0.0/104'), { remoteAddress: '::ffff:11.0.0.1' }, false],
    ['v6 with five hex digits in a group', cidr('::/0'), { remoteAddress: '::12345' }, false],
    ['v6 with a non-hex group', cidr('::/0'), { remoteAddress: 'g::1' }, false],
    ['v6 with a non-hex group after ::', cidr('::/0'), { remoteAddress: '1::1g' }, false],
    ['v6: :: standing for one group', cidr('1:2:3:4:5:6:0:8/128'), { remoteAddress: '1:2:3:4:5:6::8' }, true],
    ['v6: :: standing for no group is no address', cidr('::/0'), { remoteAddress: '1:2:3:4:5:6:7::8' }, false],
    ['v6 with seven groups and no :: is no address', cidr('::/0'), { remoteAddress: '1:2:3:4:5:6:7' }, false],
    ['v6 with only an opening bracket', cidr('::/0'), { remoteAddress: '[::1' }, false],
    ['v6 with only a closing bracket', cidr('::/0'), { remoteAddress: '::1]' }, false],
    ['v6 groups land in their own words', cidr('0:1:0:2:0:3:0:4/128'), { remoteAddress: '0:1:0:2:0:3:0:4' }, true],
    ['v6 groups land in their own words (neighbour)', cidr('0:1:0:2:0:3:0:4/128'), { remoteAddress: '0:1:0:2:0:3:0:5' }, false],
    ['a missing field is false', cidr('0.0.0.0/0'), {}, false],
    ['a missing field, inverted, holds', { ...cidr('10.0.0.0/8'), inverted: true }, {}, true],
    ['inverted match', { ...cidr('10.0.0.0/8'), inverted: true }, { remoteAddress: '10.0.0.1' }, false],
  ])('%s', (_name, constraint, context, expected) => {
    expect(check(constraint, context)).toBe(expected);
  });

  test('each new address text is parsed again (the memo holds one entry)', () => {
    const flag = constraintFlag(cidr('10.0.0.0/8'));
    const seen = ['10.1.1.1', '11.1.1.1', '10.1.1.1', '10.1.1.1', 'junk', '11.1.1.1'].map((remoteAddress) => flag.isEnabled({ remoteAddress }));
    expect(seen).toEqual([true, false, true, true, false, false]);
  });
});

test('an unknown operator is false, even inverted, and warns once', () => {
  const warnings: string[] = [];
  const flag = constraintFlag({ contextName: 'userId', operator: 'STR_MATCHES', values: ['a'], inverted: true }, { onWarning: (m) => warnings.push(m) });
  expect([flag.isEnabled({ userId: 'a' }), flag.isEnabled({ userId: 'b' })]).toEqual([false, false]);
  expect(warnings).toEqual(['unknown constraint operator "STR_MATCHES"; constraints using it are false']);
});
