/**
 * Events the client reports: readiness, new flags, impressions, errors and warnings. They
 * reach the `eventCallback` option and listeners added with `client.on()`.
 *
 * A listener that throws is caught and reported as an `error` event (origin `callback`);
 * it never breaks evaluation or polling. Errors and warnings that nobody listens to are
 * written to the console, so a misconfigured client is never silent.
 */
import mitt, { type Emitter } from 'mitt';
import type { Context, FeatureDefinition } from './types';
import type { FetchMode } from './options';

/**
 * Event type names.
 *
 * @group Events
 */
export const UnleashEvents = {
  /** Once: the client has flags for the first time (from the cache, a bootstrap or the server). */
  READY: 'ready',
  /** A new payload from the server was applied. */
  FETCHED: 'fetched',
  /** A flag with `impressionData` was evaluated. */
  IMPRESSION: 'impression',
  /** Something failed; the client goes on with what it has. */
  ERROR: 'error',
  /** Something odd the client worked around (a clamped option, a part of a payload it ignored). */
  WARNING: 'warning',
  /** How the client learns of changes: the mode at start, and every change (a streaming failover, a return). */
  MODE: 'mode',
} as const;

/**
 * Where an error or warning came from.
 *
 * @group Events
 */
export type EventOrigin =
  /** An option was invalid and was replaced. */
  | 'config'
  /** Reading or writing the cache. */
  | 'cache'
  /** Fetching flags from the server. */
  | 'fetch'
  /** Sending metrics. */
  | 'metrics'
  /** Registering the client. */
  | 'register'
  /** Evaluating a flag (a throwing fallback function or custom strategy). */
  | 'evaluation'
  /** The engine compiling or evaluating flag data. */
  | 'engine'
  /** An event listener, `eventCallback` or evaluation hook threw. */
  | 'callback'
  /** The instance's fleet (the `fleet` option): its store failed, or flags it delivered are unusable. */
  | 'fleet';

/**
 * Where flags came from: the cache (last good flags of an earlier run), a bootstrap body,
 * the server, a `flagSource` that pushes them (such as `TestData`), or the leader of the
 * instance's fleet (the `fleet` option, `switchyard-flags/redis`).
 *
 * @group Events
 */
export type FlagOrigin = 'cache' | 'bootstrap' | 'server' | 'pushed' | 'fleet';

/**
 * The client has flags for the first time. Fires at most once per client.
 *
 * @group Events
 */
export interface ReadyEvent {
  /** Tells this event from the others in an `eventCallback`. */
  type: 'ready';
  /** Where the first flags came from: until the server answers, they may be older than it. */
  from: FlagOrigin;
}

/**
 * A new payload from the server was applied (never on 304), or, in a fleet, one the leader
 * fetched and this instance took from the fleet's store.
 *
 * @group Events
 */
export interface FetchedEvent {
  /** Tells this event from the others in an `eventCallback`. */
  type: 'fetched';
  /**
   * Every flag the client now has (after a delta: the resulting state), checked. Built on
   * first read: the client checks a flag's definition when it is first needed, and reading
   * this checks every flag (about 6 µs each); `flagNames` costs a list of names. The
   * definitions are the client's own, frozen (`getFlags()` gives copies).
   */
  readonly features: readonly FeatureDefinition[];
  /** The names of every flag the client now has, in payload order. */
  readonly flagNames: readonly string[];
  /** The ETag the server sent with it, if any. */
  etag?: string;
}

/**
 * A flag with `impressionData: true` was evaluated by `isEnabled` or `getVariant`.
 *
 * @group Events
 */
export interface ImpressionEvent {
  /** Tells this event from the others in an `eventCallback`. */
  type: 'impression';
  /** Which call evaluated the flag. */
  eventType: 'isEnabled' | 'getVariant';
  /** A UUID, unique per event, for de-duplication downstream. */
  eventId: string;
  /** The flag evaluated. */
  featureName: string;
  /** The context as evaluated, client defaults (appName, environment) filled in. */
  context: Context;
  /** The result: for `getVariant`, whether the flag was enabled (`feature_enabled`). */
  enabled: boolean;
  /** The variant name returned, for `getVariant` only. */
  variant?: string;
}

/**
 * Something failed. The client keeps serving the last good flags.
 *
 * @group Events
 */
export interface ClientErrorEvent {
  /** Tells this event from the others in an `eventCallback`. */
  type: 'error';
  /** The part of the client that failed: decides whether a human must act (`config`, a 401 in `fetch`) or it will pass. */
  origin: EventOrigin;
  /** Its message never holds a token or a payload. Often an `HttpError` (with `code`, `status`). */
  error: Error;
}

/**
 * Something odd that the client worked around.
 *
 * @group Events
 */
export interface ClientWarningEvent {
  /** Tells this event from the others in an `eventCallback`. */
  type: 'warning';
  /** The part of the client that worked around something. */
  origin: EventOrigin;
  /** What was odd and what the client did instead; never holds a token or a payload. */
  message: string;
}

/**
 * How the client learns of changes: fired when `start()` begins fetching (with no
 * `previous`), and at every change of it since, such as a streaming client failing over to
 * polling and returning to streaming. `client.status().mode` tells the same at any time.
 *
 * @group Events
 */
export interface ModeEvent {
  /** Tells this event from the others in an `eventCallback`. */
  type: 'mode';
  /**
   * The mode now: `'polling'`, `'delta'` or `'streaming'` (an offline client fetches
   * nothing and emits no `mode` event; only `status().mode` can be `'offline'`).
   */
  mode: FetchMode;
  /** The mode before; undefined for the first event. */
  previous?: FetchMode;
  /** Why, in words: `start`, a status, a count of failures, the server's `fetch-mode` hint. */
  reason: string;
}

/**
 * Any event the client reports; `type` tells which.
 *
 * @group Events
 */
export type UnleashEvent = ReadyEvent | FetchedEvent | ImpressionEvent | ClientErrorEvent | ClientWarningEvent | ModeEvent;

/**
 * The type names of `UnleashEvent`.
 *
 * @group Events
 */
export type UnleashEventType = UnleashEvent['type'];

/**
 * The event of one type.
 *
 * @group Events
 */
export type UnleashEventOf<T extends UnleashEventType> = Extract<
  UnleashEvent,
  {
    /** The event type picked. */
    type: T;
  }
>;

/**
 * Receives every event (the `eventCallback` option).
 *
 * @group Events
 */
export type EventCallback = (event: UnleashEvent) => void;

/** Where unheard errors and warnings go; `console` by default. */
export interface EventLog {
  error(message: string): void;
  warn(message: string): void;
}

type EventMap = { [T in UnleashEventType]: UnleashEventOf<T> };

/** Wraps mitt so that no listener can throw into the code that emits. */
export class EventHub {
  private readonly bus: Emitter<EventMap> = mitt<EventMap>();
  private readonly wrapped = new Map<Function, Map<string, (event: never) => void>>();
  private readonly callback: EventCallback | undefined;
  private readonly log: EventLog;
  private reporting = false;

  constructor(callback?: EventCallback, log: EventLog = console) {
    this.callback = typeof callback === 'function' ? callback : undefined;
    this.log = log;
  }

  /** Adds a listener for one event type; returns a function that removes it. */
  on<T extends UnleashEventType>(type: T, handler: (event: UnleashEventOf<T>) => void): () => void {
    const safe = (event: UnleashEventOf<T>): void => {
      try {
        handler(event);
      } catch (err) {
        this.listenerFailed(event, err);
      }
    };
    let byType = this.wrapped.get(handler);
    if (!byType) this.wrapped.set(handler, (byType = new Map()));
    const previous = byType.get(type);
    if (previous) this.bus.off(type, previous as never);
    byType.set(type, safe as never);
    this.bus.on(type, safe as never);
    return () => this.off(type, handler);
  }

  /** Removes a listener added with `on`. */
  off<T extends UnleashEventType>(type: T, handler: (event: UnleashEventOf<T>) => void): void {
    const byType = this.wrapped.get(handler);
    const safe = byType?.get(type);
    if (!byType || !safe) return;
    this.bus.off(type, safe as never);
    byType.delete(type);
    if (byType.size === 0) this.wrapped.delete(handler);
  }

  /** Whether anyone would receive an event of `type`: lets callers skip building it. */
  wants(type: UnleashEventType): boolean {
    return this.callback !== undefined || (this.bus.all.get(type)?.length ?? 0) > 0;
  }

  /** Delivers an event to the callback and the listeners of its type. Never throws. */
  emit(event: UnleashEvent): void {
    const heard = this.wants(event.type);
    if (this.callback !== undefined) {
      try {
        this.callback(event);
      } catch (err) {
        this.listenerFailed(event, err);
      }
    }
    this.bus.emit(event.type, event as never);
    if (!heard) this.logUnheard(event);
  }

  /** Emits an error event. */
  error(origin: EventOrigin, error: unknown): void {
    this.emit({ type: 'error', origin, error: error instanceof Error ? error : new Error(String(error)) });
  }

  /** Emits a warning event. */
  warn(origin: EventOrigin, message: string): void {
    this.emit({ type: 'warning', origin, message });
  }

  private listenerFailed(event: UnleashEvent, err: unknown): void {
    // A listener that throws on the report of a listener failure would loop forever:
    // such a failure goes to the log instead.
    if (this.reporting) {
      this.log.error(`[switchyard] an event listener threw while handling a listener error: ${describe(err)}`);
      return;
    }
    this.reporting = true;
    try {
      const error = new Error(`an event listener threw on a "${event.type}" event: ${describe(err)}`);
      this.emit({ type: 'error', origin: 'callback', error });
    } finally {
      this.reporting = false;
    }
  }

  private logUnheard(event: UnleashEvent): void {
    if (event.type === 'error') this.log.error(`[switchyard] ${event.origin}: ${event.error.message}`);
    else if (event.type === 'warning') this.log.warn(`[switchyard] ${event.origin}: ${event.message}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
