/**
 * Flags built through the real server's admin API, fetched by our client from its client
 * API, evaluated locally. Expected results come from the flag definitions and the
 * Unleash hashing rules (helpers/expected.ts), not from the library under test.
 *
 * Segments are checked twice: once as a current SDK receives them (top-level `segments`,
 * because the client sends `Unleash-Client-Spec` 5.2.0) and once as the server answers
 * an older client (segment constraints inlined into each strategy), by dropping that
 * header in a recording proxy in front of the server.
 */
import { Admin, type VariantInput } from './helpers/admin';
import { createClient, endSuite, type TestClient } from './helpers/client';
import { expectedVariant, rolloutBucket } from './helpers/expected';
import { RecordingProxy } from './helpers/recording-proxy';
import { server } from './helpers/server';
import type { Context } from '../lib/types';

const admin = new Admin();
const n = (suffix: string): string => admin.name(suffix);
const users = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

// Flag names, all unique to this run.
const ROLLOUT = n('rollout');
const ROLLOUT_GROUP = `${admin.runId}-group`;
const CUSTOM_STICKY = n('custom-stickiness');
const DEFAULT_STICKY = n('default-stickiness');
const VECTOR_ON = n('vector-84');
const VECTOR_OFF = n('vector-83');
const CONSTRAINED = n('constraints');
const BEFORE_2030 = n('date-before');
const SEGMENTED = n('segmented');
const VARIANTS = n('variants');
const STRATEGY_VARIANTS = n('strategy-variants');
const SV_GROUP = `${admin.runId}-sv`;
const PARENT = n('parent');
const CHILD = n('child');
const CHILD_OF_OFF = n('child-of-off');
const CHILD_OF_VARIANT = n('child-of-variant');
const DISABLED = n('disabled');
const IMPRESSIONS = n('impressions');

const FEATURE_VARIANTS: VariantInput[] = [
  { name: 'blue', weight: 500, weightType: 'variable', stickiness: 'userId', payload: { type: 'json', value: '{"color":"blue"}' } },
  { name: 'red', weight: 500, weightType: 'variable', stickiness: 'userId', payload: { type: 'string', value: 'red' } },
];
const STRATEGY_VARIANT_LIST: VariantInput[] = [
  { name: 'sv-a', weight: 500, weightType: 'variable', stickiness: 'userId', payload: { type: 'string', value: 'strategy-a' } },
  { name: 'sv-b', weight: 500, weightType: 'variable', stickiness: 'userId', payload: { type: 'number', value: '42' } },
];
const PARENT_VARIANTS: VariantInput[] = [
  { name: 'pv-x', weight: 500, weightType: 'variable', stickiness: 'userId' },
  { name: 'pv-y', weight: 500, weightType: 'variable', stickiness: 'userId' },
];
const PARENT_USERS = users('p', 12);
// An override only proves something for a user whom hashing would give another variant.
const VIP = users('vip', 50).find((id) => expectedVariant(FEATURE_VARIANTS, VARIANTS, id) === 'blue')!;

let segmentId = 0;
let current: TestClient;
let legacy: TestClient;
let currentProxy: RecordingProxy;
let legacyProxy: RecordingProxy;

async function createFlags(): Promise<void> {
  await admin.createFlag(ROLLOUT);
  await admin.addStrategy(ROLLOUT, {
    name: 'flexibleRollout',
    parameters: { rollout: '40', stickiness: 'userId', groupId: ROLLOUT_GROUP },
  });
  await admin.createFlag(CUSTOM_STICKY);
  await admin.addStrategy(CUSTOM_STICKY, {
    name: 'flexibleRollout',
    parameters: { rollout: '50', stickiness: 'tenant', groupId: CUSTOM_STICKY },
  });
  await admin.createFlag(DEFAULT_STICKY);
  await admin.addStrategy(DEFAULT_STICKY, {
    name: 'flexibleRollout',
    parameters: { rollout: '50', stickiness: 'default', groupId: DEFAULT_STICKY },
  });
  // The client specification's test vector: user 123 in this group lands in bucket 84.
  for (const [flag, rollout] of [[VECTOR_ON, '84'], [VECTOR_OFF, '83']] as const) {
    await admin.createFlag(flag);
    await admin.addStrategy(flag, {
      name: 'flexibleRollout',
      parameters: { rollout, stickiness: 'userId', groupId: 'Feature.flexibleRollout.userId.55' },
    });
  }

  await admin.createFlag(CONSTRAINED);
  await admin.addStrategy(CONSTRAINED, {
    name: 'default',
    constraints: [
      { contextName: 'appVersion', operator: 'SEMVER_GTE', value: '2.0.0-beta.1' },
      { contextName: 'appVersion', operator: 'SEMVER_LT', value: '3.0.0' },
      { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2024-01-01T00:00:00.000Z' },
      { contextName: 'region', operator: 'IN', values: ['eu', 'us'] },
      { contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'], caseInsensitive: true },
      { contextName: 'age', operator: 'NUM_GTE', value: '18' },
      { contextName: 'plan', operator: 'NOT_IN', values: ['free'] },
      { contextName: 'userId', operator: 'STR_STARTS_WITH', values: ['banned-'], inverted: true },
    ],
  });
  await admin.createFlag(BEFORE_2030);
  await admin.addStrategy(BEFORE_2030, {
    name: 'default',
    constraints: [{ contextName: 'currentTime', operator: 'DATE_BEFORE', value: '2030-01-01T00:00:00.000Z' }],
  });

  segmentId = await admin.createSegment(n('segment'), [
    { contextName: 'plan', operator: 'IN', values: ['pro', 'enterprise'] },
    { contextName: 'country', operator: 'IN', values: ['no', 'se'] },
  ]);
  await admin.createFlag(SEGMENTED);
  await admin.addStrategy(SEGMENTED, {
    name: 'flexibleRollout',
    parameters: { rollout: '100', stickiness: 'default', groupId: SEGMENTED },
    constraints: [{ contextName: 'appVersion', operator: 'SEMVER_GTE', value: '1.0.0' }],
    segments: [segmentId],
  });

  await admin.createFlag(VARIANTS);
  await admin.addStrategy(VARIANTS, { name: 'default' });
  await admin.setVariants(VARIANTS, [
    FEATURE_VARIANTS[0],
    { ...FEATURE_VARIANTS[1], overrides: [{ contextName: 'userId', values: [VIP] }] },
  ]);

  await admin.createFlag(STRATEGY_VARIANTS);
  await admin.addStrategy(STRATEGY_VARIANTS, {
    name: 'flexibleRollout',
    parameters: { rollout: '100', stickiness: 'userId', groupId: SV_GROUP },
    constraints: [{ contextName: 'region', operator: 'IN', values: ['eu'] }],
    variants: STRATEGY_VARIANT_LIST,
  });
  await admin.addStrategy(STRATEGY_VARIANTS, { name: 'default' });
  await admin.setVariants(STRATEGY_VARIANTS, [
    { name: 'feature-only', weight: 1000, weightType: 'variable', stickiness: 'userId', payload: { type: 'string', value: 'feature' } },
  ]);

  await admin.createFlag(PARENT, { impressionData: true });
  await admin.addStrategy(PARENT, {
    name: 'default',
    constraints: [{ contextName: 'userId', operator: 'IN', values: PARENT_USERS }],
  });
  await admin.setVariants(PARENT, PARENT_VARIANTS);
  await admin.createFlag(CHILD, { impressionData: true });
  await admin.addStrategy(CHILD, { name: 'default' });
  await admin.addDependency(CHILD, { feature: PARENT, enabled: true });
  await admin.createFlag(CHILD_OF_OFF);
  await admin.addStrategy(CHILD_OF_OFF, { name: 'default' });
  await admin.addDependency(CHILD_OF_OFF, { feature: PARENT, enabled: false });
  await admin.createFlag(CHILD_OF_VARIANT);
  await admin.addStrategy(CHILD_OF_VARIANT, { name: 'default' });
  await admin.addDependency(CHILD_OF_VARIANT, { feature: PARENT, enabled: true, variants: ['pv-x'] });

  await admin.createFlag(DISABLED, { type: 'kill-switch', impressionData: true });
  await admin.addStrategy(DISABLED, { name: 'default' });
  await admin.setVariants(DISABLED, FEATURE_VARIANTS);

  await admin.createFlag(IMPRESSIONS, { impressionData: true });
  await admin.addStrategy(IMPRESSIONS, { name: 'default' });
  await admin.setVariants(IMPRESSIONS, FEATURE_VARIANTS);

  for (const flag of [ROLLOUT, CUSTOM_STICKY, DEFAULT_STICKY, VECTOR_ON, VECTOR_OFF, CONSTRAINED, BEFORE_2030, SEGMENTED,
    VARIANTS, STRATEGY_VARIANTS, PARENT, CHILD, CHILD_OF_OFF, CHILD_OF_VARIANT, IMPRESSIONS]) {
    await admin.enable(flag);
  }
}

beforeAll(async () => {
  await createFlags();
  await admin.settled();
  const { origin } = server();
  currentProxy = await RecordingProxy.start(origin);
  legacyProxy = await RecordingProxy.start(origin, {
    rewriteRequestHeaders: (headers) => {
      delete headers['unleash-client-spec'];
    },
  });
  // A long refresh interval: these clients evaluate one fetched snapshot.
  current = createClient({ url: currentProxy.url, appName: 'switchyard-e2e-eval', refreshInterval: 60_000 });
  legacy = createClient({ url: legacyProxy.url, appName: 'switchyard-e2e-eval-legacy', refreshInterval: 60_000 });
  await Promise.all([current.client.start(), legacy.client.start()]);
});

afterAll(() => endSuite(admin, () => Promise.all([currentProxy?.close(), legacyProxy?.close()])));

test('both clients are ready from the server with every flag of this run', () => {
  for (const { client, of } of [current, legacy]) {
    expect(of('ready')).toEqual([{ type: 'ready', from: 'server' }]);
    expect(of('error')).toEqual([]);
    const names = of('fetched').at(-1)!.features.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining([ROLLOUT, SEGMENTED, VARIANTS, CHILD, DISABLED]));
    expect(client.isEnabled(DISABLED)).toBe(false);
  }
});

describe('flexibleRollout', () => {
  test('userId stickiness with a groupId buckets each user as the hash says', () => {
    const ids = users('user', 300);
    const expected = ids.map((id) => rolloutBucket(ROLLOUT_GROUP, id) <= 40);
    const actual = ids.map((userId) => current.client.isEnabled(ROLLOUT, { userId }));
    expect(actual).toEqual(expected);
    const on = actual.filter(Boolean).length;
    expect(on).toBeGreaterThan(90); // about 40 % of 300: the rollout really splits users
    expect(on).toBeLessThan(150);
    // Sticky: the same users get the same answers again.
    expect(ids.map((userId) => current.client.isEnabled(ROLLOUT, { userId }))).toEqual(expected);
  });

  test('a user without the stickiness field is not in the rollout', () => {
    expect(current.client.isEnabled(ROLLOUT, {})).toBe(false);
    expect(current.client.isEnabled(ROLLOUT, { sessionId: 's-1' })).toBe(false);
  });

  test('custom stickiness hashes the named context property; missing it means off', () => {
    const tenants = users('tenant', 100);
    const expected = tenants.map((t) => rolloutBucket(CUSTOM_STICKY, t) <= 50);
    expect(tenants.map((tenant) => current.client.isEnabled(CUSTOM_STICKY, { properties: { tenant } }))).toEqual(expected);
    expect(expected).toContain(true);
    expect(expected).toContain(false);
    expect(current.client.isEnabled(CUSTOM_STICKY, { userId: 'user-1' })).toBe(false);
  });

  test('default stickiness uses userId, then sessionId', () => {
    const ids = users('sticky', 100);
    const byUser = ids.map((id) => rolloutBucket(DEFAULT_STICKY, id) <= 50);
    expect(ids.map((userId) => current.client.isEnabled(DEFAULT_STICKY, { userId, sessionId: 'ignored' }))).toEqual(byUser);
    expect(ids.map((sessionId) => current.client.isEnabled(DEFAULT_STICKY, { sessionId }))).toEqual(byUser);
    expect(byUser).toContain(true);
    expect(byUser).toContain(false);
  });

  test('matches the specification test vector (user 123 is in bucket 84)', () => {
    expect(rolloutBucket('Feature.flexibleRollout.userId.55', '123')).toBe(84);
    expect(current.client.isEnabled(VECTOR_ON, { userId: '123' })).toBe(true);
    expect(current.client.isEnabled(VECTOR_OFF, { userId: '123' })).toBe(false);
  });
});

describe('constraints', () => {
  const base: Context = {
    userId: 'alice',
    currentTime: new Date('2025-06-01T12:00:00Z'),
    properties: { appVersion: '2.1.0', region: 'eu', email: 'Alice@EXAMPLE.com', age: '30', plan: 'pro' },
  };
  const withProps = (props: Record<string, string | undefined>): Context => ({
    ...base,
    properties: { ...base.properties, ...props },
  });

  test.each<[string, Context, boolean]>([
    ['all constraints hold', base, true],
    ['SEMVER_GTE: a prerelease after beta.1 passes', withProps({ appVersion: '2.0.0-beta.2' }), true],
    ['SEMVER_GTE: an earlier prerelease fails', withProps({ appVersion: '2.0.0-alpha.9' }), false],
    ['SEMVER_LT: 3.0.0 is not below 3.0.0', withProps({ appVersion: '3.0.0' }), false],
    ['SEMVER: an invalid version fails', withProps({ appVersion: 'two' }), false],
    ['DATE_AFTER: currentTime before the date fails', { ...base, currentTime: new Date('2023-12-31T23:59:59Z') }, false],
    ['DATE_AFTER: currentTime as an ISO string', { ...base, currentTime: '2024-01-02T00:00:00Z' }, true],
    ['IN: a region outside the list fails', withProps({ region: 'apac' }), false],
    ['STR_ENDS_WITH caseInsensitive: another domain fails', withProps({ email: 'alice@example.org' }), false],
    ['NUM_GTE: 17 is below 18', withProps({ age: '17' }), false],
    ['NUM_GTE: exactly 18 passes', withProps({ age: '18' }), true],
    ['NOT_IN: a listed plan fails', withProps({ plan: 'free' }), false],
    ['NOT_IN: a missing field passes', withProps({ plan: undefined }), true],
    ['inverted STR_STARTS_WITH: a banned- user fails', { ...base, userId: 'banned-bob' }, false],
    ['a missing field fails IN', withProps({ region: undefined }), false],
  ])('%s', (_label, context, expected) => {
    expect(current.client.isEnabled(CONSTRAINED, context)).toBe(expected);
  });

  test('DATE_BEFORE compares currentTime, defaulting to now', () => {
    expect(current.client.isEnabled(BEFORE_2030, { currentTime: new Date('2029-12-31T23:59:59Z') })).toBe(true);
    expect(current.client.isEnabled(BEFORE_2030, { currentTime: new Date('2030-01-01T00:00:01Z') })).toBe(false);
    expect(current.client.isEnabled(BEFORE_2030, {})).toBe(Date.now() < Date.parse('2030-01-01T00:00:00Z'));
  });
});

describe('segments', () => {
  const cases: [string, Context, boolean][] = [
    ['segment and strategy constraints hold', { userId: 'u', properties: { plan: 'pro', country: 'no', appVersion: '1.2.0' } }, true],
    ['another segment value', { userId: 'u', properties: { plan: 'enterprise', country: 'se', appVersion: '1.0.0' } }, true],
    ['first segment constraint fails', { userId: 'u', properties: { plan: 'free', country: 'no', appVersion: '1.2.0' } }, false],
    ['second segment constraint fails', { userId: 'u', properties: { plan: 'pro', country: 'de', appVersion: '1.2.0' } }, false],
    ['strategy constraint fails', { userId: 'u', properties: { plan: 'pro', country: 'no', appVersion: '0.9.0' } }, false],
  ];

  test('the server sent top-level segments to our client and inlined them for an older one', () => {
    const currentBody = JSON.parse(currentProxy.featureFetches().find((e) => e.status === 200)!.body);
    const legacyBody = JSON.parse(legacyProxy.featureFetches().find((e) => e.status === 200)!.body);
    expect(currentProxy.featureFetches()[0].requestHeaders['unleash-client-spec']).toBe('5.2.0');

    const strategyOf = (body: { features: { name: string; strategies: { constraints: unknown[]; segments?: number[] }[] }[] }) =>
      body.features.find((f) => f.name === SEGMENTED)!.strategies[0];
    expect(currentBody.segments.map((s: { id: number }) => s.id)).toContain(segmentId);
    expect(strategyOf(currentBody).segments).toEqual([segmentId]);
    expect(strategyOf(currentBody).constraints).toHaveLength(1);

    expect(legacyBody.segments ?? []).toEqual([]);
    expect(strategyOf(legacyBody).segments ?? []).toEqual([]);
    expect(strategyOf(legacyBody).constraints).toHaveLength(3);
  });

  test.each(cases)('top-level segments: %s', (_label, context, expected) => {
    expect(current.client.isEnabled(SEGMENTED, context)).toBe(expected);
  });

  test.each(cases)('inlined segments: %s', (_label, context, expected) => {
    expect(legacy.client.isEnabled(SEGMENTED, context)).toBe(expected);
  });
});

describe('variants', () => {
  test('feature variants: each user gets the hashed variant with its payload', () => {
    const seen = new Set<string>();
    for (const userId of users('v', 100)) {
      const name = expectedVariant(FEATURE_VARIANTS, VARIANTS, userId);
      const payload = FEATURE_VARIANTS.find((v) => v.name === name)!.payload;
      const variant = current.client.getVariant(VARIANTS, { userId });
      expect({ userId, variant }).toEqual({ userId, variant: { name, enabled: true, feature_enabled: true, payload } });
      seen.add(variant.name);
    }
    expect([...seen].sort()).toEqual(['blue', 'red']);
  });

  test('a variant override wins over hashing', () => {
    expect(expectedVariant(FEATURE_VARIANTS, VARIANTS, VIP)).toBe('blue');
    expect(current.client.getVariant(VARIANTS, { userId: VIP })).toMatchObject({
      name: 'red',
      enabled: true,
      payload: { type: 'string', value: 'red' },
    });
  });

  test('strategy variants of the matching strategy win, hashed with its groupId', () => {
    const seen = new Set<string>();
    for (const userId of users('sv', 60)) {
      const name = expectedVariant(STRATEGY_VARIANT_LIST, SV_GROUP, userId);
      const payload = STRATEGY_VARIANT_LIST.find((v) => v.name === name)!.payload;
      expect(current.client.getVariant(STRATEGY_VARIANTS, { userId, properties: { region: 'eu' } })).toEqual({
        name,
        enabled: true,
        feature_enabled: true,
        payload,
      });
      seen.add(name);
    }
    expect([...seen].sort()).toEqual(['sv-a', 'sv-b']);
  });

  test('a matching strategy without variants falls back to the feature variants', () => {
    expect(current.client.getVariant(STRATEGY_VARIANTS, { userId: 'sv-1', properties: { region: 'us' } })).toEqual({
      name: 'feature-only',
      enabled: true,
      feature_enabled: true,
      payload: { type: 'string', value: 'feature' },
    });
  });
});

describe('dependent flags', () => {
  test('a child is on exactly when its parent is on', () => {
    for (const userId of [...PARENT_USERS.slice(0, 4), 'stranger-1', 'stranger-2']) {
      const parentOn = PARENT_USERS.includes(userId);
      expect({ userId, parent: current.client.isEnabled(PARENT, { userId }) }).toEqual({ userId, parent: parentOn });
      expect({ userId, child: current.client.isEnabled(CHILD, { userId }) }).toEqual({ userId, child: parentOn });
      expect({ userId, childOfOff: current.client.isEnabled(CHILD_OF_OFF, { userId }) }).toEqual({
        userId,
        childOfOff: !parentOn,
      });
    }
  });

  test("a child requiring a parent variant follows the parent's variant", () => {
    const byVariant = PARENT_USERS.map((userId) => [userId, expectedVariant(PARENT_VARIANTS, PARENT, userId)]);
    expect(new Set(byVariant.map(([, v]) => v))).toEqual(new Set(['pv-x', 'pv-y']));
    for (const [userId, variant] of byVariant) {
      expect(current.client.getVariant(PARENT, { userId }).name).toBe(variant);
      expect({ userId, on: current.client.isEnabled(CHILD_OF_VARIANT, { userId }) }).toEqual({ userId, on: variant === 'pv-x' });
    }
    expect(current.client.isEnabled(CHILD_OF_VARIANT, { userId: 'stranger-1' })).toBe(false);
  });
});

describe('disabled and unknown flags', () => {
  test('a disabled flag is off whatever the fallback, and its variant is "disabled"', () => {
    expect(current.client.isEnabled(DISABLED, { userId: 'a' })).toBe(false);
    expect(current.client.isEnabled(DISABLED, { userId: 'a' }, true)).toBe(false);
    expect(current.client.getVariant(DISABLED, { userId: 'a' })).toEqual({
      name: 'disabled',
      enabled: false,
      feature_enabled: false,
    });
  });

  test('an unknown flag takes the fallback', () => {
    expect(current.client.isEnabled(n('never-created'), {}, true)).toBe(true);
    expect(current.client.isEnabled(n('never-created'), {})).toBe(false);
    expect(current.client.getVariant(n('never-created'))).toMatchObject({ name: 'disabled', enabled: false });
  });
});

describe('impression data', () => {
  test('flags with impressionData report every evaluation; others none', () => {
    const before = current.of('impression').length;
    current.client.isEnabled(IMPRESSIONS, { userId: 'imp-1' });
    current.client.getVariant(IMPRESSIONS, { userId: 'imp-1' });
    current.client.isEnabled(ROLLOUT, { userId: 'imp-1' }); // no impressionData
    current.client.isEnabled(DISABLED, { userId: 'imp-1' }); // impressionData, disabled
    const events = current.of('impression').slice(before);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'impression',
        eventType: 'isEnabled',
        featureName: IMPRESSIONS,
        enabled: true,
        context: expect.objectContaining({ userId: 'imp-1', appName: 'switchyard-e2e-eval' }),
      }),
      expect.objectContaining({
        type: 'impression',
        eventType: 'getVariant',
        featureName: IMPRESSIONS,
        enabled: true,
        variant: expectedVariant(FEATURE_VARIANTS, IMPRESSIONS, 'imp-1'),
      }),
      expect.objectContaining({ type: 'impression', eventType: 'isEnabled', featureName: DISABLED, enabled: false }),
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
  });

  test('a parent evaluated for its child fires no impression of its own', () => {
    const before = current.of('impression').length;
    current.client.isEnabled(CHILD, { userId: PARENT_USERS[0] });
    expect(current.of('impression').slice(before).map((e) => e.featureName)).toEqual([CHILD]);
  });
});
