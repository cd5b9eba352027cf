/** Loaders behind `BaseCache.bootstrapFrom*`, usable on their own to validate a body. */
export { BootstrapError, parseBootstrapBody, type BootstrapErrorCode, type BootstrapResult } from './dict';
export { loadBootstrapFile } from './file';
export { loadBootstrapUrl, DEFAULT_BOOTSTRAP_TIMEOUT, type BootstrapUrlOptions } from './url';
