/** The cache contract and the two caches that ship with switchyard. */
export { BaseCache, CacheKeys, type BootstrapOptions, type MaybePromise } from './base-cache';
export { MemoryCache } from './memory-cache';
export {
  FileCache,
  CacheWarning,
  cacheFileName,
  FILE_CACHE_FORMAT,
  FILE_CACHE_VERSION,
  type CacheWarningCode,
  type FileCacheOptions,
} from './file-cache';
