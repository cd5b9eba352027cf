/**
 * Shared core of the bootstrap loaders: turns a body from a dict, a file or a URL into a
 * validated full client-API body, through the same parser as server responses.
 *
 * Errors are `BootstrapError`s with a `code` a caller can branch on. Their messages name
 * the source (a path, or a URL without credentials or query) but never quote the body or
 * a header value: a bootstrap body can hold customer ids in constraints and a header a
 * token, and both end up in logs.
 */
import type { FeaturesPayload } from '../lib/types';
import { parseClientPayload, PayloadError } from '../lib/payload';

/** Why a bootstrap failed. */
export type BootstrapErrorCode =
  /** The file does not exist. */
  | 'file-not-found'
  /** The file exists but cannot be read (permissions, a directory, I/O error). */
  | 'file-unreadable'
  /** The body is not JSON. */
  | 'invalid-json'
  /** The body is JSON but not a usable full client-API body. */
  | 'invalid-payload'
  /** The URL is not a valid absolute http(s) URL. */
  | 'invalid-url'
  /** The URL answered with a status other than 2xx. */
  | 'http-status'
  /** The URL did not answer within the timeout. */
  | 'timeout'
  /** The URL could not be reached (refused, reset, DNS, TLS). */
  | 'network';

/** Thrown by the bootstrap loaders. The message never embeds the body or a header value. */
export class BootstrapError extends Error {
  /** Always `BootstrapError`, so logs and `err.name` checks tell it from other errors. */
  override readonly name = 'BootstrapError';
  /** The HTTP status, for `http-status`. */
  readonly status?: number;

  constructor(
    /** What went wrong, for callers that branch on it. */
    readonly code: BootstrapErrorCode,
    /** Where the body came from: a file path, a URL without credentials and query, or `dict`. */
    readonly source: string,
    message: string,
    options?: {
      /** The HTTP status, for `http-status`. */
      status?: number;
      cause?: unknown;
    },
  ) {
    super(`bootstrap from ${source} failed: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** A validated bootstrap body and the parts of it the parser had to ignore. */
export interface BootstrapResult {
  payload: FeaturesPayload;
  warnings: string[];
}

/**
 * JSON.parse messages quote the start of the text on recent V8 versions, so only the
 * position is kept.
 */
function describeJsonError(err: unknown, length: number): string {
  const position = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  const where = position ? ` (error at position ${position[1]} of ${length} characters)` : ` (${length} characters)`;
  return `the body is not valid JSON${where}`;
}

/**
 * Validates a bootstrap body: an object, or JSON text / a Buffer holding one. Returns the
 * full body without the parser's `kind` tag; throws `BootstrapError` (`invalid-json` or
 * `invalid-payload`), never a bare `SyntaxError`.
 */
export function parseBootstrapBody(body: unknown, source = 'dict'): BootstrapResult {
  let value = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const text = body.toString();
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BootstrapError('invalid-json', source, describeJsonError(err, text.length));
    }
  }
  let parsed;
  try {
    parsed = parseClientPayload(value);
  } catch (err) {
    if (err instanceof PayloadError) throw new BootstrapError('invalid-payload', source, err.message, { cause: err });
    throw err;
  }
  if (parsed.payload.kind !== 'full') {
    throw new BootstrapError('invalid-payload', source, 'a bootstrap body must be a full client-API body, not a delta');
  }
  const { kind: _kind, ...payload } = parsed.payload;
  return { payload, warnings: parsed.warnings };
}
