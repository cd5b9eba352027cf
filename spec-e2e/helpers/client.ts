/**
 * Builds `UnleashClient`s for the e2e tests, pointed at the real server (or a proxy in
 * front of it), with every event recorded and a clean shutdown after each file.
 * Defaults keep tests independent: an in-memory cache (the default file cache would carry
 * flags from one test into the next), no registration or metrics unless asked, and the
 * shortest refresh interval the client accepts (1 s).
 */
import { UnleashClient } from '../../lib/client';
import { MemoryCache } from '../../cache/memory-cache';
import type { UnleashConfig } from '../../lib/options';
import type { UnleashEvent, UnleashEventOf, UnleashEventType } from '../../lib/events';
import { server } from './server';

/** An event with the moment it arrived. */
export interface Recorded {
  event: UnleashEvent;
  at: number;
}

/** A client and everything it reported. */
export interface TestClient {
  client: UnleashClient;
  events: Recorded[];
  /** The events of one type, in order. */
  of<T extends UnleashEventType>(type: T): UnleashEventOf<T>[];
}

const live = new Set<UnleashClient>();
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

/** Creates (does not start) a client; `url` defaults to the real server. */
export function createClient(options: Partial<UnleashConfig> = {}): TestClient {
  const events: Recorded[] = [];
  const client = new UnleashClient({
    url: server().url,
    appName: 'switchyard-e2e',
    customHeaders: { Authorization: server().clientToken },
    refreshInterval: 1000,
    disableMetrics: true,
    disableRegistration: true,
    timeout: 5000,
    cache: new MemoryCache(),
    eventCallback: (event) => events.push({ event, at: Date.now() }),
    ...options,
  });
  live.add(client);
  return {
    client,
    events,
    of: <T extends UnleashEventType>(type: T) =>
      events.filter((r) => r.event.type === type).map((r) => r.event as UnleashEventOf<T>),
  };
}

/** Destroys a client (flushing its metrics) and forgets it. */
export async function destroyClient(client: UnleashClient): Promise<void> {
  live.delete(client);
  await client.destroy();
}

/** Destroys every client still alive; for afterAll/afterEach. */
export async function destroyAllClients(): Promise<void> {
  await Promise.all([...live].map((client) => destroyClient(client)));
}

/** Unhandled promise rejections seen so far in this file (a client must cause none). */
export function unhandledRejections(): unknown[] {
  return unhandled;
}

/**
 * The teardown every e2e file shares: destroy its clients, run its own step (close a proxy,
 * restart the server), archive its flags, and fail if anything rejected unhandled.
 */
export async function endSuite(admin: { cleanup(): Promise<unknown> }, ownStep: () => unknown = () => undefined): Promise<void> {
  await destroyAllClients();
  await ownStep();
  await admin.cleanup();
  expect(unhandledRejections()).toEqual([]);
}
