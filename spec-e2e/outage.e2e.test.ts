/**
 * The server goes away mid-run: the client keeps serving the last flags, backs off (each
 * failed poll waits longer), and once the server is back it picks up a change made
 * through the admin API. Stops and restarts the shared server through
 * scripts/unleash-server.sh (the suite runs one file at a time).
 */
import { Admin } from './helpers/admin';
import { createClient, endSuite } from './helpers/client';
import { startServer, stopServer } from './helpers/server';
import { waitFor } from './helpers/wait-for';

const admin = new Admin();
const FLAG = admin.name('survivor');
const REFRESH = 1000;
let serverDown = false;

beforeAll(async () => {
  await admin.createFlag(FLAG);
  await admin.addStrategy(FLAG, { name: 'default' });
  await admin.setVariants(FLAG, [
    { name: 'kept', weight: 1000, weightType: 'variable', stickiness: 'default', payload: { type: 'string', value: 'still here' } },
  ]);
  await admin.enable(FLAG);
  await admin.settled();
});

// The next file needs the server back up.
afterAll(() => endSuite(admin, async () => serverDown && (await startServer())));

test('serves the last flags while the server is down, backs off, and recovers', async () => {
  const t = createClient({ appName: 'switchyard-e2e-outage', refreshInterval: REFRESH, timeout: 2000 });
  await t.client.start();
  expect(t.client.isEnabled(FLAG)).toBe(true);
  const fetchedBefore = t.of('fetched').length;

  serverDown = true;
  await stopServer();
  const fetchErrors = () => t.events.filter((r) => r.event.type === 'error' && r.event.origin === 'fetch');
  await waitFor(() => fetchErrors().length >= 3, { what: 'three failed polls', timeout: 30_000 });

  // Still serving what it had, variant payload included.
  expect(t.client.isEnabled(FLAG)).toBe(true);
  expect(t.client.getVariant(FLAG)).toEqual({
    name: 'kept',
    enabled: true,
    feature_enabled: true,
    payload: { type: 'string', value: 'still here' },
  });
  // Backing off: every gap between failed polls is longer than the one before, and
  // longer than the normal interval.
  const at = fetchErrors().map((r) => r.at);
  const gaps = at.slice(1).map((time, i) => time - at[i]);
  expect(gaps[0]).toBeGreaterThan(REFRESH * 1.5);
  expect(gaps[1]).toBeGreaterThan(gaps[0]);
  expect(t.of('error').every((e) => e.origin === 'fetch')).toBe(true);

  await startServer();
  serverDown = false;
  await admin.disable(FLAG);
  await waitFor(() => !t.client.isEnabled(FLAG), { what: 'the change made after the restart', timeout: 40_000 });
  expect(t.of('fetched').length).toBeGreaterThan(fetchedBefore);
  expect(t.of('fetched').at(-1)!.features.find((f) => f.name === FLAG)?.enabled).toBe(false);
});
