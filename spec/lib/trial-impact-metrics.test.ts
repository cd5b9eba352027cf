/**
 * Trial findings (a user trying to break `client.impactMetrics` from the packed package).
 * Each test states the EXPECTED behaviour in its name and fails on the code as merged.
 *
 * README, "Impact metrics": "NaN and infinite values are dropped". Finite values that add up
 * past Number.MAX_VALUE become Infinity all the same, and JSON.stringify writes Infinity as
 * `null`: the metrics POST then carries `"value": null` / `"sum": null`, which Unleash's
 * impactMetricsSchema (numbers) does not accept. A non-2xx answer keeps the counts for the
 * next report, so the poisoned value is sent again at every interval.
 */
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { ManualScheduler } from '../support/manual-scheduler';
import { TestServer } from '../support/test-server';

const METRICS = '/api/client/metrics';

interface Sample {
  value?: unknown;
  count?: unknown;
  sum?: unknown;
}
interface MetricsBody {
  impactMetrics?: { name: string; samples: Sample[] }[];
}

let server: TestServer;
let clients: UnleashClient[];

beforeEach(async () => {
  server = await TestServer.start();
  server.serveFeatures({ version: 2, features: [] });
  clients = [];
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await server.close();
});

async function started(): Promise<UnleashClient> {
  const c = new UnleashClient({
    url: server.url,
    appName: 'trial-impact',
    cache: new MemoryCache(),
    disableRegistration: true,
    scheduler: new ManualScheduler(),
  });
  clients.push(c);
  await c.start();
  return c;
}

const sampleOf = (body: MetricsBody, name: string): Sample | undefined => body.impactMetrics?.find((m) => m.name === name)?.samples[0];

describe('trial: impact metrics never put a non-number on the wire', () => {
  test('EXPECTED: a counter whose finite increments overflow sends a finite number, not null', async () => {
    const c = await started();
    const counter = c.impactMetrics.defineCounter('bytes_moved', 'Bytes moved');
    counter.inc(Number.MAX_VALUE);
    counter.inc(Number.MAX_VALUE); // each one finite, as documented; the sum is Infinity
    await c.flushMetrics();
    const body = server.requestsTo(METRICS).at(-1)!.json() as MetricsBody;
    // As merged: {"value": null}.
    expect(typeof sampleOf(body, 'bytes_moved')?.value).toBe('number');
    expect(Number.isFinite(sampleOf(body, 'bytes_moved')?.value as number)).toBe(true);
  });

  test('EXPECTED: a histogram whose finite observations overflow its sum sends a finite sum, not null', async () => {
    const c = await started();
    const histogram = c.impactMetrics.defineHistogram('payload_bytes', 'Payload sizes', [1, 10]);
    histogram.observe(Number.MAX_VALUE);
    histogram.observe(Number.MAX_VALUE);
    await c.flushMetrics();
    const body = server.requestsTo(METRICS).at(-1)!.json() as MetricsBody;
    // As merged: {"count": 2, "sum": null, ...}.
    expect(typeof sampleOf(body, 'payload_bytes')?.sum).toBe('number');
  });
});
