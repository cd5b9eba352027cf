import { inCidr, parseAddress, parseCidr } from '../../lib/engine/ip';

describe('addresses', () => {
  test.each([
    ['127.0.0.1', [0, 0, 0xffff, 0x7f000001]],
    ['::1', [0, 0, 0, 1]],
    ['2001:db8::8a2e:370:7334', [0x20010db8, 0, 0x8a2e, 0x03707334]],
    ['::ffff:10.0.0.1', [0, 0, 0xffff, 0x0a000001]],
    ['fe80::1%eth0', [0xfe800000, 0, 0, 1]],
    ['[::1]', [0, 0, 0, 1]],
  ])('%s parses', (text, words) => {
    expect(parseAddress(text)).toEqual(words);
  });

  test.each(['', '1.2.3', '1.2.3.256', '1.2.3.4.5', 'a.b.c.d', '1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'hello'])(
    '%p is not an address',
    (text) => {
      expect(parseAddress(text)).toBeUndefined();
    },
  );
});

describe('CIDR ranges', () => {
  test.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.0/24', '192.168.1.77', true],
    ['192.168.1.0/24', '192.168.2.1', false],
    ['192.168.1.10/32', '192.168.1.10', true],
    ['192.168.1.10', '192.168.1.10', true],
    ['192.168.1.10', '192.168.1.11', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::1', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '1.2.3.4', true],
    ['::ffff:0:0/96', '1.2.3.4', true],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['10.1.2.3/8', '10.9.9.9', true],
  ])('%s contains %s: %p', (range, address, expected) => {
    const cidr = parseCidr(range);
    const ip = parseAddress(address);
    expect(cidr).toBeDefined();
    expect(ip).toBeDefined();
    expect(inCidr(ip!, cidr!)).toBe(expected);
  });

  test.each(['10.0.0.0/33', '::/129', '10.0.0.0/x', '10.0.0.0/', 'nonsense/8'])('%p is not a range', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});
