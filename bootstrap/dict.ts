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
import { SwitchyardError, type SwitchyardErrorCode } from '../lib/errors';
import { applyDelta } from '../lib/engine/delta';
import { markCompactList } from '../lib/engine/compact';
import { markValidated, PayloadError, readClientPayload, type ParseResult } from '../lib/payload';
import { FIRST_LOAD_PARSE_BYTES, readClientBody, yieldingControl } from '../lib/payload-slices';

/**
 * The codes a `BootstrapError` carries (see `SwitchyardErrorCode`): `FILE_NOT_FOUND` and
 * `FILE_UNREADABLE` from a file; `URL_INVALID`, `HTTP_STATUS` (with `status`),
 * `HTTP_TIMEOUT`, `HTTP_NETWORK` and `HTTP_BODY_TOO_LARGE` from a URL; `PAYLOAD_NOT_JSON`
 * and `PAYLOAD_INVALID` from any source.
 *
 * @group Errors
 */
export type BootstrapErrorCode = Extract<
  SwitchyardErrorCode,
  | 'FILE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'URL_INVALID'
  | 'HTTP_STATUS'
  | 'HTTP_TIMEOUT'
  | 'HTTP_NETWORK'
  | 'HTTP_BODY_TOO_LARGE'
  | 'PAYLOAD_NOT_JSON'
  | 'PAYLOAD_INVALID'
>;

/**
 * Thrown by the bootstrap loaders. The message never embeds the body or a header value.
 *
 * @group Errors
 */
export class BootstrapError extends SwitchyardError {
  /** Always `BootstrapError`, so logs and `err.name` checks tell it from other errors. */
  override readonly name = 'BootstrapError';
  /** What went wrong, for callers that branch on it. */
  declare readonly code: BootstrapErrorCode;
  /** The HTTP status, for `HTTP_STATUS`. */
  readonly status?: number;

  constructor(
    code: BootstrapErrorCode,
    /** Where the body came from: a file path, a URL without credentials and query, or `dict`. */
    readonly location: string,
    message: string,
    options?: {
      /** The HTTP status, for `HTTP_STATUS`. */
      status?: number;
      /** The lower-level error, when it holds no secret. */
      cause?: unknown;
    },
  ) {
    super(code, `bootstrap from ${location} failed: ${message}`, { cause: options?.cause });
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** A validated bootstrap body and the parts of it the parser had to ignore. */
export interface BootstrapResult {
  payload: FeaturesPayload;
  warnings: string[];
}

/**
 * Validates a bootstrap body: an object, or JSON text / a Buffer holding one, either a
 * full client-API body or a delta body (`{ events: [...] }`, as the delta endpoint and
 * the streaming API send). A delta is applied to no flags at all: one that starts with a
 * `hydration` is a complete state; one that does not serves only the flags its events
 * name, which a warning says (specification file 20 bootstraps that way); one with no
 * events holds nothing and is refused. Returns the full body without the parser's `kind` tag; throws
 * `BootstrapError` (`PAYLOAD_NOT_JSON` or `PAYLOAD_INVALID`), never a bare `SyntaxError`.
 */
export function parseBootstrapBody(body: unknown, source = 'dict'): BootstrapResult {
  let parsed;
  try {
    parsed = readClientPayload(body);
  } catch (err) {
    // The parser's messages already leave the body out, so it is safe as the cause.
    if (err instanceof PayloadError) throw new BootstrapError(err.code, source, err.message, { cause: err });
    throw err;
  }
  return bootstrapResultOf(parsed, source);
}

/**
 * `parseBootstrapBody` for a large body given as JSON text or bytes: the same result or
 * the same `BootstrapError`, with the text parsed element by element in slices
 * (lib/payload-slices.ts). A flag's parsed JSON is then validated and dropped at once,
 * instead of the whole parsed tree living through the garbage collections of its own
 * validation, and the event loop is not held for the whole parse. A body of up to
 * `slicedFrom` bytes (default `FIRST_LOAD_PARSE_BYTES`, lib/payload-slices.ts: a bootstrap
 * comes before the client serves anything) is read in one go (`readClientBody`); anything
 * but text or bytes goes to `parseBootstrapBody`.
 */
export async function parseBootstrapBodyInSlices(body: unknown, source = 'dict', slicedFrom = FIRST_LOAD_PARSE_BYTES): Promise<BootstrapResult> {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) return parseBootstrapBody(body, source);
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let parsed;
  try {
    parsed = await readClientBody(text, slicedFrom, yieldingControl);
  } catch (err) {
    // The parser's messages already leave the body out, so it is safe as the cause.
    if (err instanceof PayloadError) throw new BootstrapError(err.code, source, err.message, { cause: err });
    throw err;
  }
  return bootstrapResultOf(parsed, source);
}

function bootstrapResultOf(parsed: ParseResult, source: string): BootstrapResult {
  try {
    return fullBodyOf(parsed);
  } catch (err) {
    if (err instanceof PayloadError) throw new BootstrapError(err.code, source, err.message, { cause: err });
    throw err;
  }
}

/**
 * A parsed body as a full body, for a client that has no flags yet (a bootstrap, a
 * cached body): a delta is applied to no flags at all. One that starts with a `hydration`
 * is a complete state; one that does not serves only the flags its events name, which a
 * warning says (specification file 20 bootstraps that way). Throws `PayloadError`
 * (`PAYLOAD_INVALID`) for a delta with no events: it holds nothing.
 */
export function fullBodyOf(parsed: ParseResult): BootstrapResult {
  if (parsed.payload.kind === 'full') {
    const { kind: _kind, ...payload } = parsed.payload;
    return { payload: markValidated(payload), warnings: parsed.warnings };
  }
  const events = parsed.payload.events;
  if (events.length === 0) throw new PayloadError('PAYLOAD_INVALID', 'a delta body with no events holds no flags');
  const warnings = [...parsed.warnings];
  if (events[0]!.type !== 'hydration') {
    warnings.push('the delta body does not start with a hydration: it was applied to no flags, so only the flags its events name are served');
  }
  const state = applyDelta({ features: new Map(), segments: new Map() }, events);
  // Every flag came from a delta the door built: compact (lib/engine/compact.ts).
  return { payload: markValidated({ version: 2, features: markCompactList([...state.features.values()]), segments: [...state.segments.values()] }), warnings };
}
