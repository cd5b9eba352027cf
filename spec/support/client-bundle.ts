/**
 * Bundles the client's TypeScript sources into one CommonJS file that a child process can
 * `require`, for tests that watch a whole process (exit, memory) rather than jest's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * Writes `<work>/client.cjs`, exporting `UnleashClient` and `MemoryCache` (and `RedisFleet`
 * and `RedisCache` with `redis`). `work` must be two levels below the project root (as
 * `.tmp/<name>`), so the bundle resolves got, ioredis and friends from the project's node_modules.
 */
export async function bundleClient(work: string, options: { redis?: boolean } = {}): Promise<string> {
  await mkdir(work, { recursive: true });
  const redis = options.redis === true ? "export { RedisCache, RedisFleet } from '../../redis/index';\n" : '';
  await writeFile(
    join(work, 'entry.ts'),
    "export { UnleashClient } from '../../lib/client';\nexport { MemoryCache } from '../../cache/memory-cache';\n" + redis,
  );
  const outfile = join(work, 'client.cjs');
  await build({ entryPoints: [join(work, 'entry.ts')], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', packages: 'external', logLevel: 'silent' });
  return outfile;
}
