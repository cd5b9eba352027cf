/**
 * The one door untrusted JSON enters through. Server responses, cache files, bootstrap
 * files, URLs and dicts all pass `parseClientPayload`, which returns typed, normalised
 * data or throws a `PayloadError`. Bytes and text reach JSON through `decodePayloadText`
 * only, so a body is read the same way whichever source it came from.
 *
 * The body as a whole must have the right shape (an object with a `features` array, or a
 * delta `events` array). Inside it we are lenient on purpose: a malformed constraint or
 * strategy is kept in a form that evaluates to false, so one bad part never takes the
 * other flags down with it. Unknown fields are ignored.
 */
import type {
  ClientPayload,
  FeaturesPayload,
  ConstraintDefinition,
  DeltaEvent,
  Dependency,
  FeatureDefinition,
  SegmentDefinition,
  StrategyDefinition,
  VariantDefinition,
  VariantOverride,
  VariantPayload,
} from './types';
import { SwitchyardError, type SwitchyardErrorCode } from './errors';
import { EMPTY, Interner, isDeferred, markCompact, markCompactList, markDeferred } from './engine/compact';

/**
 * Thrown when a payload cannot be used at all. The message never embeds the payload.
 *
 * @group Errors
 */
export class PayloadError extends SwitchyardError {
  /** Always `PayloadError`, so logs and `err.name` checks tell it from other errors. */
  override readonly name = 'PayloadError';
  /** `PAYLOAD_NOT_JSON` for text that does not parse, else `PAYLOAD_INVALID`. */
  declare readonly code: Extract<SwitchyardErrorCode, 'PAYLOAD_NOT_JSON' | 'PAYLOAD_INVALID'>;

  constructor(code: PayloadError['code'], message: string) {
    super(code, message);
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * The string items of a JSON list (numbers and booleans as text), interned; the shared
 * empty list when there are none.
 */
function strings(value: unknown, intern: Interner): string[] {
  return exactList(value, (v) => {
    const s = str(v);
    return s === undefined ? undefined : intern.str(s);
  });
}

/**
 * `map` of each item of a JSON list, leaving out what it answers `undefined` for, in an
 * array of exactly that length (one grown by `push` keeps spare capacity, up to 16 slots
 * for a single item); the shared empty list when nothing is left.
 */
function exactList<T>(raw: unknown, map: (item: unknown) => T | undefined): T[] {
  if (!Array.isArray(raw) || raw.length === 0) return EMPTY as never[];
  const out = new Array<T>(raw.length);
  let kept = 0;
  for (let i = 0; i < raw.length; i++) {
    const item = map(raw[i]);
    if (item !== undefined) out[kept++] = item;
  }
  if (kept === raw.length) return out;
  return kept === 0 ? (EMPTY as never[]) : out.slice(0, kept);
}

/**
 * One constraint, in the compact form (./engine/compact.ts): every key present, in this
 * order, so all constraints share one shape.
 */
function compactConstraint(
  intern: Interner,
  contextName: string,
  operator: string,
  values: string[],
  value: string | undefined,
  inverted: boolean,
  caseInsensitive: boolean,
  malformed: string | undefined,
): ConstraintDefinition {
  const constraint: ConstraintDefinition = {
    contextName: intern.str(contextName),
    operator: intern.str(operator),
    values,
    value: intern.str(value),
    inverted,
    caseInsensitive,
  };
  if (malformed !== undefined) constraint.malformed = malformed;
  return constraint;
}

function parseConstraint(raw: unknown, intern: Interner): ConstraintDefinition {
  if (!isObject(raw)) return compactConstraint(intern, '', '', EMPTY as never[], undefined, false, false, 'is not an object');
  if (typeof raw.contextName !== 'string' || typeof raw.operator !== 'string') {
    return compactConstraint(
      intern,
      typeof raw.contextName === 'string' ? raw.contextName : '',
      typeof raw.operator === 'string' ? raw.operator : '',
      EMPTY as never[],
      undefined,
      false,
      false,
      typeof raw.contextName !== 'string' ? 'has no contextName' : 'has no operator',
    );
  }
  // `value` may legitimately be null on the wire (REGEX with a null pattern is false).
  let value: string | undefined;
  let malformed: string | undefined;
  if (raw.value !== undefined && raw.value !== null) {
    value = str(raw.value);
    if (value === undefined) malformed = `on "${raw.contextName.slice(0, 60)}" has a value that is not a string or number`;
  }
  return compactConstraint(intern, raw.contextName, raw.operator, strings(raw.values, intern), value, raw.inverted === true, raw.caseInsensitive === true, malformed);
}

function parseConstraints(raw: unknown, intern: Interner): ConstraintDefinition[] {
  if (!Array.isArray(raw) || raw.length === 0) return EMPTY as never[];
  const out = new Array<ConstraintDefinition>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = parseConstraint(raw[i], intern);
  return out;
}

function parsePayloadValue(raw: unknown, intern: Interner): VariantPayload | undefined {
  if (!isObject(raw) || typeof raw.type !== 'string') return undefined;
  const value = str(raw.value);
  // Frozen: evaluation results share it.
  return Object.freeze({ type: intern.str(raw.type), value: intern.str(value ?? '') });
}

function parseOverrides(raw: unknown, intern: Interner): VariantOverride[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const out = exactList<VariantOverride>(raw, (o) =>
    isObject(o) && typeof o.contextName === 'string' ? { contextName: intern.str(o.contextName), values: strings(o.values, intern) } : undefined,
  );
  return out.length > 0 ? out : undefined;
}

function parseVariants(raw: unknown, intern: Interner): VariantDefinition[] {
  return exactList<VariantDefinition>(raw, (v) => {
    if (!isObject(v) || typeof v.name !== 'string') return undefined;
    const weight = typeof v.weight === 'number' ? v.weight : Number(v.weight);
    return {
      name: intern.str(v.name),
      weight: Number.isFinite(weight) && weight > 0 ? Math.floor(weight) : 0,
      weightType: typeof v.weightType === 'string' ? intern.str(v.weightType) : undefined,
      stickiness: typeof v.stickiness === 'string' && v.stickiness !== '' ? intern.str(v.stickiness) : undefined,
      payload: parsePayloadValue(v.payload, intern),
      overrides: parseOverrides(v.overrides, intern),
    };
  });
}

function parseParameters(raw: unknown, intern: Interner): Record<string, string> {
  const params: Record<string, string> = {};
  if (!isObject(raw)) return params;
  for (const key of Object.keys(raw)) {
    const s = str(raw[key]);
    // Property names from JSON.parse are internalized (shared) already.
    if (s !== undefined) params[key] = intern.str(s);
  }
  return params;
}

/**
 * The segment id one entry of a strategy's `segments` refers to: a number, or numeric
 * text. An unreadable reference still has to make the strategy false, so it is NaN: no
 * segment has that id. Shared with the engine's load-time check of deferred flags.
 * @internal
 */
export function segmentIdOf(id: unknown): number {
  const n = typeof id === 'number' ? id : typeof id === 'string' && id.trim() !== '' ? Number(id) : NaN;
  return Number.isFinite(n) ? n : NaN;
}

function parseSegmentIds(raw: unknown): number[] {
  return exactList(raw, segmentIdOf);
}

/**
 * The name of a strategy as the engine looks it up: an unreadable strategy (not an object,
 * no string name) is named '', an unknown strategy, so it never turns a flag on.
 * @internal
 */
export function strategyNameOf(raw: unknown): string {
  return isObject(raw) && typeof raw.name === 'string' ? raw.name : '';
}

/**
 * The segment references of a strategy, unread: none for an unreadable strategy (it is
 * off whatever they say, see `strategyNameOf`).
 * @internal
 */
export function segmentRefsOf(raw: unknown): readonly unknown[] {
  return isObject(raw) && typeof raw.name === 'string' ? listOf(raw.segments) : EMPTY;
}

/**
 * The parent flag a dependency names; '' (no flag has that name) for one that cannot be
 * read, which therefore cannot be satisfied.
 * @internal
 */
export function dependencyNameOf(raw: unknown): string {
  return isObject(raw) && typeof raw.feature === 'string' ? raw.feature : '';
}

/**
 * A JSON list as the parsers read it: the array, or none for anything else.
 * @internal
 */
export function listOf(raw: unknown): readonly unknown[] {
  return Array.isArray(raw) ? raw : EMPTY;
}

function parseStrategy(raw: unknown, intern: Interner): StrategyDefinition {
  if (!isObject(raw) || typeof raw.name !== 'string') {
    // An unreadable strategy must not turn a flag on: an empty name is an unknown strategy.
    return { name: strategyNameOf(raw), parameters: {}, constraints: EMPTY as never[], segments: EMPTY as never[], variants: EMPTY as never[] };
  }
  return {
    name: intern.str(strategyNameOf(raw)),
    parameters: parseParameters(raw.parameters, intern),
    constraints: parseConstraints(raw.constraints, intern),
    segments: parseSegmentIds(segmentRefsOf(raw)),
    variants: parseVariants(raw.variants, intern),
  };
}

function parseStrategies(raw: unknown, intern: Interner): StrategyDefinition[] {
  if (!Array.isArray(raw) || raw.length === 0) return EMPTY as never[];
  const out = new Array<StrategyDefinition>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = parseStrategy(raw[i], intern);
  return out;
}

function parseDependencies(raw: unknown, intern: Interner): Dependency[] {
  return exactList<Dependency>(raw, (d) => {
    // A dependency we cannot read cannot be satisfied.
    if (!isObject(d) || typeof d.feature !== 'string') return { feature: dependencyNameOf(d), enabled: true, variants: undefined };
    const variants = Array.isArray(d.variants) && d.variants.length > 0 ? strings(d.variants, intern) : undefined;
    return { feature: intern.str(dependencyNameOf(d)), enabled: d.enabled !== false, variants };
  });
}

/** Whether a flag of a body can be used at all: an object with a non-empty string name. */
function hasUsableName(raw: unknown): raw is Json & { name: string } {
  return isObject(raw) && typeof raw.name === 'string' && raw.name !== '';
}

/**
 * One flag of a full body, checked only for what loading needs (`parseFeature`'s
 * `undefined` case: an object with a usable name) and marked deferred
 * (./engine/compact.ts): the engine checks and compacts the rest when the flag is first
 * needed. `parseFeature` of it later gives what it would give now, since the parsed JSON
 * is never changed.
 * @internal
 */
export function deferFeature(raw: unknown): FeatureDefinition | undefined {
  return hasUsableName(raw) ? markDeferred(raw as unknown as FeatureDefinition) : undefined;
}

/**
 * Parses one feature; `undefined` when it has no usable name. The definition is in the
 * engine's compact form (./engine/compact.ts: strings shared through `intern`, empty lists
 * shared and frozen), frozen itself. Not marked: the list it goes into is
 * (`markCompactList`), or, in a delta, the definition itself (`markCompact`); the engine's
 * own check of a deferred flag needs no mark.
 */
export function parseFeature(raw: unknown, intern: Interner = new Interner()): FeatureDefinition | undefined {
  if (!hasUsableName(raw)) return undefined;
  return Object.freeze<FeatureDefinition>({
    name: intern.str(raw.name),
    enabled: raw.enabled === true,
    strategies: parseStrategies(raw.strategies, intern),
    variants: parseVariants(raw.variants, intern),
    dependencies: parseDependencies(raw.dependencies, intern),
    impressionData: raw.impressionData === true,
    type: typeof raw.type === 'string' ? intern.str(raw.type) : undefined,
    project: typeof raw.project === 'string' ? intern.str(raw.project) : undefined,
    stale: typeof raw.stale === 'boolean' ? raw.stale : undefined,
    description: typeof raw.description === 'string' ? intern.str(raw.description) : undefined,
  });
}

/** Parses one segment (compact, as `parseFeature`); `undefined` when it has no usable id. */
export function parseSegment(raw: unknown, intern: Interner = new Interner()): SegmentDefinition | undefined {
  if (!isObject(raw)) return undefined;
  const id = typeof raw.id === 'number' ? raw.id : Number(raw.id);
  if (!Number.isFinite(id)) return undefined;
  return markCompact<SegmentDefinition>({
    id,
    name: typeof raw.name === 'string' ? intern.str(raw.name) : undefined,
    constraints: parseConstraints(raw.constraints, intern),
  });
}

/**
 * One delta event, checked; a hydration (a whole flag set) one flag or segment per step,
 * its flags deferred with `defer` as a full body's are (`deferFeature`).
 */
function* parseEvent(raw: unknown, index: number, warnings: string[], intern: Interner, defer: boolean): Generator<void, DeltaEvent | undefined, void> {
  if (!isObject(raw) || typeof raw.type !== 'string') {
    throw new PayloadError('PAYLOAD_INVALID', `events[${index}] has no type`);
  }
  const eventId = typeof raw.eventId === 'number' ? raw.eventId : 0;
  switch (raw.type) {
    case 'hydration': {
      const features = markCompactList(yield* parseListInSteps(raw.features, defer ? deferFeature : parseFeature, `events[${index}].features`, warnings, intern));
      const segments = yield* parseListInSteps(raw.segments, parseSegment, `events[${index}].segments`, warnings, intern);
      return { type: 'hydration', eventId, features, segments };
    }
    case 'feature-updated': {
      const feature = parseFeature(raw.feature, intern);
      if (!feature) throw new PayloadError('PAYLOAD_INVALID', `events[${index}] (feature-updated) has no usable feature`);
      return { type: 'feature-updated', eventId, feature: markCompact(feature) };
    }
    case 'feature-removed':
      if (typeof raw.featureName !== 'string') {
        throw new PayloadError('PAYLOAD_INVALID', `events[${index}] (feature-removed) has no featureName`);
      }
      return {
        type: 'feature-removed',
        eventId,
        featureName: raw.featureName,
        ...(typeof raw.project === 'string' ? { project: raw.project } : {}),
      };
    case 'segment-updated': {
      const segment = parseSegment(raw.segment, intern);
      if (!segment) throw new PayloadError('PAYLOAD_INVALID', `events[${index}] (segment-updated) has no usable segment`);
      return { type: 'segment-updated', eventId, segment };
    }
    case 'segment-removed': {
      const id = typeof raw.segmentId === 'number' ? raw.segmentId : Number(raw.segmentId);
      if (!Number.isFinite(id)) throw new PayloadError('PAYLOAD_INVALID', `events[${index}] (segment-removed) has no segmentId`);
      return { type: 'segment-removed', eventId, segmentId: id };
    }
    default:
      // Newer servers may add event types; skipping one we do not know is safer than
      // refusing the whole delta.
      warnings.push(`events[${index}] has unknown type "${raw.type.slice(0, 40)}" and was ignored`);
      return undefined;
  }
}

/** What `parseClientPayload` returns: the payload and the parts it had to ignore. */
export interface ParseResult {
  /** The validated body, tagged `full` or `delta`. */
  payload: ClientPayload;
  /** One message per part that was ignored (unusable flags, segments, unknown event types). Empty when all was used. */
  warnings: string[];
}

const BOM = 0xfeff;

/**
 * Turns the bytes (or text) of a JSON document into the text to parse: UTF-8, with one
 * leading byte-order mark removed (editors on Windows save JSON with one, and JSON.parse
 * refuses it). Every payload source and the cache file decode through here. Throws
 * `PayloadError` (`PAYLOAD_INVALID`) for bytes too many to become one string.
 * @internal
 */
export function decodePayloadText(input: string | Uint8Array): string {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
    } catch {
      throw new PayloadError('PAYLOAD_INVALID', `payload of ${input.byteLength} bytes is too large to decode`);
    }
  }
  return text.charCodeAt(0) === BOM ? text.slice(1) : text;
}

/** What a JSON value is, for a message: `null`, `an array`, `a string`, ... (`typeof` calls null and arrays objects). */
function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'nothing';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/**
 * Validates a client-API body: an object, or its JSON text as a string or bytes (UTF-8,
 * a leading byte-order mark allowed). Accepts version 1 and 2 bodies, with or without
 * top-level `segments`, and delta bodies (`{ events: [...] }`).
 * Throws `PayloadError` when the body cannot be used at all.
 */
export function parseClientPayload(input: unknown): ParseResult {
  return readPayload(input, false);
}

/**
 * `parseClientPayload` for the client's own loading: the same checks of the body, the same
 * result or `PayloadError`, but each flag of a full body is only checked for a usable name
 * and left deferred (`deferFeature`), to be checked when first needed. Its `features`
 * are for the engine (and caches) only: read through a `Snapshot`, never directly.
 * @internal
 */
export function readClientPayload(input: unknown): ParseResult {
  return readPayload(input, true);
}

function readPayload(input: unknown, defer: boolean): ParseResult {
  if (typeof input === 'object' && input !== null && validated.has(input)) return readValidated(input as FeaturesPayload, defer);
  let body = input;
  if (typeof input === 'string' || Buffer.isBuffer(input) || input instanceof Uint8Array) body = parseJsonText(decodePayloadText(input));
  const steps = validateBody(body, defer);
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}

/**
 * Full bodies this door produced (a bootstrap's, the flags the client serves), stored in
 * a cache as objects: reading one back (`start()` after `bootstrapFromDict`) need not
 * validate it again. Held weakly; a body read from a file or a server is never in it.
 */
const validated = new WeakSet<object>();

/**
 * Marks a full body built from validated definitions, so that `parseClientPayload` takes
 * it as it is. Returns it.
 * @internal
 */
export function markValidated<T extends FeaturesPayload>(body: T): T {
  validated.add(body);
  return body;
}

function readValidated(body: FeaturesPayload, defer: boolean): ParseResult {
  const version = body.version;
  // Flags the client left deferred are checked now for a caller that reads definitions.
  const features = defer ? body.features : markCompactList(body.features.map((f) => (isDeferred(f) ? parseFeature(f)! : f)));
  const payload: ClientPayload = { kind: 'full', version, features, segments: body.segments ?? [] };
  if (body.query !== undefined) payload.query = body.query;
  if (body.meta !== undefined) payload.meta = body.meta;
  return { payload, warnings: version > 2 ? [newerVersionWarning(version)] : [] };
}

/**
 * The warning for a body version newer than 2.
 * @internal
 */
export function newerVersionWarning(version: number): string {
  return `payload version ${version} is newer than this client knows; reading it as version 2`;
}

/**
 * `JSON.parse` with the door's error: `PAYLOAD_NOT_JSON`, naming the position only.
 * @internal
 */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's message quotes the start of the text, which may hold customer data or secrets:
    // keep only the position.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new PayloadError('PAYLOAD_NOT_JSON', `payload is not valid JSON${position === undefined ? '' : ` (at position ${position})`}`);
  }
}

/**
 * The validation of a parsed body, one flag, segment or event per step, so a caller can
 * spread a large body over several turns of the event loop (lib/payload-slices.ts);
 * `parseClientPayload` runs it to the end at once. Throws `PayloadError` as that does.
 * With `defer`, a full body's flags are left deferred (`deferFeature`, as `readClientPayload`).
 * @internal
 */
export function* validateBody(body: unknown, defer = false): Generator<void, ParseResult, void> {
  if (!isObject(body)) {
    throw new PayloadError('PAYLOAD_INVALID', `payload must be a JSON object, got ${jsonKind(body)}`);
  }
  const warnings: string[] = [];
  // One table of shared strings for the whole body (./engine/compact.ts).
  const intern = new Interner();
  if (Array.isArray(body.events) && body.features === undefined) {
    const events: DeltaEvent[] = [];
    for (let i = 0; i < body.events.length; i++) {
      const event = yield* parseEvent(body.events[i], i, warnings, intern, defer);
      if (event) events.push(event);
      yield;
    }
    return { payload: { kind: 'delta', events }, warnings };
  }
  if (!Array.isArray(body.features)) {
    throw new PayloadError('PAYLOAD_INVALID', 'payload has no "features" array (nor a delta "events" array)');
  }
  const version = typeof body.version === 'number' ? body.version : 1;
  if (version > 2) warnings.push(newerVersionWarning(version));
  const features = markCompactList(yield* parseListInSteps(body.features, defer ? deferFeature : parseFeature, 'features', warnings, intern));
  const segments = yield* parseListInSteps(body.segments, parseSegment, 'segments', warnings, intern);
  const payload: ClientPayload = { kind: 'full', version, features, segments };
  if (body.query !== undefined) payload.query = body.query;
  if (body.meta !== undefined) payload.meta = body.meta;
  return { payload, warnings };
}

function* parseListInSteps<T>(
  raw: unknown,
  parse: (v: unknown, intern: Interner) => T | undefined,
  what: string,
  warnings: string[],
  intern: Interner,
): Generator<void, T[], void> {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new PayloadError('PAYLOAD_INVALID', `"${what}" must be an array`);
  const out: T[] = [];
  for (let i = 0; i < raw.length; i++) {
    const parsed = parse(raw[i], intern);
    if (parsed === undefined) warnings.push(`${what}[${i}] was ignored: it has no usable name or id`);
    else out.push(parsed);
    yield;
  }
  return out;
}
