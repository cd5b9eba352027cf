/**
 * Context values that are not strings are their string form everywhere a field is read:
 * strategies, stickiness, variant overrides and constraints, at the top level and in
 * `properties` (the wire notes, "Real-world inputs"). A property test over every field
 * and every primitive value type: the answer with `v` is the answer with `String(v)`.
 */
import fc from 'fast-check';
import { Engine } from '../../lib/engine';
import { parseClientPayload } from '../../lib/payload';
import type { Context, ContextValue } from '../../lib/types';

/** Values whose string forms the flags below list, so that matches happen. */
const LISTED = [42, 0, -1, 1.5, 10n, true, false, 1e21, 7];
const LISTED_TEXT = LISTED.map(String).join(',');
const valueArb: fc.Arbitrary<number | bigint | boolean> = fc.oneof(
  fc.constantFrom(...LISTED, -0, NaN, Infinity, -Infinity, 2 ** 53, 0.1 + 0.2),
  fc.integer({ min: -200, max: 200 }),
  fc.double({ noNaN: false }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.boolean(),
);

const FIELDS = ['userId', 'sessionId', 'remoteAddress', 'appName', 'environment', 'tenant'] as const;
type Field = (typeof FIELDS)[number];

const constraint = (contextName: string, operator: string, extra: Record<string, unknown>) => ({ contextName, operator, ...extra });
const variants = (stickiness: string) => [
  { name: 'a', weight: 333, stickiness, overrides: [{ contextName: 'tenant', values: ['42', 'true'] }] },
  { name: 'b', weight: 333, stickiness },
  { name: 'c', weight: 334, stickiness },
];

/** Every way a flag reads a field, for each field. */
function flagsFor(field: Field) {
  const on = (name: string, strategies: unknown[], stickiness = 'default') => ({ name, enabled: true, strategies, variants: variants(stickiness) });
  return [
    on('user-ids', [{ name: 'userWithId', parameters: { userIds: LISTED_TEXT } }]),
    on('default-rollout', [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'default', groupId: 'g' } }]),
    on('field-rollout', [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: field, groupId: 'g' } }], field),
    on('gradual-user', [{ name: 'gradualRolloutUserId', parameters: { percentage: '50', groupId: 'g' } }]),
    on('gradual-session', [{ name: 'gradualRolloutSessionId', parameters: { percentage: '50', groupId: 'g' } }]),
    on('remote-address', [{ name: 'remoteAddress', parameters: { IPs: LISTED_TEXT } }]),
    ...[
      constraint(field, 'IN', { values: LISTED.map(String) }),
      constraint(field, 'NOT_IN', { values: ['42', 'true'] }),
      constraint(field, 'STR_CONTAINS', { values: ['4', 'ru'] }),
      constraint(field, 'STR_STARTS_WITH', { values: ['1', 'T'], caseInsensitive: true }),
      constraint(field, 'STR_ENDS_WITH', { values: ['2', 'e'] }),
      constraint(field, 'NUM_EQ', { value: '42' }),
      constraint(field, 'NUM_GT', { value: '1' }),
      constraint(field, 'NUM_LTE', { value: '0' }),
      constraint(field, 'SEMVER_GT', { value: '1.0.0' }),
      constraint(field, 'REGEX', { value: '^-?\\d+$' }),
      constraint(field, 'IN_CIDR', { values: ['0.0.0.0/0'] }),
    ].map((c, i) => on(`constraint-${i}`, [{ name: 'default', constraints: [c] }], field)),
  ];
}

function contextWith(field: Field, value: ContextValue, inProperties: boolean): Context {
  const base: Context = { userId: 'fixed-user', properties: {} };
  if (inProperties) return { ...base, [field]: undefined, properties: { [field]: value } };
  return { ...base, [field]: value };
}

describe('a non-string context value answers as its string form', () => {
  test.each(FIELDS)('%s, at the top level and in properties, every flag, isEnabled and getVariant', (field) => {
    const body = { version: 2, features: flagsFor(field) };
    fc.assert(
      fc.property(valueArb, fc.boolean(), (value, inProperties) => {
        // Each side gets its own engine with the same fixed randomness: a random fallback
        // would differ between the two only if a value were read as absent.
        const typed = new Engine({ random: () => 0.99 }).load(parseClientPayload(body).payload);
        const text = new Engine({ random: () => 0.99 }).load(parseClientPayload(body).payload);
        const a = contextWith(field, value, inProperties);
        const b = contextWith(field, String(value), inProperties);
        for (const name of typed.names()) {
          expect([name, typed.get(name)!.isEnabled(a)]).toEqual([name, text.get(name)!.isEnabled(b)]);
          expect([name, typed.get(name)!.getVariant(a)]).toEqual([name, text.get(name)!.getVariant(b)]);
        }
      }),
      { numRuns: 300 },
    );
  });

  test.each<[string, Context, string, boolean]>([
    ['userWithId matches a numeric userId', { userId: 42 }, 'user-ids', true],
    ['userWithId matches a bigint userId', { userId: 10n }, 'user-ids', true],
    ['userWithId matches a boolean userId', { userId: true }, 'user-ids', true],
    ['userWithId misses an unlisted number', { userId: 43 }, 'user-ids', false],
    ['null is absent, not "null"', { userId: null }, 'user-ids', false],
  ])('%s', (_name, context, flag, expected) => {
    const snapshot = new Engine().load(parseClientPayload({ version: 2, features: flagsFor('userId') }).payload);
    expect(snapshot.get(flag)!.isEnabled(context)).toBe(expected);
  });

  test('a numeric userId is sticky: default stickiness hashes it instead of falling back to random', () => {
    let draws = 0;
    const snapshot = new Engine({ random: () => (draws++, 0.5) }).load(parseClientPayload({ version: 2, features: flagsFor('userId') }).payload);
    const flag = snapshot.get('default-rollout')!;
    const answers = new Set<boolean>();
    for (let i = 0; i < 50; i++) answers.add(flag.isEnabled({ userId: 12345 }));
    expect(answers.size).toBe(1);
    expect(draws).toBe(0);
    expect(flag.getVariant({ userId: 12345 })).toEqual(flag.getVariant({ userId: '12345' }));
  });

  test('a Date outside currentTime is its ISO string', () => {
    const at = new Date(Date.UTC(2026, 2, 1, 10, 0, 0));
    const snapshot = new Engine().load(
      parseClientPayload({
        version: 2,
        features: [{ name: 'd', enabled: true, strategies: [{ name: 'default', constraints: [constraint('signedUp', 'STR_STARTS_WITH', { values: ['2026-03-01T10:00:00.000Z'] })] }] }],
      }).payload,
    );
    expect(snapshot.get('d')!.isEnabled({ properties: { signedUp: at } })).toBe(true);
    // A top-level custom field (typed out of Context, still read for JavaScript callers).
    expect(snapshot.get('d')!.isEnabled({ signedUp: at } as Context)).toBe(true);
    expect(snapshot.get('d')!.isEnabled({ properties: { signedUp: new Date(NaN) } })).toBe(false);
  });
});
