/**
 * Registration and usage metrics reach the real server: after evaluations and the flush
 * that `destroy()` does, the admin API shows our application and instance and exactly
 * the yes/no and variant counts we produced. The server writes metrics every 5 s and
 * registrations within about 20 s, so the checks poll.
 */
import { Admin, type RawMetric } from './helpers/admin';
import { createClient, destroyClient, endSuite } from './helpers/client';
import { RecordingProxy } from './helpers/recording-proxy';
import { server } from './helpers/server';
import { waitFor } from './helpers/wait-for';

const admin = new Admin();
const APP = `switchyard-e2e-${admin.runId}`;
const INSTANCE = `${admin.runId}-instance`;
const FLAG = admin.name('counted');
const VARIANT_FLAG = admin.name('counted-variant');
const PARENT = admin.name('counted-parent');
const CHILD = admin.name('counted-child');
let proxy: RecordingProxy;

beforeAll(async () => {
  await admin.createFlag(FLAG);
  await admin.addStrategy(FLAG, { name: 'default', constraints: [{ contextName: 'userId', operator: 'IN', values: ['yes'] }] });
  await admin.createFlag(VARIANT_FLAG);
  await admin.addStrategy(VARIANT_FLAG, { name: 'default' });
  await admin.setVariants(VARIANT_FLAG, [{ name: 'only', weight: 1000, weightType: 'variable', stickiness: 'default' }]);
  await admin.createFlag(PARENT);
  await admin.addStrategy(PARENT, { name: 'default' });
  await admin.createFlag(CHILD);
  await admin.addStrategy(CHILD, { name: 'default' });
  await admin.addDependency(CHILD, { feature: PARENT });
  for (const flag of [FLAG, VARIANT_FLAG, PARENT, CHILD]) await admin.enable(flag);
  await admin.settled();
  proxy = await RecordingProxy.start(server().origin);
});

afterAll(() => endSuite(admin, () => proxy?.close()));

test('the server shows our registration and the counts flushed by destroy()', async () => {
  const { client, of } = createClient({
    url: proxy.url,
    appName: APP,
    instanceId: INSTANCE,
    environment: 'e2e',
    disableMetrics: false,
    disableRegistration: false,
    // Longer than the test: the counts reach the server through destroy()'s flush.
    metricsInterval: 120_000,
    refreshInterval: 120_000,
  });
  await client.start();

  for (let i = 0; i < 3; i++) expect(client.isEnabled(FLAG, { userId: 'yes' })).toBe(true);
  for (let i = 0; i < 2; i++) expect(client.isEnabled(FLAG, { userId: 'no' })).toBe(false);
  expect(client.getVariant(FLAG, { userId: 'no' })).toMatchObject({ name: 'disabled', feature_enabled: false });
  for (let i = 0; i < 4; i++) expect(client.getVariant(VARIANT_FLAG, { userId: `u${i}` }).name).toBe('only');
  for (let i = 0; i < 2; i++) expect(client.isEnabled(CHILD)).toBe(true);

  await destroyClient(client);
  expect(of('error')).toEqual([]);

  // What went over the wire: one bucket, sent by destroy(), accepted with 202.
  const expected = {
    [FLAG]: { yes: 3, no: 3, variants: { disabled: 1 } },
    [VARIANT_FLAG]: { yes: 4, no: 0, variants: { only: 4 } },
    [CHILD]: { yes: 2, no: 0, variants: {} },
  };
  const posts = proxy.exchanges.filter((e) => e.method === 'POST' && e.path === '/api/client/metrics');
  expect(posts.map((p) => p.status)).toEqual([202]);
  const sent = JSON.parse(posts[0].requestBody);
  expect(sent).toMatchObject({ appName: APP, instanceId: INSTANCE });
  for (const [flag, counts] of Object.entries(expected)) {
    expect({ flag, counts: sent.bucket.toggles[flag] }).toEqual({ flag, counts: expect.objectContaining(counts) });
  }
  // The parent was only evaluated on the child's behalf: it counts nothing.
  expect(sent.bucket.toggles[PARENT]).toBeUndefined();

  // What the server made of it. It writes counts every 5 s, variants in a separate
  // statement, so wait for the whole picture before comparing.
  const total = (rows: RawMetric[]) =>
    rows.reduce(
      (sum, row) => {
        sum.yes += row.yes;
        sum.no += row.no;
        for (const [name, count] of Object.entries(row.variants ?? {})) sum.variants[name] = (sum.variants[name] ?? 0) + count;
        return sum;
      },
      { yes: 0, no: 0, variants: {} as Record<string, number> },
    );
  const stored = async () => {
    const entries = await Promise.all(
      [FLAG, VARIANT_FLAG, CHILD, PARENT].map(async (flag) => [flag, total(await admin.rawMetrics(flag, APP))] as const),
    );
    return Object.fromEntries(entries);
  };
  const want = { ...expected, [PARENT]: { yes: 0, no: 0, variants: {} } };
  let last: Awaited<ReturnType<typeof stored>> | undefined;
  // The server shows registrations later than metrics (up to ~20 s): wait for both at once.
  const registered = waitFor(
    async () => {
      const found = await admin.application(APP);
      return found?.instances.some((i) => i.instanceId === INSTANCE) && found;
    },
    { what: `the registration of ${APP}`, timeout: 30_000, interval: 500 },
  );
  registered.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
  await waitFor(
    async () => {
      last = await stored();
      return JSON.stringify(last) === JSON.stringify(want);
    },
    { what: `metrics of ${APP} on the server`, timeout: 30_000, interval: 500 },
  ).catch(() => undefined); // the comparison below shows what differs
  expect(last).toEqual(want);
  const rows = await admin.rawMetrics(FLAG, APP);
  expect(rows.map((r) => r.environment)).toEqual(['development']); // the token's environment

  const register = proxy.exchanges.filter((e) => e.method === 'POST' && e.path === '/api/client/register');
  expect(register.map((e) => e.status)).toEqual([202]);
  expect(JSON.parse(register[0].requestBody)).toMatchObject({
    appName: APP,
    instanceId: INSTANCE,
    interval: 120_000,
    strategies: expect.arrayContaining(['default', 'flexibleRollout']),
  });
  const app = await registered;
  expect(app.instances.find((i) => i.instanceId === INSTANCE)).toMatchObject({
    instanceId: INSTANCE,
    sdkVersion: expect.stringMatching(/^switchyard-flags:\d+\.\d+\.\d+/),
  });
  expect(app.strategies.map((s) => s.name)).toEqual(expect.arrayContaining(['default', 'flexibleRollout']));
});
