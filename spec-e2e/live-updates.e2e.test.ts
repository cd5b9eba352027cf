/**
 * A running client follows changes made through the admin API on its next polls, and
 * its ETag makes the real server answer unchanged polls with 304. A recording proxy in
 * front of the server shows what went over the wire.
 */
import { Admin } from './helpers/admin';
import { createClient, endSuite, type TestClient } from './helpers/client';
import { RecordingProxy, type Exchange } from './helpers/recording-proxy';
import { server } from './helpers/server';
import { waitFor } from './helpers/wait-for';

const admin = new Admin();
const FLAG = admin.name('live');
let proxy: RecordingProxy;
let t: TestClient;
let strategyId = '';

/** Feature fetches after index `from`, with the ETag the client sent and what came back. */
const fetchesSince = (from: number): Exchange[] => proxy.featureFetches().slice(from);
const lastOk = (): Exchange => proxy.featureFetches().filter((e) => e.status === 200).at(-1)!;

beforeAll(async () => {
  await admin.createFlag(FLAG);
  strategyId = await admin.addStrategy(FLAG, { name: 'default' });
  await admin.setVariants(FLAG, [
    { name: 'v1', weight: 1000, weightType: 'variable', stickiness: 'userId', payload: { type: 'string', value: 'one' } },
  ]);
  await admin.enable(FLAG);
  await admin.settled();
  proxy = await RecordingProxy.start(server().origin);
  t = createClient({ url: proxy.url, appName: 'switchyard-e2e-live', refreshInterval: 1000 });
  await t.client.start();
});

afterAll(() => endSuite(admin, () => proxy?.close()));

test('unchanged polls send the ETag back and get 304, without a FETCHED event', async () => {
  expect(t.client.isEnabled(FLAG, { userId: 'a' })).toBe(true);
  const first = proxy.featureFetches()[0];
  expect(first.status).toBe(200);
  const etag = first.responseHeaders.etag;
  expect(etag).toEqual(expect.any(String));
  expect(t.of('fetched')).toHaveLength(1);
  expect(t.of('fetched')[0].etag).toBe(etag);

  const unchanged = await waitFor(() => fetchesSince(1).length >= 3 && fetchesSince(1), {
    what: 'three more polls',
    timeout: 10_000,
  });
  for (const poll of unchanged) {
    expect({ status: poll.status, sent: poll.requestHeaders['if-none-match'] }).toEqual({ status: 304, sent: etag });
  }
  expect(t.of('fetched')).toHaveLength(1);
  expect(t.of('error')).toEqual([]);
});

test('a flag switched off in the admin API is off on a following poll', async () => {
  const fetchedBefore = t.of('fetched').length;
  const etagBefore = lastOk().responseHeaders.etag;
  await admin.disable(FLAG);
  await waitFor(() => !t.client.isEnabled(FLAG, { userId: 'a' }), { what: 'the client to see the flag off' });
  expect(t.of('fetched').length).toBeGreaterThan(fetchedBefore);
  const fetched = t.of('fetched').at(-1)!;
  expect(fetched.features.find((f) => f.name === FLAG)?.enabled).toBe(false);
  expect(lastOk().responseHeaders.etag).not.toBe(etagBefore);
  expect(fetched.etag).toBe(lastOk().responseHeaders.etag);
  expect(t.client.getVariant(FLAG, { userId: 'a' })).toEqual({ name: 'disabled', enabled: false, feature_enabled: false });
});

test('an edited strategy and new variants reach the client; then polls are 304 again', async () => {
  await admin.updateStrategy(FLAG, strategyId, {
    name: 'default',
    constraints: [{ contextName: 'userId', operator: 'IN', values: ['b'] }],
  });
  await admin.setVariants(FLAG, [
    { name: 'v2', weight: 1000, weightType: 'variable', stickiness: 'userId', payload: { type: 'json', value: '{"n":2}' } },
  ]);
  await admin.enable(FLAG);
  await waitFor(
    () =>
      t.client.isEnabled(FLAG, { userId: 'b' }) &&
      !t.client.isEnabled(FLAG, { userId: 'a' }) &&
      t.client.getVariant(FLAG, { userId: 'b' }).name === 'v2',
    { what: 'the edited strategy and variants on the client' },
  );
  expect(t.client.getVariant(FLAG, { userId: 'b' })).toEqual({
    name: 'v2',
    enabled: true,
    feature_enabled: true,
    payload: { type: 'json', value: '{"n":2}' },
  });

  // Once the server's revision has caught up with the three changes, the next poll may
  // still bring the final ETag; every poll after that one is a 304.
  await admin.settled();
  const seen = proxy.featureFetches().length;
  const after = await waitFor(() => fetchesSince(seen).length >= 3 && fetchesSince(seen), { what: 'three more polls', timeout: 10_000 });
  const etag = lastOk().responseHeaders.etag;
  expect(etag).toEqual(expect.any(String));
  for (const poll of after.slice(1)) {
    expect({ status: poll.status, sent: poll.requestHeaders['if-none-match'] }).toEqual({ status: 304, sent: etag });
  }
  expect(t.of('error')).toEqual([]);
});
