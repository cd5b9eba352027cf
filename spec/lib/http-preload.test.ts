/**
 * `start()` begins loading got before it reads the cache, so a client's first request does
 * not pay for the load after the cache read (lib/http.ts, `preloadHttp`). Its own file:
 * each jest file has its own module state, so nothing else has loaded got here.
 */
import { MemoryCache } from '../../cache/memory-cache';
import { UnleashClient } from '../../lib/client';
import { httpLoadStarted } from '../../lib/http';

/** A cache whose read answers only when the test says so. */
class HeldCache extends MemoryCache {
  release: () => void = () => undefined;
  private readonly held = new Promise<void>((resolve) => (this.release = resolve));

  override async get(key: string): Promise<unknown> {
    await this.held;
    return super.get(key);
  }
}

test('an offline client never loads got', async () => {
  const client = new UnleashClient({ appName: 'preload', offline: true, cache: new MemoryCache(), disableMetrics: true });
  await client.start();
  expect(httpLoadStarted()).toBe(false);
  await client.destroy();
});

test('start() loads got while the cache is still being read', async () => {
  const cache = new HeldCache();
  // Nothing listens on port 9 of the loopback; the test ends before any request matters.
  const client = new UnleashClient({ appName: 'preload', url: 'http://127.0.0.1:9/api', cache, disableMetrics: true, disableRegistration: true, eventCallback: () => undefined });
  expect(httpLoadStarted()).toBe(false);
  const started = client.start();
  expect(httpLoadStarted()).toBe(true);
  await client.destroy();
  cache.release();
  await started;
  // Let the load finish before the test environment goes.
  await import('got');
});
