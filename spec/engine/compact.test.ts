/**
 * Validation and compaction are one pass: the payload door builds definitions in the
 * engine's compact form (lib/engine/compact.ts), and the engine keeps them without a copy.
 * The form must be exactly the one the engine's own compaction gives (the same keys, the
 * same values), so that answers are the same whichever way a definition arrives: here
 * compared with a copy the door never marked, which the engine compacts itself.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { Engine } from '../../lib/engine';
import { isCompact, isCompactList } from '../../lib/engine/compact';
import { parseClientPayload, PayloadError } from '../../lib/payload';
import type { ClientPayload, Context, FeaturesPayload } from '../../lib/types';

const require = createRequire(import.meta.url);
const dir = join(dirname(require.resolve('@unleash/client-specification/package.json')), 'specifications');
const files = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as string[];

/** The engine's state of `payload` loaded as the door made it, and as an unmarked copy that the engine compacts. */
function bothWays(payload: ClientPayload) {
  const direct = new Engine({ hostname: 'h', random: () => 0.42, now: () => 0 });
  const copied = new Engine({ hostname: 'h', random: () => 0.42, now: () => 0 });
  direct.load(payload);
  // structuredClone keeps keys whose value is undefined, and drops the mark.
  copied.load(structuredClone(payload));
  return { direct: direct.snapshot, copied: copied.snapshot };
}

function expectSame(payload: ClientPayload & { kind: 'full' }, contexts: readonly Context[]): void {
  expect(isCompactList(payload.features)).toBe(true);
  for (const s of payload.segments) expect(isCompact(s)).toBe(true);
  const { direct, copied } = bothWays(payload);
  // Taken as they are: no second copy.
  // (A repeated name: the last one is kept.)
  const last = new Map(payload.features.map((f) => [f.name, f]));
  for (const [name, f] of last) expect(direct.get(name)!.definition).toBe(f);
  expect(copied.toPayload()).toStrictEqual(direct.toPayload());
  expect([...copied.state().segments.values()]).toStrictEqual([...direct.state().segments.values()]);
  for (const name of direct.names()) {
    const a = direct.get(name)!;
    const b = copied.get(name)!;
    for (const context of contexts) {
      expect(a.isEnabled(context)).toBe(b.isEnabled(context));
      expect(a.getVariant(context)).toEqual(b.getVariant(context));
    }
  }
}

describe.each(files)('client specification %s', (file) => {
  test('the door compacts as the engine does: same definitions, same answers', () => {
    const spec = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      state: FeaturesPayload;
      tests?: { context: Context }[];
      variantTests?: { context: Context }[];
    };
    const parsed = parseClientPayload(spec.state).payload;
    if (parsed.kind !== 'full') return; // delta files: covered by the property below
    const contexts = [...(spec.tests ?? []), ...(spec.variantTests ?? [])].map((t) => t.context);
    expectSame(parsed, contexts);
  });
});

const anyValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constantFrom('1.2.3', '10.0.0.0/8', '50', ''));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, anyValue);
const fields = ['userId', 'sessionId', 'remoteAddress', 'country'];
const constraint = fc.record(
  {
    contextName: maybe(fc.constantFrom(...fields)),
    operator: maybe(fc.constantFrom('IN', 'NOT_IN', 'STR_CONTAINS', 'NUM_GT', 'SEMVER_EQ', 'IN_CIDR', 'BOGUS')),
    values: maybe(fc.array(anyValue, { maxLength: 3 })),
    value: anyValue,
    inverted: maybe(fc.boolean()),
    caseInsensitive: maybe(fc.boolean()),
  },
  { requiredKeys: [] },
);
const variant = fc.record(
  {
    name: maybe(fc.constantFrom('a', 'b')),
    weight: maybe(fc.integer({ min: -5, max: 1000 })),
    weightType: maybe(fc.constantFrom('variable', 'fix')),
    stickiness: maybe(fc.constantFrom('default', 'userId', '')),
    payload: maybe(fc.record({ type: maybe(fc.constantFrom('string', 'json')), value: anyValue }, { requiredKeys: [] })),
    overrides: maybe(fc.array(maybe(fc.record({ contextName: maybe(fc.constantFrom(...fields)), values: maybe(fc.array(anyValue)) }, { requiredKeys: [] })), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const strategy = fc.record(
  {
    name: maybe(fc.constantFrom('default', 'userWithId', 'flexibleRollout', 'remoteAddress')),
    parameters: maybe(fc.dictionary(fc.constantFrom('rollout', 'groupId', 'stickiness', 'userIds', 'IPs'), anyValue)),
    constraints: maybe(fc.array(maybe(constraint), { maxLength: 3 })),
    segments: maybe(fc.array(maybe(fc.integer({ min: 0, max: 3 })), { maxLength: 2 })),
    variants: maybe(fc.array(maybe(variant), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const feature = fc.record(
  {
    name: maybe(fc.constantFrom('f0', 'f1', 'f2', 'f3')),
    enabled: maybe(fc.boolean()),
    strategies: maybe(fc.array(maybe(strategy), { maxLength: 3 })),
    variants: maybe(fc.array(maybe(variant), { maxLength: 2 })),
    dependencies: maybe(
      fc.array(maybe(fc.record({ feature: maybe(fc.constantFrom('f0', 'f1', 'ghost')), enabled: maybe(fc.boolean()), variants: maybe(fc.array(anyValue)) }, { requiredKeys: [] })), { maxLength: 2 }),
    ),
    impressionData: maybe(fc.boolean()),
    type: maybe(fc.constantFrom('release', 'kill-switch')),
    project: maybe(fc.constantFrom('default')),
    stale: maybe(fc.boolean()),
    description: maybe(fc.string()),
  },
  { requiredKeys: [] },
);
const body = fc.record(
  {
    version: fc.constantFrom(1, 2),
    features: fc.array(feature, { maxLength: 5 }),
    segments: maybe(fc.array(fc.record({ id: maybe(fc.integer({ min: 0, max: 3 })), name: maybe(fc.string()), constraints: maybe(fc.array(maybe(constraint), { maxLength: 2 })) }, { requiredKeys: [] }), { maxLength: 3 })),
  },
  { requiredKeys: ['features'] },
);
const context = fc.record(
  {
    userId: maybe(fc.constantFrom('u1', 'u2', '7')),
    sessionId: anyValue,
    remoteAddress: maybe(fc.constantFrom('10.1.2.3', '::1')),
    properties: maybe(fc.dictionary(fc.constantFrom(...fields), anyValue)),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Context>;

test('any body: the door compacts as the engine does (same definitions, same answers)', () => {
  fc.assert(
    fc.property(body, fc.array(context, { minLength: 1, maxLength: 4 }), (raw, contexts) => {
      let parsed;
      try {
        parsed = parseClientPayload(JSON.parse(JSON.stringify(raw)));
      } catch (err) {
        expect(err).toBeInstanceOf(PayloadError);
        return;
      }
      if (parsed.payload.kind === 'full') expectSame(parsed.payload, contexts);
    }),
    { numRuns: 400 },
  );
});

test('a delta body is compacted by the door too, and applies as an unmarked copy does', () => {
  const base = parseClientPayload({ version: 2, features: [{ name: 'a', enabled: true, strategies: [{ name: 'default' }] }] }).payload;
  const delta = parseClientPayload({
    events: [{ type: 'feature-updated', eventId: 2, feature: { name: 'b', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'u1' } }] } }],
  }).payload;
  expect(delta.kind).toBe('delta');
  const direct = new Engine();
  direct.load(base);
  direct.load(delta);
  const copied = new Engine();
  copied.load(structuredClone(base));
  copied.load(structuredClone(delta));
  expect(copied.snapshot.toPayload()).toStrictEqual(direct.snapshot.toPayload());
  expect(direct.snapshot.get('b')!.isEnabled({ userId: 'u1' })).toBe(true);
  expect(direct.snapshot.get('b')!.isEnabled({ userId: 'u2' })).toBe(false);
  if (delta.kind === 'delta' && delta.events[0]!.type === 'feature-updated') expect(direct.snapshot.get('b')!.definition).toBe(delta.events[0]!.feature);
});
