/**
 * The one error vocabulary of switchyard. A failure of configuration, I/O or untrusted data
 * is a `SwitchyardError` whose `code` comes from one closed set, so a caller can branch on
 * the code without knowing which module failed, and one `instanceof` check catches them
 * all. OpenFeature's errors follow the same pattern. (A wrong argument type is still a
 * plain `TypeError` or `RangeError`, as everywhere in JavaScript.)
 *
 * Messages name what failed (an option, a path, a URL without credentials or query) but
 * never embed a body, a token or a header value: they end up in logs.
 */

/**
 * What went wrong, for callers that branch on it. The set is closed: a switch over it can be exhaustive.
 *
 * @group Errors
 */
export type SwitchyardErrorCode =
  /** A required client option is missing or unusable (see `ConfigError.option`). */
  | 'CONFIG_INVALID'
  /** A URL to bootstrap from is not a valid absolute http(s) URL. */
  | 'URL_INVALID'
  /** A file to bootstrap from does not exist. */
  | 'FILE_NOT_FOUND'
  /** A file to bootstrap from exists but cannot be read (permissions, a directory, I/O error). */
  | 'FILE_UNREADABLE'
  /** No complete response within the timeout. */
  | 'HTTP_TIMEOUT'
  /** The connection failed: refused, reset, dropped, DNS, TLS, or the request could not be prepared. */
  | 'HTTP_NETWORK'
  /** The request was aborted by its caller (the client is shutting down). */
  | 'HTTP_ABORTED'
  /** The server answered with a status the caller does not accept (see `status`), or a redirect that is not followed (to another origin, or a 303 to a POST). */
  | 'HTTP_STATUS'
  /** A response body grew past the size limit (`maxBodySize`, counted after decompression); the request was aborted. */
  | 'HTTP_BODY_TOO_LARGE'
  /** A body (from a server, a file, a URL or a string) is not JSON. */
  | 'PAYLOAD_NOT_JSON'
  /** A body is JSON but not a usable client-API body (no `features` array, a malformed delta, a delta where a full body is needed). */
  | 'PAYLOAD_INVALID'
  /** A `FileCache` file is not valid JSON, not a valid cache document, or nested too deeply to use; it is ignored and replaced on the next write. */
  | 'CACHE_CORRUPT'
  /** A `FileCache` file is JSON written by something else; it is ignored, then copied aside (`<file>.foreign-<time>`) and replaced on the next write. */
  | 'CACHE_FOREIGN'
  /** A `FileCache` file was written by a newer switchyard; it is ignored and replaced on the next write. */
  | 'CACHE_VERSION_UNSUPPORTED'
  /** A `FileCache` file exists but cannot be read; the cache starts without it. */
  | 'CACHE_READ_FAILED'
  /** A `FileCache` value could not be written (or serialised); it is kept in memory only. */
  | 'CACHE_WRITE_FAILED';

/**
 * Every `SwitchyardErrorCode`, by name, so code can compare against
 * `SwitchyardErrorCode.HTTP_TIMEOUT` instead of a string that a typo would break silently.
 * Frozen. (`satisfies` keeps it and the union in step: a code missing here, or one here
 * that the union lacks, does not compile.)
 *
 * @group Errors
 */
export const SwitchyardErrorCode = Object.freeze({
  /** A required client option is missing or unusable (see `ConfigError.option`). */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A URL to bootstrap from is not a valid absolute http(s) URL. */
  URL_INVALID: 'URL_INVALID',
  /** A file to bootstrap from does not exist. */
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  /** A file to bootstrap from exists but cannot be read (permissions, a directory, I/O error). */
  FILE_UNREADABLE: 'FILE_UNREADABLE',
  /** No complete response within the timeout. */
  HTTP_TIMEOUT: 'HTTP_TIMEOUT',
  /** The connection failed: refused, reset, dropped, DNS, TLS, or the request could not be prepared. */
  HTTP_NETWORK: 'HTTP_NETWORK',
  /** The request was aborted by its caller (the client is shutting down). */
  HTTP_ABORTED: 'HTTP_ABORTED',
  /** The server answered with a status the caller does not accept (see `status`), or a redirect that is not followed (to another origin, or a 303 to a POST). */
  HTTP_STATUS: 'HTTP_STATUS',
  /** A response body grew past the size limit (`maxBodySize`, counted after decompression); the request was aborted. */
  HTTP_BODY_TOO_LARGE: 'HTTP_BODY_TOO_LARGE',
  /** A body (from a server, a file, a URL or a string) is not JSON. */
  PAYLOAD_NOT_JSON: 'PAYLOAD_NOT_JSON',
  /** A body is JSON but not a usable client-API body (no `features` array, a malformed delta, a delta where a full body is needed). */
  PAYLOAD_INVALID: 'PAYLOAD_INVALID',
  /** A `FileCache` file is not valid JSON, not a valid cache document, or nested too deeply to use; it is ignored and replaced on the next write. */
  CACHE_CORRUPT: 'CACHE_CORRUPT',
  /** A `FileCache` file is JSON written by something else; it is ignored, then copied aside (`<file>.foreign-<time>`) and replaced on the next write. */
  CACHE_FOREIGN: 'CACHE_FOREIGN',
  /** A `FileCache` file was written by a newer switchyard; it is ignored and replaced on the next write. */
  CACHE_VERSION_UNSUPPORTED: 'CACHE_VERSION_UNSUPPORTED',
  /** A `FileCache` file exists but cannot be read; the cache starts without it. */
  CACHE_READ_FAILED: 'CACHE_READ_FAILED',
  /** A `FileCache` value could not be written (or serialised); it is kept in memory only. */
  CACHE_WRITE_FAILED: 'CACHE_WRITE_FAILED',
} as const satisfies { readonly [Code in SwitchyardErrorCode]: Code });

/**
 * The base class of switchyard's own errors: `ConfigError`, `HttpError`,
 * `PayloadError`, `BootstrapError` and `CacheWarning`. Each subclass keeps its own `name`
 * and fields and narrows `code` to the codes it can carry.
 *
 * @group Errors
 */
export abstract class SwitchyardError extends Error {
  constructor(
    /** What went wrong, for callers that branch on it. */
    readonly code: SwitchyardErrorCode,
    message: string,
    options?: {
      /** The lower-level error this one wraps, when it holds no secret. */
      cause?: unknown;
    },
  ) {
    // No `cause` key at all unless there is one, so logs do not print `[cause]: undefined`.
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}
