/**
 * Fleet mode across real processes: 20 Node processes, each one client with a `RedisFleet`
 * on one real Redis (spec/support/redis.ts), against one loopback Unleash stub that counts
 * the requests for flags. Each process prints what happens to it as JSON lines and answers
 * `status` on its stdin.
 *
 * Times (how fast a change reaches every instance, how fast a follower takes over) are
 * measured and printed, never asserted: the machine is shared. Assertions are on what each
 * instance serves, on roles, and on request counts with generous bounds.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { bundleClient } from '../support/client-bundle';
import { startRedis, type RedisServer } from '../support/redis';
import { TestServer } from '../support/test-server';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = join(root, '.tmp', `fleet-process-test-${process.pid}`);
const FEATURES = '/api/client/features';
const INSTANCES = 20;
const LOCK_TTL = 3_000;
const REFRESH = 1_000;
const PREFIX = 'fleet-process:';

const CHILD = `
const readline = require('node:readline');
const { UnleashClient, RedisFleet } = require('./client.cjs');
const [url, redisUrl, prefix, lockTtl, refresh] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify({ ...line, at: Date.now() }) + '\\n');
const fleet = new RedisFleet({ redis: redisUrl, prefix, lockTtl: Number(lockTtl) });
const client = new UnleashClient({ url, appName: 'fleet-process', refreshInterval: Number(refresh), metricsInterval: 2000, fleet });
client.on('fetched', () => print({ t: 'fetched', source: client.status().source, enabled: client.isEnabled('f') }));
client.on('warning', (e) => print({ t: 'warning', origin: e.origin, message: e.message }));
client.on('error', (e) => print({ t: 'error', origin: e.origin, message: e.error.message }));
client.start().then(() => print({ t: 'started', connectionId: client.connectionId }));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'status') print({ t: 'status', status: client.status(), enabled: client.isEnabled('f') });
  if (line === 'exit') client.destroy().then(() => process.exit(0));
});
`;

interface Line {
  t: string;
  at: number;
  [key: string]: unknown;
}

interface Status {
  ready: boolean;
  source: string | undefined;
  fleet: { role: string; since: number; version: string | undefined; lastError?: { message: string } };
}

class Instance {
  readonly lines: Line[] = [];
  connectionId: string | undefined;
  exited = false;
  private waiters: { match: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];

  constructor(readonly index: number, readonly child: ChildProcessWithoutNullStreams) {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (text.trim() === '') continue;
        const line = JSON.parse(text) as Line;
        if (line.t === 'started') this.connectionId = line.connectionId as string;
        this.lines.push(line);
        const hit = this.waiters.filter((w) => w.match(line));
        this.waiters = this.waiters.filter((w) => !hit.includes(w));
        for (const w of hit) w.resolve(line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[instance ${index}] ${chunk.toString()}`));
    child.on('exit', () => (this.exited = true));
  }

  next(match: (l: Line) => boolean, timeout = 30_000): Promise<Line> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance ${this.index}: no matching line within ${timeout} ms`)), timeout);
      this.waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  async status(): Promise<{ status: Status; enabled: boolean }> {
    const asked = Date.now();
    const reply = this.next((l) => l.t === 'status' && l.at >= asked);
    this.child.stdin.write('status\n');
    const line = await reply;
    return { status: line.status as Status, enabled: line.enabled as boolean };
  }
}

let redis: RedisServer;
let admin: Redis;
let server: TestServer;
let instances: Instance[] = [];

function body(enabled: boolean): unknown {
  return { version: 2, features: [{ name: 'f', enabled, strategies: [{ name: 'default', parameters: {} }] }] };
}

beforeAll(async () => {
  await bundleClient(work, { redis: true });
  await writeFile(join(work, 'child.cjs'), CHILD);
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  admin.on('error', () => undefined);
  server = await TestServer.start();
  server.serveFeatures(body(true), '"v1"');
}, 600_000);

afterAll(async () => {
  for (const i of instances) if (!i.exited) i.child.kill('SIGKILL');
  admin?.disconnect();
  await server?.close();
  await redis?.stop();
  await rm(work, { recursive: true, force: true });
});

function launch(index: number): Instance {
  const child = spawn(process.execPath, [join(work, 'child.cjs'), `${server.origin}/api`, redis.url, PREFIX, String(LOCK_TTL), String(REFRESH)], { cwd: work, stdio: 'pipe' });
  return new Instance(index, child);
}

const alive = (): Instance[] => instances.filter((i) => !i.exited);

async function statuses(of = alive()): Promise<{ instance: Instance; status: Status; enabled: boolean }[]> {
  return Promise.all(of.map(async (instance) => ({ instance, ...(await instance.status()) })));
}

/** Waits (bounded, polling the instances) until `condition` holds for their statuses. */
async function waitFor(what: string, condition: (s: { instance: Instance; status: Status; enabled: boolean }[]) => boolean, timeout = 45_000): Promise<{ instance: Instance; status: Status; enabled: boolean }[]> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const now = await statuses();
    if (condition(now)) return now;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting until ${what}: ${JSON.stringify(now.map((s) => [s.instance.index, s.status.fleet?.role, s.enabled]))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const roles = (all: { status: Status }[], role: string): number => all.filter((s) => s.status.fleet?.role === role).length;
const oneFleet = (all: { status: Status }[]): boolean => roles(all, 'leader') === 1 && roles(all, 'follower') === all.length - 1;

/** Feature requests during `ms` of real time (a measurement window, not a timing assertion). */
async function requestsDuring(ms: number): Promise<{ count: number; pollers: number }> {
  const from = server.requestsTo(FEATURES).length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const seen = server.requestsTo(FEATURES).slice(from);
  return { count: seen.length, pollers: new Set(seen.map((r) => r.headers['unleash-connection-id'])).size };
}

/** Serves `enabled`, waits until every live instance serves it, and returns how long each took after the leader saw it. */
async function change(enabled: boolean, etag: string): Promise<{ leaderSawAt: number | undefined; spreadMs: number | undefined }> {
  const changedAt = Date.now();
  server.serveFeatures(body(enabled), etag);
  const seen = await Promise.all(alive().map((i) => i.next((l) => l.t === 'fetched' && l.enabled === enabled && l.at >= changedAt, 45_000)));
  const leaderSawAt = seen.find((l) => l.source === 'server')?.at;
  const last = Math.max(...seen.map((l) => l.at));
  return { leaderSawAt, spreadMs: leaderSawAt === undefined ? undefined : last - leaderSawAt };
}

test(`${INSTANCES} processes in one fleet: one poller's requests, every change everywhere, takeover after SIGKILL, an outage and the way back, a corrupt value`, async () => {
  instances = Array.from({ length: INSTANCES }, (_, i) => launch(i));
  await Promise.all(instances.map((i) => i.next((l) => l.t === 'started', 60_000)));
  let all = await waitFor('one leader and 19 followers, all serving the flag', (s) => oneFleet(s) && s.every((x) => x.enabled));

  // One poller's worth of requests, where 20 independent clients would make 20 times as many.
  const window = 6_000;
  const steady = await requestsDuring(window);
  const onePoller = window / REFRESH;
  console.log(`fleet of ${INSTANCES}: ${steady.count} feature requests in ${window} ms from ${steady.pollers} instance(s) (one poller: about ${onePoller}; ${INSTANCES} pollers: about ${INSTANCES * onePoller})`);
  expect(steady.count).toBeGreaterThan(0);
  expect(steady.count).toBeLessThanOrEqual(2 * onePoller + 4);

  // A change reaches all 20.
  const first = await change(false, '"v2"');
  console.log(`change seen by the leader, then by all ${INSTANCES}: the last one ${first.spreadMs} ms after the leader`);
  expect(first.leaderSawAt).toBeDefined();
  all = await statuses();
  expect(all.every((s) => !s.enabled)).toBe(true);
  expect(all.filter((s) => s.status.source === 'fleet')).toHaveLength(INSTANCES - 1);

  // Every instance registers and reports its own metrics.
  const registered = new Set(server.requestsTo('/api/client/register').map((r) => r.headers['unleash-connection-id']));
  expect(instances.every((i) => registered.has(i.connectionId))).toBe(true);

  // SIGKILL the leader: no release, the lock must expire; a follower takes over.
  const leader = all.find((s) => s.status.fleet.role === 'leader')!.instance;
  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  await new Promise<void>((resolve) => (leader.exited ? resolve() : leader.child.once('exit', () => resolve())));
  all = await waitFor('a new leader among the 19', oneFleet);
  const next = all.find((s) => s.status.fleet.role === 'leader')!;
  console.log(`leader killed; instance ${next.instance.index} took over ${next.status.fleet.since - killedAt} ms later (lock TTL ${LOCK_TTL} ms)`);
  const afterTakeover = await change(true, '"v3"');
  console.log(`after the takeover, a change reached all ${INSTANCES - 1} within ${afterTakeover.spreadMs} ms of the new leader`);
  const led = await requestsDuring(window);
  console.log(`after the takeover: ${led.count} feature requests in ${window} ms from ${led.pollers} instance(s)`);
  expect(led.count).toBeLessThanOrEqual(2 * onePoller + 4);

  // Redis stops: everyone keeps serving and polls alone.
  await redis.stop();
  all = await waitFor('every instance is standalone', (s) => roles(s, 'standalone') === s.length);
  expect(all.every((s) => s.enabled && s.status.ready)).toBe(true);
  const from = server.requestsTo(FEATURES).length;
  await change(false, '"v4"');
  await waitFor('every instance polled on its own', () => {
    const pollers = new Set(server.requestsTo(FEATURES).slice(from).map((r) => r.headers['unleash-connection-id']));
    return alive().every((i) => pollers.has(i.connectionId));
  });
  const alone = await requestsDuring(3_000);
  console.log(`Redis down: ${alone.count} feature requests in 3000 ms from ${alone.pollers} instances`);
  expect(alone.pollers).toBe(INSTANCES - 1);

  // Redis is back (empty, as a restarted Redis without persistence): one fleet again.
  redis = await startRedis({ port: redis.port });
  all = await waitFor('one fleet again', oneFleet);
  await waitFor('all serve the new leader\'s version', (s) => {
    const version = s.find((x) => x.status.fleet.role === 'leader')!.status.fleet.version;
    return version !== undefined && s.every((x) => x.status.fleet.version === version);
  });
  const rejoined = await requestsDuring(window);
  console.log(`Redis back: ${rejoined.count} feature requests in ${window} ms from ${rejoined.pollers} instance(s)`);
  expect(rejoined.count).toBeLessThanOrEqual(2 * onePoller + 4);
  await change(true, '"v5"');

  // A corrupt value is reported by every follower and never served.
  const corruptAt = Date.now();
  await admin.multi().set(`${PREFIX}features`, '{"features":[{"name":"f","enabled":fal').hset(`${PREFIX}fleet:meta`, 'version', 'corrupt').publish(`${PREFIX}fleet:changes`, 'v:corrupt').exec();
  const followers = all.filter((s) => s.status.fleet.role === 'follower').map((s) => s.instance);
  await Promise.all(followers.map((i) => i.next((l) => l.t === 'warning' && l.at >= corruptAt && /features is not JSON/.test(l.message as string))));
  all = await statuses();
  expect(all.every((s) => s.enabled)).toBe(true);
  // The leader writes a fetched body over it, and every follower takes that.
  await waitFor('the fleet has a usable version again', (s) => {
    const version = s.find((x) => x.status.fleet.role === 'leader')?.status.fleet.version;
    return version !== undefined && version !== 'corrupt' && s.every((x) => x.status.fleet.version === version && x.enabled);
  });

  await Promise.all(alive().map((i) => {
    i.child.stdin.write('exit\n');
    return new Promise<void>((resolve) => (i.exited ? resolve() : i.child.once('exit', () => resolve())));
  }));
  const metrics = new Set(server.requestsTo('/api/client/metrics').map((r) => r.headers['unleash-connection-id']));
  expect(alive()).toEqual([]);
  expect(instances.filter((i) => i !== leader).every((i) => metrics.has(i.connectionId))).toBe(true);
}, 600_000);
