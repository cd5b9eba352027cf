/**
 * IP address families through the engine, for the IN_CIDR operator and the remoteAddress
 * strategy alike: an IPv4-mapped IPv6 address is its IPv4 address; otherwise IPv4 and
 * IPv6 never meet (an IPv4 address is in no IPv6 range, not even `::/0`).
 */
import { Engine } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';

type Kind = 'IN_CIDR' | 'remoteAddress';

function feature(kind: Kind, entries: string[]) {
  return kind === 'IN_CIDR'
    ? {
        name: 'office',
        enabled: true,
        strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'remoteAddress', operator: 'IN_CIDR', values: entries }] }],
      }
    : { name: 'office', enabled: true, strategies: [{ name: 'remoteAddress', parameters: { IPs: entries.join(', ') } }] };
}

function office(kind: Kind, entries: string[], warnings: string[] = []) {
  const { payload } = parseClientPayload({ version: 2, features: [feature(kind, entries)] });
  return new Engine({ hostname: 'test-host', onWarning: (m) => warnings.push(m) }).load(payload).get('office')!;
}

describe.each<Kind>(['IN_CIDR', 'remoteAddress'])('%s', (kind) => {
  test.each([
    // IPv4 in IPv4 ranges.
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '11.1.2.3', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['10.0.0.1/32', '10.0.0.1', true],
    ['10.0.0.1/32', '10.0.0.2', false],
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.1', '10.0.0.2', false],
    // Host bits set in the range are ignored.
    ['10.0.0.5/8', '10.200.0.1', true],
    ['10.0.0.5/8', '11.0.0.5', false],
    // IPv6 in IPv6 ranges.
    ['2001:db8::/32', '2001:db8:1::5', true],
    ['2001:db8::/32', '2001:db9::5', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '::1', true],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['2001:db8::5/64', '2001:db8::ffff', true],
    ['2001:db8::5/64', '2001:db8:0:1::5', false],
    ['2001:DB8::1', '2001:db8:0::1', true],
    // The families never cross.
    ['::/0', '10.1.2.3', false],
    ['::/0', '0.0.0.0', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['0.0.0.0/0', '::1', false],
    ['0.0.0.0/0', '::', false],
    // IPv4-compatible `::a.b.c.d` is an IPv6 address, not a mapped one.
    ['10.0.0.0/8', '::10.0.0.1', false],
    // An IPv4-mapped IPv6 address is its IPv4 address: in IPv4 ranges, not in IPv6 ones…
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::ffff:11.1.2.3', false],
    ['0.0.0.0/0', '::ffff:10.1.2.3', true],
    ['10.0.0.1/32', '::ffff:10.0.0.1', true],
    ['::/0', '::ffff:10.1.2.3', false],
    ['10.0.0.0/8', '::ffff:a01:203', true],
    // …and equal to it as an exact entry, either way round.
    ['10.0.0.1', '::ffff:10.0.0.1', true],
    ['10.0.0.1', '::ffff:10.0.0.2', false],
    ['::ffff:10.0.0.1', '10.0.0.1', true],
    ['::ffff:10.0.0.0/104', '10.9.9.9', true],
    ['::ffff:10.0.0.0/104', '11.9.9.9', false],
    // Zone ids are ignored, as are brackets and surrounding whitespace.
    ['fe80::/10', 'fe80::1%eth0', true],
    ['fe80::1', 'fe80::1%eth0', true],
    ['fe80::/10', 'fec0::1%eth0', false],
    ['2001:db8::/32', '[2001:db8::1]', true],
    ['10.0.0.0/8', ' 10.1.2.3 ', true],
    // Leading zeros are refused, not read as octal (010 = 8) or decimal.
    ['10.0.0.0/8', '010.0.0.1', false],
    ['8.0.0.0/8', '010.0.0.1', false],
    ['10.0.0.0/8', '10.0.0.01', false],
    // Not addresses.
    ['10.0.0.0/8', '10.1.2.3:8080', false],
    ['10.0.0.0/8', 'localhost', false],
  ])('%p holds %p: %p', (entry, address, expected) => {
    expect(office(kind, [entry]).isEnabled({ remoteAddress: address })).toBe(expected);
  });

  test.each([
    ['bogus', 'bogus'],
    ['10.0.0.0/33', '10.0.0.1'],
    ['010.0.0.0/8', '8.0.0.1'],
    ['010.0.0.1', '010.0.0.1'],
    ['10.0.0.0 /8', '10.0.0.1'],
  ])('the entry %p is ignored, with one warning, and never matches (%p)', (bad, address) => {
    const warnings: string[] = [];
    const flag = office(kind, [bad, '192.168.0.0/16'], warnings);
    expect(flag.isEnabled({ remoteAddress: address })).toBe(false);
    expect(flag.isEnabled({ remoteAddress: '192.168.7.7' })).toBe(true);
    expect(flag.isEnabled({ remoteAddress: '172.16.0.1' })).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(JSON.stringify(bad));
  });

  test('the answer follows the address when it changes, and when it repeats', () => {
    const flag = office(kind, ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1']);
    const answers = ['10.0.0.1', '10.0.0.1', '::ffff:10.0.0.1', '11.0.0.1', '11.0.0.1', '2001:db8::1', '2001:db8::1', '::1', '192.0.2.1', '::ffff:192.0.2.1', '192.0.2.2'].map(
      (remoteAddress) => flag.isEnabled({ remoteAddress }),
    );
    expect(answers).toEqual([true, true, true, false, false, true, true, false, true, true, false]);
  });

  test('a missing or empty remoteAddress is off', () => {
    const flag = office(kind, ['0.0.0.0/0', '::/0']);
    expect(flag.isEnabled({})).toBe(false);
    expect(flag.isEnabled({ remoteAddress: '' })).toBe(false);
  });
});

test('an IN_CIDR constraint whose entries are all invalid is false, inverted too', () => {
  const warnings: string[] = [];
  const { payload } = parseClientPayload({
    version: 2,
    features: [
      {
        name: 'x',
        enabled: true,
        strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['nope'], inverted: true }] }],
      },
    ],
  });
  const flag = new Engine({ onWarning: (m) => warnings.push(m) }).load(payload).get('x')!;
  expect(flag.isEnabled({ remoteAddress: '10.0.0.1' })).toBe(false);
  expect(warnings).toHaveLength(2);
});
