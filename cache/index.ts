/** The cache contract and the two caches that ship with switchyard. */
export {
  BaseCache,
  CacheKeys,
  CacheWarning,
  type BootstrapOptions,
  type CacheWarningCode,
  type CacheWarningListener,
  type MaybePromise,
} from './base-cache';
export { MemoryCache } from './memory-cache';
export { FileCache, cacheFileName, FILE_CACHE_FORMAT, FILE_CACHE_VERSION, type FileCacheOptions } from './file-cache';
