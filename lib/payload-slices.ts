/**
 * `readClientPayload` (the client's door: flags deferred) spread over turns of the event loop, for bodies too large to parse
 * in one go: `JSON.parse` of a 50,000-flag body (tens of megabytes) and its validation
 * hold the event loop for several hundred milliseconds, during which a service answers
 * nothing.
 *
 * The body's bytes are split, without decoding, at the elements of its top-level
 * `features`, `segments` and `events` arrays (and of a delta event's own `features` and
 * `segments`: a hydration is a whole flag set); each element is decoded and parsed with
 * `JSON.parse` on its own (native speed, a few hundred bytes at a time), and the door's
 * validation (`validateBody`) then runs one flag per step. Between steps the caller's
 * `SliceControl` decides when to yield. A general-purpose streaming JSON parser would give
 * the same slices, but tokenises every byte in JavaScript. Measured on the bench's
 * 10,000-flag body (7.3 MB, fed in 64 KB chunks, elements of `features` emitted):
 * `JSON.parse` of the whole 42 ms, `@streamparser/json` 0.0.26 233 ms, `stream-json` 3.8.0
 * 1,232 ms; this split plus native parsing costs about what `JSON.parse` does (at 50,000
 * flags, split, parse and validation took 592 ms against 749 ms for the synchronous door).
 * That matters because the CPU time is spent whichever way it is sliced: it is what the
 * last byte waits for before the new flags are served.
 *
 * The split only has to find element boundaries: `JSON.parse` validates each element, and
 * the split checks the punctuation between them. Whenever the split finds anything it does
 * not expect, it hands the whole body to `readClientPayload`, whose error (or answer) is
 * then the answer: both paths give the same result or the same `PayloadError` by
 * construction, and the split never has to explain an error itself. The one exception is
 * a body over `ONE_GO_FALLBACK_BYTES` (8 MiB) that does not parse: it is refused with a
 * `PAYLOAD_NOT_JSON` of the split's own words (where reading stopped), since parsing it
 * whole would hold the event loop (see `unreadable`).
 */
import { deferFeature, newerVersionWarning, parseJsonText, parseSegment, PayloadError, readClientPayload, validateBody, type ParseResult } from './payload';
import { Interner } from './engine/compact';
import type { ClientPayload, FeatureDefinition, SegmentDefinition } from './types';

/** How a sliced job is paced. The client's `yieldingControl` is the usual one. */
export interface SliceControl {
  /** Whether the current slice has used its budget (called between small steps). */
  shouldYield(): boolean;
  /** Ends the current slice: resolves on a later turn of the event loop. */
  pause(): Promise<void>;
}

/** Thrown by the split when the bytes are not what it expects: the synchronous door decides. */
class Unexpected extends Error {}

/**
 * Bodies a client reads before it serves any flag (a bootstrap, the first fetch) are
 * parsed in one go up to this many bytes (or characters), in slices above it. Higher than
 * the bound for a running client's updates (`SLICED_PARSE_BYTES` in lib/poller.ts, 1 MiB),
 * which keeps a serving client smooth: slicing costs a third more time to ready (the
 * bench's 10,000-flag body, 7.3 MB: ready from a bootstrap in 80–96 ms in one go against
 * 116–137 ms in slices, on a busy machine). The bound keeps the one-go parse near 50 ms
 * (about 170 MB/s here), half the 100 ms stall goal of issue 12.
 * @internal
 */
export const FIRST_LOAD_PARSE_BYTES = 8 * 1024 * 1024;

/**
 * A body the split cannot read (invalid JSON, not an object) is parsed whole, for the
 * one-go door's exact error, up to this many bytes; a larger one is refused as it stands
 * (see `unreadable`). The one-go bound of a first load: about 50 ms of parsing.
 * @internal
 */
export const ONE_GO_FALLBACK_BYTES = FIRST_LOAD_PARSE_BYTES;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Reads a JSON document's top-level object from bytes, one member or array element per call. */
class Splitter {
  pos = 0;
  constructor(private readonly bytes: Buffer) {
    // A UTF-8 byte-order mark, as decodePayloadText removes it.
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) this.pos = 3;
  }

  private skipSpace(): void {
    const b = this.bytes;
    while (this.pos < b.length && isSpace(b[this.pos]!)) this.pos++;
  }

  /** The next non-space byte, consumed. */
  private next(): number {
    this.skipSpace();
    if (this.pos >= this.bytes.length) throw new Unexpected();
    return this.bytes[this.pos++]!;
  }

  private peek(): number {
    this.skipSpace();
    if (this.pos >= this.bytes.length) throw new Unexpected();
    return this.bytes[this.pos]!;
  }

  expect(byte: number): void {
    if (this.next() !== byte) throw new Unexpected();
  }

  /** After `{` or `,`: whether the object ends here (consuming the `}`). */
  objectEnds(first: boolean): boolean {
    const b = this.next();
    if (b === CLOSE_BRACE) {
      if (!first) throw new Unexpected();
      return true;
    }
    this.pos--;
    return false;
  }

  /** After a member: `,` (more follow) or `}` (the end). */
  moreMembers(): boolean {
    const b = this.next();
    if (b === COMMA) return true;
    if (b === CLOSE_BRACE) return false;
    throw new Unexpected();
  }

  /** A member's key, decoded. */
  key(): string {
    if (this.peek() !== QUOTE) throw new Unexpected();
    const start = this.pos;
    const end = this.valueEnd(start);
    this.pos = end;
    this.expect(COLON);
    return parseJsonText(this.bytes.toString('utf8', start, end)) as string;
  }

  /** Whether the next value is an array (its `[` is not consumed). */
  arrayFollows(): boolean {
    return this.peek() === OPEN_BRACKET;
  }

  /** Whether the document's first non-space byte is `byte` (nothing is consumed). */
  startsWith(byte: number): boolean {
    this.skipSpace();
    return this.pos < this.bytes.length && this.bytes[this.pos] === byte;
  }

  /** Whether the document starts as a number or a literal (`true`, `false`, `null`). */
  startsWithScalar(): boolean {
    this.skipSpace();
    const b = this.bytes[this.pos];
    return b !== undefined && (b === 0x2d || (b >= 0x30 && b <= 0x39) || b === 0x74 || b === 0x66 || b === 0x6e);
  }

  /** Whether the next value is an object (its `{` is not consumed). */
  objectFollows(): boolean {
    return this.peek() === OPEN_BRACE;
  }

  /** The next value, parsed. */
  value(): unknown {
    this.skipSpace();
    const start = this.pos;
    const end = this.valueEnd(start);
    this.pos = end;
    return parseJsonText(this.bytes.toString('utf8', start, end));
  }

  /** After `[` or an element: whether another element follows (consuming the `,` or `]`). */
  moreElements(first: boolean): boolean {
    const b = this.next();
    if (b === CLOSE_BRACKET) return false;
    if (first) {
      this.pos--;
      return true;
    }
    if (b === COMMA) return true;
    throw new Unexpected();
  }

  /** Only space may follow the top-level object. */
  end(): void {
    this.skipSpace();
    if (this.pos !== this.bytes.length) throw new Unexpected();
  }

  /**
   * Where the value starting at `start` ends: a string to its closing quote, an object or
   * array to its matching bracket (brackets counted, not matched: `JSON.parse` of the
   * slice rejects a mismatch), anything else to the next delimiter.
   */
  private valueEnd(start: number): number {
    const b = this.bytes;
    const n = b.length;
    let i = start;
    const first = b[i];
    if (first === QUOTE) return this.stringEnd(i + 1);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      while (i < n) {
        const c = b[i]!;
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break;
        i++;
      }
      if (i === start) throw new Unexpected();
      return i;
    }
    let depth = 0;
    while (i < n) {
      const c = b[i]!;
      if (c === QUOTE) {
        i = this.stringEnd(i + 1);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1;
      }
      i++;
    }
    throw new Unexpected();
  }

  /** From just inside a string, the index after its closing quote. */
  private stringEnd(from: number): number {
    const b = this.bytes;
    let i = from;
    for (;;) {
      // indexOf runs natively; a backslash before the quote found means it may be escaped.
      const q = b.indexOf(QUOTE, i);
      if (q < 0) throw new Unexpected();
      let slashes = 0;
      for (let k = q - 1; k >= from && b[k] === BACKSLASH; k--) slashes++;
      if (slashes % 2 === 0) return q + 1;
      i = q + 1;
    }
  }
}

/** A `features` or `segments` list validated element by element as it was split. */
interface ValidatedList {
  items: unknown[];
  warnings: string[];
}

/**
 * Splits and parses the body into the object `JSON.parse` would give, yielding between
 * elements. The elements of `features` and `segments` are validated as soon as they are
 * parsed (`validated` gets the lists): a segment is checked and compacted, a flag only
 * checked for a usable name and left deferred (`deferFeature`), as `readClientPayload` does.
 */
async function parseInSlices(split: Splitter, control: SliceControl, validated: Map<string, ValidatedList>): Promise<Record<string, unknown>> {
  // One table of shared strings for the whole body (./engine/compact.ts).
  const intern = new Interner();
  split.expect(OPEN_BRACE);
  const body: Record<string, unknown> = {};
  if (split.objectEnds(true)) {
    split.end();
    return body;
  }
  do {
    const key = split.key();
    // Any array member is split (a body of the wrong shape, `{"toggles":[…]}` from a
    // misconfigured URL, must not be parsed in one piece either); `features`, `segments`
    // and `events` are checked as they go.
    if (split.arrayFollows()) {
      const items: unknown[] = [];
      const check = key === 'features' ? deferFeature : key === 'segments' ? parseSegment : undefined;
      const warnings: string[] = [];
      // A delta's events: a hydration holds a whole flag set, split like a full body's.
      const read = key === 'events' ? () => eventInSlices(split, control) : () => split.value();
      await eachElement(split, control, read, (raw, index) => {
        if (check === undefined) items.push(raw);
        else {
          // What validateBody says of the same element, at the same index.
          const item = check(raw, intern);
          if (item === undefined) warnings.push(`${key}[${index}] was ignored: it has no usable name or id`);
          else items.push(item);
        }
      });
      if (check !== undefined) validated.set(key, { items, warnings });
      // As JSON.parse: a repeated key keeps the last value; __proto__ is an own property.
      Object.defineProperty(body, key, { value: items, writable: true, enumerable: true, configurable: true });
    } else {
      Object.defineProperty(body, key, { value: split.value(), writable: true, enumerable: true, configurable: true });
    }
  } while (split.moreMembers());
  split.end();
  return body;
}

/**
 * An array, at the split's position: its `[`, then each element read by `read` (parsed)
 * and handed to `take` with its index, yielding between elements as `control` decides,
 * then its `]`. Throws `Unexpected` (or `PayloadError`) where the bytes are not an array.
 */
async function eachElement(
  split: Splitter,
  control: SliceControl,
  read: () => unknown,
  take: (raw: unknown, index: number) => void,
): Promise<void> {
  split.expect(OPEN_BRACKET);
  for (let index = 0; split.moreElements(index === 0); index++) {
    take(await read(), index);
    if (control.shouldYield()) await control.pause();
  }
}

/**
 * One element of `events`, as `JSON.parse` gives it: an object's `features` and
 * `segments` arrays (a hydration's) are split into their elements, parsed one by one,
 * yielding between them; anything else is parsed whole. The door checks the event later.
 */
async function eventInSlices(split: Splitter, control: SliceControl): Promise<unknown> {
  if (!split.objectFollows()) return split.value();
  split.expect(OPEN_BRACE);
  const event: Record<string, unknown> = {};
  if (split.objectEnds(true)) return event;
  do {
    const key = split.key();
    let value: unknown;
    if ((key === 'features' || key === 'segments') && split.arrayFollows()) {
      const items: unknown[] = [];
      await eachElement(split, control, () => split.value(), (raw) => items.push(raw));
      value = items;
    } else {
      value = split.value();
    }
    // As JSON.parse: a repeated key keeps the last value; __proto__ is an own property.
    Object.defineProperty(event, key, { value, writable: true, enumerable: true, configurable: true });
  } while (split.moreMembers());
  return event;
}

/**
 * A body the split cannot read as an object: the one-go door's answer (its error, with
 * the position `JSON.parse` names), up to `ONE_GO_FALLBACK_BYTES`. Above that, parsing it
 * whole just to word the error would hold the event loop as long as the slices were meant
 * to avoid (a proxy that truncates a 36 MB body would do so on every poll: about 230 ms,
 * measured). So a top-level array is read in slices (well-formed: the door's "not an
 * object", `PAYLOAD_INVALID`), a string or number is parsed as the door does (one value),
 * and anything that does not parse is `PAYLOAD_NOT_JSON` naming the byte where reading
 * stopped (the split reads every well-formed object). Throws `PayloadError`.
 */
async function unreadable(bytes: Buffer, at: number, control: SliceControl): Promise<ParseResult> {
  if (bytes.length <= ONE_GO_FALLBACK_BYTES) return readClientPayload(bytes);
  const split = new Splitter(bytes);
  // A top-level array is read element by element: well-formed, it is the one-go door's
  // "not an object" (PAYLOAD_INVALID); any other value (a string, a number) is one value,
  // parsed as the one-go door does. Whatever does not parse is PAYLOAD_NOT_JSON.
  if (split.startsWith(OPEN_BRACKET)) {
    try {
      await eachElement(split, control, () => split.value(), () => undefined);
      split.end();
    } catch (err) {
      if (!(err instanceof Unexpected || err instanceof PayloadError)) throw err;
      throw notJson(bytes, split.pos);
    }
    throw new PayloadError('PAYLOAD_INVALID', 'payload must be a JSON object, got an array');
  }
  if (split.startsWith(QUOTE) || split.startsWithScalar()) return readClientPayload(bytes);
  throw notJson(bytes, at);
}

function notJson(bytes: Buffer, at: number): PayloadError {
  return new PayloadError('PAYLOAD_NOT_JSON', `payload is not valid JSON (the ${bytes.length} bytes could not be read past byte ${at}; not parsed further)`);
}

/**
 * `readClientPayload` for bytes, spread over turns of the event loop as `control`
 * decides: the same `ParseResult`, or the same `PayloadError`, as the synchronous door
 * gives for the same bytes. A body the split cannot read is parsed by the synchronous
 * door (in one go), so an invalid body is reported exactly as before.
 */
export async function parseClientPayloadInSlices(bytes: Buffer, control: SliceControl): Promise<ParseResult> {
  let body: Record<string, unknown>;
  const validated = new Map<string, ValidatedList>();
  const split = new Splitter(bytes);
  try {
    body = await parseInSlices(split, control, validated);
  } catch (err) {
    if (err instanceof Unexpected || err instanceof PayloadError) return unreadable(bytes, split.pos, control);
    throw err;
  }
  const features = validated.get('features');
  const segments = validated.get('segments');
  const ownSegments = segments !== undefined && body.segments === segments.items ? segments : undefined;
  const usableSegments = ownSegments !== undefined || body.segments === undefined || body.segments === null;
  if (features !== undefined && body.features === features.items && usableSegments) {
    // A full body (it has a features array), validated already.
    const version = typeof body.version === 'number' ? body.version : 1;
    const warnings = version > 2 ? [newerVersionWarning(version)] : [];
    // A loop, not push(...): a body of 200,000 unusable flags would overflow the call's arguments.
    for (const w of features.warnings) warnings.push(w);
    if (ownSegments !== undefined) for (const w of ownSegments.warnings) warnings.push(w);
    const payload: ClientPayload = {
      kind: 'full',
      version,
      features: features.items as FeatureDefinition[],
      segments: (ownSegments?.items ?? []) as SegmentDefinition[],
    };
    if (body.query !== undefined) payload.query = body.query;
    if (body.meta !== undefined) payload.meta = body.meta;
    return { payload, warnings };
  }
  // A delta, or a body the door refuses (segments the split did not check, as they are no
  // array: validateBody refuses them without the body being parsed again): validated in
  // steps. Segments validated in a body that turns out not to be full are ignored there,
  // as validateBody ignores them.
  const steps = validateBody(body, true);
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
    if (control.shouldYield()) await control.pause();
  }
}

/**
 * The client's door for a body as it arrived (text or bytes), paced: in one go up to
 * `oneGoBytes` bytes, else `parseClientPayloadInSlices` with the pacing `control()` gives;
 * the same `ParseResult`, or the same `PayloadError`, either way. Text with a lone
 * surrogate would not survive the trip through UTF-8 bytes unchanged: it is read in one
 * go. The poller, the stream and the bootstrap read bodies through this.
 * @internal
 */
export function readClientBody(body: string | Buffer, oneGoBytes: number, control: () => SliceControl): ParseResult | Promise<ParseResult> {
  let bytes: Buffer;
  if (typeof body === 'string') {
    // Bytes, not characters, are what the bound counts (a character is one to three bytes).
    const size = body.length > oneGoBytes / 3 ? Buffer.byteLength(body, 'utf8') : body.length;
    if (size <= oneGoBytes || !(body as unknown as { isWellFormed(): boolean }).isWellFormed()) return readClientPayload(body);
    bytes = Buffer.from(body, 'utf8');
  } else {
    if (body.length <= oneGoBytes) return readClientPayload(body);
    bytes = body;
  }
  return parseClientPayloadInSlices(bytes, control());
}

/**
 * A `SliceControl` that yields to the event loop (`setImmediate`, so timers and I/O run)
 * once a slice has run `budgetMs` milliseconds or `maxSteps` steps, whichever comes
 * first. The step bound makes the number of yields of a job independent of the
 * machine's speed; `onPause` (optional) counts them.
 */
export function yieldingControl(budgetMs = 8, maxSteps = 2000, onPause?: () => void): SliceControl {
  let started = performance.now();
  let steps = 0;
  return {
    shouldYield() {
      if (++steps >= maxSteps) return true;
      // The clock is read every 16 steps: a step is a microsecond or two.
      return (steps & 15) === 0 && performance.now() - started >= budgetMs;
    },
    pause() {
      onPause?.();
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          started = performance.now();
          steps = 0;
          resolve();
        }),
      );
    },
  };
}

/** Arrays longer than this are stringified element by element, in slices. */
const SLICED_STRINGIFY_ITEMS = 2000;
/** Elements joined into one piece of the text. */
const PIECE_ITEMS = 1000;

/**
 * `JSON.stringify(value)` spread over turns of the event loop as `control` decides, for a
 * cache write of a large payload. Returns the text in pieces (their concatenation is the
 * text) so a writer can write them one by one, never building one string of tens of
 * megabytes. A plain object's arrays of more than 2,000 elements (`features`) are
 * written one element per step; anything else (a `toJSON`, a class instance, a small
 * value) is `JSON.stringify` at once. The same text, and `undefined` for a value JSON
 * cannot hold; throws where `JSON.stringify` throws.
 */
export async function stringifyInSlices(value: unknown, control: SliceControl): Promise<string[] | undefined> {
  if (!isPlainRecord(value) || !Object.values(value).some((v) => Array.isArray(v) && v.length > SLICED_STRINGIFY_ITEMS)) {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : [text];
  }
  const pieces: string[] = [];
  let open = '{';
  for (const [key, member] of Object.entries(value)) {
    if (Array.isArray(member) && member.length > SLICED_STRINGIFY_ITEMS && typeof (member as { toJSON?: unknown }).toJSON !== 'function') {
      let piece: string[] = [];
      pieces.push(`${open}${JSON.stringify(key)}:[`);
      for (let i = 0; i < member.length; i++) {
        // As JSON.stringify in an array: what it cannot hold is null.
        piece.push(JSON.stringify(member[i]) ?? 'null');
        if (piece.length === PIECE_ITEMS || i === member.length - 1) {
          pieces.push(`${i < PIECE_ITEMS ? '' : ','}${piece.join(',')}`);
          piece = [];
        }
        if (control.shouldYield()) await control.pause();
      }
      pieces.push(']');
      open = ',';
      continue;
    }
    const text = JSON.stringify(member);
    // As JSON.stringify in an object: a member it cannot hold is left out.
    if (text === undefined) continue;
    pieces.push(`${open}${JSON.stringify(key)}:${text}`);
    open = ',';
  }
  pieces.push(open === '{' ? '{}' : '}');
  return pieces;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}
