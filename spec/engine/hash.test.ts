import fc from 'fast-check';
import murmur from 'murmurhash3js-revisited';
import { hashOf, hashPrefix, normalizedRollout, variantTarget, VARIANT_SEED } from '../../lib/engine/hash';

describe('Unleash hashing', () => {
  test('rollout test vector: id 123 in Feature.flexibleRollout.userId.55 is bucket 84', () => {
    expect(normalizedRollout(hashPrefix('Feature.flexibleRollout.userId.55'), '123')).toBe(84);
  });

  test('variant test vector: 123 in Feature.Variants with total weight 1000 targets 800', () => {
    expect(variantTarget(hashPrefix('Feature.Variants'), '123', 1000)).toBe(800);
  });

  test.each([
    ['ascii', 'group', 'user-1'],
    ['two-byte utf-8', 'group', 'Jürgen'],
    ['three-byte utf-8', 'grüppe', '用户'],
    ['surrogate pair', 'g', 'emoji-😀-id'],
    ['non-ascii in the middle of ascii', 'g', 'abc-é-def'],
    ['empty value', 'g', ''],
  ])('%s: hashes the UTF-8 bytes of "<groupId>:<value>"', (_name, group, value) => {
    const expected = murmur.x86.hash32(Buffer.from(`${group}:${value}`, 'utf8'), VARIANT_SEED);
    expect(hashOf(hashPrefix(group), value, VARIANT_SEED)).toBe(expected);
  });

  test('agrees with the reference package on arbitrary group ids and values (any Unicode, any length)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom(0, VARIANT_SEED), (group, value, seed) => {
        const expected = murmur.x86.hash32(Buffer.from(`${group}:${value}`, 'utf8'), seed);
        expect(hashOf(hashPrefix(group, seed), value, seed)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  test('ids longer than the scratch buffer hash correctly, and later short ids are unaffected', () => {
    const long = 'x'.repeat(5000) + 'ü'.repeat(700);
    expect(hashOf(hashPrefix('g'), long, 0)).toBe(murmur.x86.hash32(Buffer.from(`g:${long}`, 'utf8'), 0));
    expect(hashOf(hashPrefix('g'), 'ab', 0)).toBe(murmur.x86.hash32(Buffer.from('g:ab', 'utf8'), 0));
  });

  test('non-ASCII ids bucket by UTF-8, not by the low byte of UTF-16 units', () => {
    // 'ā' (U+0101) and 'ā' truncated to its low byte ('\x01') must differ under UTF-8.
    const utf8 = hashOf(hashPrefix('g'), 'ā', 0);
    const lowByte = murmur.x86.hash32([...'g:ā'].map((c) => c.charCodeAt(0) & 0xff), 0);
    expect(utf8).not.toBe(lowByte);
  });
});
