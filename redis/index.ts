/**
 * Redis for switchyard (`switchyard-flags/redis`; needs `npm install ioredis`): a cache
 * every instance shares (`RedisCache`), and fleet mode (`RedisFleet`), where instances that
 * share a key prefix elect one leader that alone fetches flags from Unleash.
 *
 * ```ts
 * import { UnleashClient } from 'switchyard-flags';
 * import { RedisFleet } from 'switchyard-flags/redis';
 *
 * const client = new UnleashClient({ url, appName, customHeaders, fleet: new RedisFleet({ redis: 'redis://127.0.0.1:6379', prefix: 'checkout:production:' }) });
 * await client.start();
 * ```
 *
 * @module switchyard-flags/redis
 * @sortStrategy kind, alphabetical
 */
export { RedisCache, type RedisCacheOptions } from './redis-cache';
export { RedisFleet, type RedisFleetOptions } from './fleet';
export type { RedisSource } from './connection';
export type { FleetCoordinator, FleetHost, FleetRole, FleetStatus } from '../lib/fleet-link';
