/**
 * A wrong client token: the real server answers 401; the client reports a clear error
 * naming the status (never the token), does not crash, stops polling (a configuration
 * error does not fix itself), and keeps serving the flags it has in its cache.
 */
import { MemoryCache } from '../cache/memory-cache';
import { Admin } from './helpers/admin';
import { createClient, endSuite } from './helpers/client';
import { RecordingProxy } from './helpers/recording-proxy';
import { server } from './helpers/server';
import { waitFor } from './helpers/wait-for';

const admin = new Admin();
const FLAG = admin.name('cached');
const WRONG_SECRET = `wrong-secret-${admin.runId}`;
const WRONG_TOKEN = `default:development.${WRONG_SECRET}`;
let proxy: RecordingProxy;

beforeAll(async () => {
  await admin.createFlag(FLAG);
  await admin.addStrategy(FLAG, { name: 'default' });
  await admin.enable(FLAG);
  await admin.settled();
  proxy = await RecordingProxy.start(server().origin);
});

afterAll(() => endSuite(admin, () => proxy?.close()));

test('the server really rejects the token', async () => {
  const res = await fetch(`${server().url}/client/features`, { headers: { Authorization: WRONG_TOKEN } });
  expect(res.status).toBe(401);
});

test('a 401 gives one clear error, no token in it, and stops polling', async () => {
  const t = createClient({ url: proxy.url, appName: 'switchyard-e2e-auth', customHeaders: { Authorization: WRONG_TOKEN } });
  const seen = proxy.featureFetches().length;
  await t.client.start();
  const [failure] = await waitFor(() => t.of('error').filter((e) => e.origin === 'fetch').length > 0 && t.of('error'), {
    what: 'an error event',
  });
  expect(failure.origin).toBe('fetch');
  expect(failure.error.message).toMatch(/401/);
  expect(failure.error.message).not.toContain(WRONG_SECRET);
  expect(failure.error).toMatchObject({ status: 401 });
  expect(proxy.featureFetches().slice(seen).map((e) => e.status)).toEqual([401]);
  expect(t.client.isEnabled(FLAG, {}, true)).toBe(true); // no flags: the fallback answers
  expect(t.client.isEnabled(FLAG)).toBe(false);

  // Three refresh intervals later there has been no second attempt.
  await new Promise((resolve) => setTimeout(resolve, 3500));
  expect(proxy.featureFetches().slice(seen)).toHaveLength(1);
  expect(t.of('error').filter((e) => e.origin === 'fetch')).toHaveLength(1);
});

test('with a cache, a client holding a wrong token keeps serving the cached flags', async () => {
  const cache = new MemoryCache();
  const good = await admin.clientFeatures();
  await cache.bootstrapFromDict(good.body);
  const t = createClient({ url: proxy.url, appName: 'switchyard-e2e-auth', customHeaders: { Authorization: WRONG_TOKEN }, cache });
  await t.client.start();
  await waitFor(() => t.of('error').some((e) => e.origin === 'fetch'), { what: 'the 401 error event' });
  expect(t.of('ready')).toHaveLength(1);
  expect(t.client.isEnabled(FLAG)).toBe(true);
  expect(t.client.getVariant(FLAG)).toMatchObject({ enabled: false, feature_enabled: true });
  expect(t.of('fetched')).toEqual([]);
});
