import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { addressOf } from '../../lib/engine/context';
import { AddressSet, inCidr, parseAddress, parseCidr, type Address } from '../../lib/engine/ip';

const MAPPED = 0xffff;

describe('addresses', () => {
  test.each([
    ['127.0.0.1', [0, 0, MAPPED, 0x7f000001]],
    ['0.0.0.0', [0, 0, MAPPED, 0]],
    ['255.255.255.255', [0, 0, MAPPED, 0xffffffff]],
    ['100.0.0.1', [0, 0, MAPPED, 0x64000001]],
    ['::1', [0, 0, 0, 1]],
    ['::', [0, 0, 0, 0]],
    ['2001:db8::8a2e:370:7334', [0x20010db8, 0, 0x8a2e, 0x03707334]],
    ['2001:DB8::8A2E:370:7334', [0x20010db8, 0, 0x8a2e, 0x03707334]],
    ['2001:0db8:0000:0000:0000:8a2e:0370:7334', [0x20010db8, 0, 0x8a2e, 0x03707334]],
    ['1:2:3:4:5:6:7::', [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['::2:3:4:5:6:7:8', [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
    ['1::8', [0x00010000, 0, 0, 8]],
    ['1:2::7:8', [0x00010002, 0, 0, 0x00070008]],
    // IPv4-mapped: the same value as the IPv4 address, in dotted or hex form.
    ['::ffff:10.0.0.1', [0, 0, MAPPED, 0x0a000001]],
    ['::FFFF:a00:1', [0, 0, MAPPED, 0x0a000001]],
    ['0:0:0:0:0:ffff:10.0.0.1', [0, 0, MAPPED, 0x0a000001]],
    // IPv4-compatible (deprecated) is an IPv6 address, not a mapped one.
    ['::10.0.0.1', [0, 0, 0, 0x0a000001]],
    ['1:2:3:4:5:6:1.2.3.4', [0x00010002, 0x00030004, 0x00050006, 0x01020304]],
    // Zone ids are ignored; brackets and surrounding whitespace are accepted.
    ['fe80::1%eth0', [0xfe800000, 0, 0, 1]],
    ['fe80::1%2', [0xfe800000, 0, 0, 1]],
    ['fe80::1%en0.100', [0xfe800000, 0, 0, 1]],
    ['[::1]', [0, 0, 0, 1]],
    ['[fe80::1%eth0]', [0xfe800000, 0, 0, 1]],
    [' 10.0.0.1 ', [0, 0, MAPPED, 0x0a000001]],
    ['\t::1\n', [0, 0, 0, 1]],
  ])('%j is %j', (text, words) => {
    expect(parseAddress(text)).toEqual(words);
  });

  test.each([
    '', ' ', '1.2.3', '1.2.3.256', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4a', '-1.2.3.4',
    // Leading zeros: octal to some parsers, refused here as by the Rust core.
    '010.0.0.1', '10.0.0.01', '00.0.0.0', '0x0a.0.0.1',
    // Short and integer IPv4 forms that inet_aton accepts.
    '10.1', '167772161',
    '1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '1:2:3:4:5:6::7:8', ':1::2', '1::2:',
    '1:2:3:4:5:6:7', 'g::1', '1.2.3.4::', '::ffff:1.2.3', '::ffff:010.0.0.1', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5',
    'fe80::1%', 'fe80::1%eth 0', 'fe80::1%eth0%1', '10.0.0.1%eth0',
    '[10.0.0.1]', '[::1', '::1]', '[::1]:8080', '10.0.0.1:8080', 'hello', 'localhost',
  ])('%p is not an address', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });
});

describe('the memo of the last address', () => {
  test('a repeated text is parsed once: the same words come back', () => {
    const first = addressOf('2001:db8::7');
    expect(first).toEqual([0x20010db8, 0, 0, 7]);
    expect(addressOf('2001:db8::7')).toBe(first);
  });

  test.each([
    ['10.0.0.1', '10.0.0.2', [0, 0, MAPPED, 0x0a000002]],
    ['10.0.0.1', '::ffff:10.0.0.1', [0, 0, MAPPED, 0x0a000001]],
    ['::1', 'nope', undefined],
    ['nope', '::2', [0, 0, 0, 2]],
    ['1.2.3.4', '1.2.3.4 ', [0, 0, MAPPED, 0x01020304]],
  ])('after %p, %p is read afresh', (before, after, words) => {
    addressOf(before);
    expect(addressOf(after)).toEqual(words);
  });
});

describe('CIDR ranges', () => {
  test.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['192.168.1.0/24', '192.168.1.77', true],
    ['192.168.1.0/24', '192.168.2.1', false],
    ['192.168.1.10/32', '192.168.1.10', true],
    ['192.168.1.10/32', '192.168.1.11', false],
    ['192.168.1.10', '192.168.1.10', true],
    ['192.168.1.10', '192.168.1.11', false],
    ['10.1.2.3/8', '10.9.9.9', true],
    ['10.1.2.3/8', '11.1.2.3', false],
    ['128.0.0.0/1', '200.0.0.1', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['2001:db8::5/64', '2001:db8::ffff', true],
    ['2001:db8::5/64', '2001:db8:0:1::', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '::', true],
    // The families never cross…
    ['::/0', '1.2.3.4', false],
    ['::/64', '1.2.3.4', false],
    ['::ffff:0:0/95', '1.2.3.4', false],
    ['0.0.0.0/0', '::1', false],
    ['0.0.0.0/0', '::', false],
    ['0.0.0.0/0', '::10.0.0.1', false],
    ['10.0.0.0/8', '::a00:1', false],
    // …except that a mapped IPv6 address or range is its IPv4 address or range.
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::ffff:11.1.2.3', false],
    ['0.0.0.0/0', '::ffff:1.2.3.4', true],
    ['10.0.0.1', '::ffff:10.0.0.1', true],
    ['::ffff:10.0.0.1', '10.0.0.1', true],
    ['::ffff:0:0/96', '1.2.3.4', true],
    ['::ffff:10.0.0.0/104', '10.9.9.9', true],
    ['::ffff:10.0.0.0/104', '11.9.9.9', false],
    ['::ffff:0:0/96', '::1', false],
    ['fe80::/10', 'fe80::1%eth0', true],
  ])('%s contains %s: %p', (range, address, expected) => {
    const cidr = parseCidr(range);
    const ip = parseAddress(address);
    expect(cidr).toBeDefined();
    expect(ip).toBeDefined();
    expect(inCidr(ip!, cidr!)).toBe(expected);
  });

  test.each([
    ['10.0.0.5/8', [0, 0, MAPPED, 0x0a000000], 104, true],
    [' 10.0.0.0/8 ', [0, 0, MAPPED, 0x0a000000], 104, true],
    ['10.0.0.0/08', [0, 0, MAPPED, 0x0a000000], 104, true],
    ['0.0.0.0/0', [0, 0, MAPPED, 0], 96, true],
    ['10.0.0.1', [0, 0, MAPPED, 0x0a000001], 128, true],
    ['::ffff:10.0.0.0/104', [0, 0, MAPPED, 0x0a000000], 104, true],
    ['::ffff:0:0/95', [0, 0, 0xfffe, 0], 95, false],
    ['2001:db8::5/64', [0x20010db8, 0, 0, 0], 64, false],
    ['::/0', [0, 0, 0, 0], 0, false],
    ['[::1]/128', [0, 0, 0, 1], 128, false],
  ])('%p is network %p, %p bits, IPv4 %p', (text, network, bits, v4) => {
    expect(parseCidr(text)).toEqual({ network, bits, v4 });
  });

  test.each(['10.0.0.0/33', '::/129', '::ffff:0:0/200', '10.0.0.0/x', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0 /8', '10.0.0.0/ 8', '10.0.0.0/8/8', '010.0.0.0/8', 'nonsense/8', '/8', ''])(
    '%p is not a range',
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );
});

describe('address sets', () => {
  const set = new AddressSet(['10.0.0.1', '2001:DB8::1', '::ffff:192.0.2.7', '172.16.0.0/12', '2001:db8:1::/48', '10.0.0.3/32', 'nope'], () => {});

  test.each([
    ['10.0.0.1', true],
    ['::ffff:10.0.0.1', true],
    ['10.0.0.2', false],
    ['10.0.0.3', true],
    ['::ffff:10.0.0.3', true],
    ['2001:db8::1', true],
    ['2001:db8:0:0::1', true],
    ['2001:db8::2', false],
    ['192.0.2.7', true],
    ['172.31.255.255', true],
    ['172.32.0.0', false],
    ['2001:db8:1:ffff::', true],
    ['2001:db8:2::', false],
    ['::a00:1', false],
    ['::1', false],
  ])('%p: %p', (text, expected) => {
    expect(set.has(parseAddress(text)!)).toBe(expected);
  });

  test('counts the usable entries and reports each other one', () => {
    const invalid: string[] = [];
    const s = new AddressSet(['1.2.3.4', 'x', '10.0.0.0/8', '010.0.0.1', '::/0'], (e) => invalid.push(e));
    expect(s.size).toBe(3);
    expect(invalid).toEqual(['x', '010.0.0.1']);
  });

  test('finds every one of many single addresses, and nothing between them', () => {
    const addresses = Array.from({ length: 500 }, (_, i) => `10.${i % 7}.${(i * 37) % 256}.${(i * 11) % 256}`);
    const many = new AddressSet([...addresses, ...addresses.map((a) => `::ffff:${a}`)], () => {});
    for (const a of addresses) expect(many.has(parseAddress(a)!)).toBe(true);
    const present = new Set(addresses);
    for (let i = 0; i < 500; i++) {
      const probe = `10.${i % 7}.${(i * 37) % 256}.${(i * 11 + 1) % 256}`;
      expect(many.has(parseAddress(probe)!)).toBe(present.has(probe));
    }
  });
});

/**
 * The reference reading of an address, from `node:net` (which is valid) and `ipaddr.js`
 * (its value), with the family rule applied: what the scanner must agree with.
 */
function reference(text: string): Address | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']') && t.includes(':')) t = t.slice(1, -1);
  if (isIPv4(t)) return [0, 0, MAPPED, ipaddr.IPv4.parse(t).toByteArray().reduce((v, b) => v * 256 + b, 0)];
  // Node accepts ':' in a zone id, RFC 6874 does not.
  if (!isIPv6(t) || /%.*:/.test(t)) return undefined;
  t = t.replace(/%.*$/, '');
  // ipaddr.js reads the IPv4-compatible `::a.b.c.d` as the mapped `::ffff:a.b.c.d`.
  const compatible = /^::(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (compatible) return [0, 0, 0, ipaddr.IPv4.parse(compatible[1]!).toByteArray().reduce((v, b) => v * 256 + b, 0)];
  const parts = ipaddr.IPv6.parse(t).parts;
  return [0, 2, 4, 6].map((i) => ((parts[i]! << 16) | parts[i + 1]!) >>> 0) as Address;
}

// Mostly well-formed pieces, with a sprinkling of the malformed ones.
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 25 }, { arbitrary: bad, weight: 1 });
const sometimes = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: arb, weight: 1 });
const octet = mostly(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('256', '300', '00', '01', '010', '0x1', '', '1234'));
const quad = mostly(
  fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')),
  fc.array(octet, { maxLength: 5 }).map((o) => o.join('.')),
);
const group = mostly(
  fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16).toUpperCase().padStart(4, '0'))),
  fc.constantFrom('00000', 'g', '', '12345'),
);
const ipv6 = fc
  .tuple(fc.array(group, { maxLength: 9 }), fc.integer({ min: -1, max: 9 }), sometimes(quad), sometimes(fc.constantFrom('eth0', '1', 'en0.5', '', 'a:b', 'x y')))
  .map(([groups, gap, tail, zone]) => {
    const g: string[] = [...groups];
    if (tail !== null) g.push(tail);
    if (gap >= 0 && gap <= g.length) g.splice(gap, 0, '');
    let s = g.join(':');
    if (s.startsWith(':') && !s.startsWith('::')) s = `:${s}`;
    if (s.endsWith(':') && !s.endsWith('::')) s = `${s}:`;
    return zone === null ? s : `${s}%${zone}`;
  });
const mapped = fc.tuple(fc.constantFrom('::ffff:', '::FFFF:', '0:0:0:0:0:ffff:', '::'), quad).map(([p, q]) => p + q);
const noise = fc.string({ unit: fc.constantFrom('0', '1', '9', 'a', 'F', ':', '.', '%', '[', ']', ' ', '/'), maxLength: 16 });
const addressText = fc
  .tuple(fc.oneof(quad, ipv6, mapped, noise), fc.constantFrom('', ' ', '\t'), fc.boolean())
  .map(([s, space, bracket]) => `${space}${bracket ? `[${s}]` : s}${space}`);

describe('agreement with node:net and ipaddr.js', () => {
  test('the scanner accepts exactly what they accept, with the same value', () => {
    fc.assert(
      fc.property(addressText, (text) => {
        expect(parseAddress(text)).toEqual(reference(text));
      }),
      { numRuns: 20000 },
    );
  });

  test('a range contains an address exactly when ipaddr.js says so, within one family', () => {
    const prefix = fc.integer({ min: 0, max: 128 });
    fc.assert(
      fc.property(fc.oneof(quad, ipv6, mapped), prefix, fc.oneof(quad, ipv6, mapped), (rangeAddress, bits, addressText) => {
        const range = parseCidr(`${rangeAddress}/${bits}`);
        const address = parseAddress(addressText);
        const network = reference(rangeAddress);
        const ip = reference(addressText);
        const v4Written = !rangeAddress.includes(':');
        if (network === undefined || bits > (v4Written ? 32 : 128)) {
          expect(range).toBeUndefined();
          return;
        }
        if (ip === undefined) return;
        const toV6 = (a: Address) => new ipaddr.IPv6([0, 1, 2, 3].flatMap((i) => [a[i]! >>> 16, a[i]! & 0xffff]));
        const isV4 = (a: Address) => a[0] === 0 && a[1] === 0 && a[2] === MAPPED;
        const fullBits = v4Written ? bits + 96 : bits;
        const rangeIsV4 = isV4(network) && fullBits >= 96;
        const expected = rangeIsV4 === isV4(ip) && toV6(ip).match(toV6(network), fullBits);
        expect(inCidr(address!, range!)).toBe(expected);
      }),
      { numRuns: 20000 },
    );
  });

  test('an AddressSet holds an address exactly when one of its entries, read alone, contains it', () => {
    // The set packs single addresses and ranges into typed arrays; each entry read alone
    // (parseCidr, inCidr) is the reference, for sets of ranges only, singles only, or both.
    const entry = fc.oneof(
      fc.oneof(quad, ipv6, mapped),
      fc.tuple(quad, fc.integer({ min: 0, max: 32 })).map(([a, n]) => `${a}/${n}`),
      fc.tuple(fc.oneof(ipv6, mapped), fc.integer({ min: 0, max: 128 })).map(([a, n]) => `${a}/${n}`),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), fc.array(fc.oneof(quad, ipv6, mapped), { minLength: 1, maxLength: 8 }), (entries, probes) => {
        const invalid: string[] = [];
        const set = new AddressSet(entries, (e) => invalid.push(e));
        const ranges = entries.map((e) => parseCidr(e));
        expect(invalid).toEqual(entries.filter((_, i) => ranges[i] === undefined));
        expect(set.size).toBe(ranges.filter((r) => r !== undefined).length);
        // Probing with the entries' own addresses too, so that hits are common.
        for (const text of [...probes, ...entries.map((e) => e.split('/')[0]!)]) {
          const address = parseAddress(text);
          if (address === undefined) continue;
          expect(set.has(address)).toBe(ranges.some((r) => r !== undefined && inCidr(address, r)));
        }
      }),
      { numRuns: 3000 },
    );
  });
});
