/**
 * Property-based: whatever the payload and context, compiling and evaluating never throws,
 * and evaluation is deterministic for sticky (non-random) flags.
 */
import fc from 'fast-check';
import { Engine } from '../../lib/engine';
import { parseClientPayload, PayloadError, readClientPayload } from '../../lib/payload';

const operators = ['IN', 'NOT_IN', 'STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE',
  'DATE_AFTER', 'DATE_BEFORE', 'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_LT', 'SEMVER_GTE', 'SEMVER_LTE', 'REGEX', 'IN_CIDR', 'BOGUS'];
const strategies = ['default', 'userWithId', 'gradualRolloutUserId', 'gradualRolloutSessionId', 'flexibleRollout', 'remoteAddress', 'applicationHostname', 'custom'];
const fields = ['userId', 'sessionId', 'remoteAddress', 'appName', 'environment', 'currentTime', 'country', 'version'];

const anyValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined),
  fc.constantFrom('1.2.3', '2.0.0-beta.1', '10.0.0.0/8', '::1', '2026-01-01T00:00:00Z', '(', '^a+$', '50', 'NaN'));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, anyValue);

const constraint = fc.record({
  contextName: maybe(fc.constantFrom(...fields)),
  operator: maybe(fc.constantFrom(...operators)),
  values: maybe(fc.array(anyValue, { maxLength: 4 })),
  value: anyValue,
  inverted: maybe(fc.boolean()),
  caseInsensitive: maybe(fc.boolean()),
}, { requiredKeys: [] });

const variant = fc.record({
  name: maybe(fc.constantFrom('a', 'b', 'c')),
  weight: maybe(fc.integer({ min: -10, max: 1000 })),
  stickiness: maybe(fc.constantFrom('default', 'userId', 'country', 'random')),
  payload: maybe(fc.record({ type: fc.constantFrom('string', 'json'), value: anyValue })),
  overrides: maybe(fc.array(fc.record({ contextName: fc.constantFrom(...fields), values: fc.array(anyValue) }), { maxLength: 2 })),
}, { requiredKeys: [] });

const strategy = fc.record({
  name: maybe(fc.constantFrom(...strategies)),
  parameters: maybe(fc.dictionary(fc.constantFrom('rollout', 'percentage', 'groupId', 'stickiness', 'userIds', 'IPs', 'hostNames'), anyValue)),
  constraints: maybe(fc.array(constraint, { maxLength: 3 })),
  segments: maybe(fc.array(maybe(fc.integer({ min: 0, max: 4 })), { maxLength: 2 })),
  variants: maybe(fc.array(variant, { maxLength: 3 })),
}, { requiredKeys: [] });

const feature = fc.record({
  name: maybe(fc.constantFrom('f0', 'f1', 'f2', 'f3')),
  enabled: maybe(fc.boolean()),
  strategies: maybe(fc.array(strategy, { maxLength: 3 })),
  variants: maybe(fc.array(variant, { maxLength: 3 })),
  dependencies: maybe(fc.array(fc.record({ feature: maybe(fc.constantFrom('f0', 'f1', 'f2', 'f3', 'ghost')), enabled: maybe(fc.boolean()), variants: maybe(fc.array(anyValue)) }, { requiredKeys: [] }), { maxLength: 2 })),
  impressionData: maybe(fc.boolean()),
}, { requiredKeys: [] });

const payload = fc.record({
  version: maybe(fc.constantFrom(1, 2)),
  features: maybe(fc.array(feature, { maxLength: 5 })),
  segments: maybe(fc.array(fc.record({ id: maybe(fc.integer({ min: 0, max: 4 })), constraints: maybe(fc.array(constraint, { maxLength: 3 })) }, { requiredKeys: [] }), { maxLength: 3 })),
}, { requiredKeys: [] });

const context = fc.oneof(
  fc.record({
    userId: anyValue,
    sessionId: anyValue,
    remoteAddress: maybe(fc.constantFrom('10.1.2.3', '::1', '300.1.1.1')),
    currentTime: maybe(fc.constantFrom('2026-01-01T00:00:00Z', 'garbage')),
    properties: maybe(fc.dictionary(fc.constantFrom(...fields), anyValue)),
  }, { requiredKeys: [] }),
  anyValue,
);

test('compiling any payload either works or throws a PayloadError; evaluating never throws', () => {
  fc.assert(
    fc.property(payload, fc.array(context, { minLength: 1, maxLength: 5 }), (body, contexts) => {
      let parsed;
      try {
        parsed = parseClientPayload(body);
      } catch (err) {
        expect(err).toBeInstanceOf(PayloadError);
        return;
      }
      const engine = new Engine({ hostname: 'h', random: () => 0.42, now: () => 0 });
      const snapshot = engine.load(parsed.payload);
      for (const name of snapshot.names()) {
        const flag = snapshot.get(name)!;
        for (const ctx of contexts) {
          const enabled = flag.isEnabled(ctx as never);
          const variant = flag.getVariant(ctx as never);
          expect(typeof enabled).toBe('boolean');
          expect(typeof variant.name).toBe('string');
          // deterministic with a fixed random source
          expect(flag.isEnabled(ctx as never)).toBe(enabled);
          expect(flag.getVariant(ctx as never)).toBe(variant);
          if (!enabled) expect(variant.enabled).toBe(false);
        }
      }
    }),
    { numRuns: 400 },
  );
});

test('arbitrary JSON never crashes the parser with anything but a PayloadError', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.string()), (body) => {
      try {
        parseClientPayload(body);
      } catch (err) {
        expect(err).toBeInstanceOf(PayloadError);
      }
    }),
    { numRuns: 500 },
  );
});

/**
 * The client's door (`readClientPayload`) leaves each flag deferred, checked by the engine
 * when first needed (lib/engine/compact.ts). Whatever the payload, that must be invisible:
 * the same load-time warnings, the same answers and reasons, the same compile-time
 * warnings, and the same definitions as a payload checked at once.
 */
test('a flag left deferred answers, explains and warns exactly as one checked at load', () => {
  fc.assert(
    fc.property(payload, fc.array(context, { minLength: 1, maxLength: 4 }), fc.boolean(), (body, contexts, asText) => {
      const input = asText ? JSON.stringify(body) : body;
      let checked;
      try {
        checked = parseClientPayload(input);
      } catch (err) {
        expect(() => readClientPayload(input)).toThrow((err as Error).message);
        return;
      }
      const deferred = readClientPayload(input);
      expect(deferred.warnings).toEqual(checked.warnings);
      const run = (parsed: typeof checked) => {
        const warnings: string[] = [];
        let draws = 0;
        // The same sequence of "random" numbers in both engines: the walks draw in the same order.
        const engine = new Engine({ hostname: 'h', random: () => ((draws++ * 0.618034) % 1), now: () => 0, onWarning: (w) => warnings.push(w) });
        const snapshot = engine.load(parsed.payload);
        const atLoad = [...warnings];
        const answers: unknown[] = [];
        for (const name of snapshot.names()) {
          const flag = snapshot.get(name)!;
          answers.push(name, flag.enabled, flag.impressionData);
          for (const ctx of contexts) answers.push(flag.isEnabled(ctx as never), flag.getVariant(ctx as never), flag.evaluate(ctx as never));
        }
        return { atLoad, warnings, answers, definitions: snapshot.definitions(), snapshot };
      };
      const a = run(checked);
      const b = run(deferred);
      expect(b.atLoad).toEqual(a.atLoad);
      expect(b.answers).toEqual(a.answers);
      expect(b.warnings).toEqual(a.warnings);
      expect(b.definitions).toStrictEqual(a.definitions);
      // What a cache stores (deferred flags as they came) loads back to the same flags.
      const reloaded = new Engine({ hostname: 'h' }).load({ kind: 'full', ...b.snapshot.toPayload() });
      expect(reloaded.definitions()).toStrictEqual(a.definitions);
    }),
    { numRuns: 300 },
  );
});
