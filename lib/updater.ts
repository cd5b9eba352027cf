/**
 * How the client learns of flag changes, in one of three modes, and the rules for moving
 * between them.
 *
 * - `polling`: `GET /client/features` on a timer (`lib/poller.ts`).
 * - `delta`: `GET /client/delta` on the same timer, the last event id as ETag.
 * - `streaming`: Server-Sent Events from `/client/streaming` (`lib/streaming.ts`), resumed
 *   with `Last-Event-ID`; on trouble it fails over to polling by the rules of the official
 *   SDKs (statuses 401, 403, 404, 429 and 501 at once; 408, 500, 502, 503, 504, network
 *   errors and dropped or silent streams after 5 within 60 s; the server's `fetch-mode`
 *   event), and, unlike them, tries streaming again on a backoff, or when a polling answer
 *   carries `fetch-mode: streaming` (no sooner than that backoff allows once a try has
 *   failed), and returns to it once the server accepts.
 *
 * Only a whole state (a full body, or a delta that holds a hydration) makes an untrusted state
 * trusted again; a delta of no events is `unchanged` on a stream and in a poll alike.
 *
 * Event ids must increase: a delta whose ids do not follow the last one applied, or a
 * message that fails to parse or apply, means the state can no longer be trusted, and the
 * next request asks for a fresh hydration (a stream reconnects without `Last-Event-ID`, a
 * delta poll goes without `If-None-Match`).
 *
 * New flags reach the client only through `onOutcome`, whose answer (or its promise) is
 * `false` when the payload could not be applied; messages are applied one at a time, in order.
 */
import { HttpError } from './http';
import { PayloadError, type ParseResult } from './payload';
import { readClientBody, yieldingControl } from './payload-slices';
import { oneGoBytes, Poller, type PollOutcome } from './poller';
import { timerDelay, withJitter, type Scheduler, type TimerHandle } from './scheduler';
import { StreamConnection, type StreamFailure, type StreamMessage } from './streaming';
import type { FetchMode } from './options';
import type { ClientPayload, DeltaEvent } from './types';
import type { UnleashApi } from './unleash-api';


/** Statuses that end streaming at once: a retry of the same request cannot succeed soon. */
export const HARD_STREAM_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 429, 501]);
/** Soft failures (408, 5xx, network, a dropped or silent stream) that, this many within `SOFT_FAILURE_WINDOW`, end streaming. */
export const SOFT_FAILURE_LIMIT = 5;
/** Milliseconds over which soft failures are counted. */
export const SOFT_FAILURE_WINDOW = 60_000;
/** The first wait before reconnecting after a soft failure; doubles with each one in the window. */
export const RECONNECT_BASE = 1_000;
/** The longest wait before reconnecting. */
export const RECONNECT_MAX = 30_000;
/** After a failover, the first wait before streaming is tried again; doubles with each refusal. */
export const STREAM_RETRY_BASE = 60_000;
/** The longest wait between two tries of streaming after a failover. */
export const STREAM_RETRY_MAX = 30 * 60_000;

export interface UpdaterOptions {
  mode: FetchMode;
  api: UnleashApi;
  scheduler: Scheduler;
  /** Milliseconds between polls (polling, delta, and streaming's failover). */
  interval: number;
  /** Milliseconds a stream may stay silent. */
  readTimeout: number;
  /** The most bytes of one body or stream message. */
  maxBodySize: number;
  /** The `url` option, for the poller's hints. */
  url: string;
  /** The ETag of the flags the client holds now. */
  etag: () => string | undefined;
  /** Whether the client serves flags already (see `PollerOptions.serving`). Default: serving. */
  serving?: () => boolean;
  /** Takes each outcome; answers `false` (or a promise of it) when an update could not be applied. */
  onOutcome: (outcome: PollOutcome) => unknown;
  /** The transport in use changed (`previous` undefined: the first one). */
  onMode: (mode: FetchMode, previous: FetchMode | undefined, reason: string) => void;
  /** Something the client worked around (a dropped stream it reconnects). */
  onWarning: (message: string) => void;
}

/**
 * An ETag or SSE id as an event id: digits, optionally quoted or weak (`W/"42"`);
 * undefined for anything else (a `/client/features` ETag).
 */
export function parseEventId(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(value.trim());
  return match === null ? undefined : Number(match[1]);
}

/**
 * Whether `events` may follow `lastId`. Event ids (0: none given) must increase, from
 * `lastId` on; a hydration restarts the count. Without a hydration, the message id must be
 * above `lastId` too. Returns the id the state is at afterwards (the message id, else the
 * last event id), or why the events cannot be trusted.
 */
export function checkEventOrder(
  events: readonly DeltaEvent[],
  messageId: number | undefined,
  lastId: number | undefined,
): { ok: true; id: number | undefined } | { ok: false; reason: string } {
  let previous = lastId;
  let hydrated = false;
  let lastEvent: number | undefined;
  for (const event of events) {
    if (event.type === 'hydration') {
      previous = undefined;
      hydrated = true;
    }
    if (event.eventId <= 0) continue;
    if (previous !== undefined && event.eventId <= previous) return { ok: false, reason: `event id ${event.eventId} does not follow ${previous}` };
    previous = event.eventId;
    lastEvent = event.eventId;
  }
  if (!hydrated && events.length > 0 && lastId !== undefined && messageId !== undefined && messageId <= lastId) {
    return { ok: false, reason: `message id ${messageId} does not follow ${lastId}` };
  }
  return { ok: true, id: messageId ?? lastEvent ?? (events.length === 0 ? lastId : undefined) };
}

/** Whether a payload is a whole state (a full body, or a delta with a hydration), after which the state can be trusted again. */
function restoresState(payload: ClientPayload): boolean {
  return payload.kind === 'full' || payload.events.some((event) => event.type === 'hydration');
}

export class Updater {
  private current: FetchMode;
  private stopped = false;
  private poller: Poller | undefined;
  private connection: StreamConnection | undefined;
  /** The connection is a try of streaming while polling after a failover. */
  private probing = false;
  private failedOver = false;
  private reconnectTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  private probeFailures = 0;
  /** When streaming may be tried again on the server's word (`fetch-mode` header): after the backoff of the last refusal. */
  private probeAllowedAt = 0;
  private probeReason = '';
  /** When recent soft failures of the stream happened. */
  private softFailures: number[] = [];
  /** The ETag the last poll went out with. */
  private sentEtag: string | undefined;
  /** The next request must ask for a hydration: the state can no longer be trusted. */
  private rehydrate = false;
  /** Stream messages, applied one at a time in order. */
  private applying: Promise<void> = Promise.resolve();
  private resolveFirst: (() => void) | undefined;
  private readonly first: Promise<void>;
  /** Set by `pause` (a fleet follower): nothing is fetched until `resume`. */
  private paused = false;
  private started = false;
  /** `resume` calls waiting for the next outcome (flags applied, or a failure). */
  private settleWaiters: (() => void)[] = [];

  constructor(private readonly options: UpdaterOptions) {
    this.current = options.mode;
    this.first = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  /** The transport in use now. */
  get mode(): FetchMode {
    return this.current;
  }

  /** Starts; resolves with the first outcome (flags applied, or a failure). Never rejects. */
  start(): Promise<void> {
    this.started = true;
    this.options.onMode(this.current, undefined, 'start');
    if (this.current === 'streaming') this.connect();
    else this.startPoller(this.current === 'delta' ? 'delta' : 'features');
    return this.first;
  }

  /**
   * Stops fetching (an instance following its fleet's leader): closes the stream, clears
   * the reconnect and retry timers, and schedules no poll; a poll in flight still completes
   * and is reported. Idempotent; `resume` starts again.
   */
  pause(): void {
    if (this.stopped) return;
    this.paused = true;
    this.clearTimer('reconnectTimer');
    this.clearTimer('probeTimer');
    this.probing = false;
    this.connection?.close();
    this.connection = undefined;
    this.poller?.pause();
  }

  /**
   * Fetches again in the current mode, after `pause` or instead of `start` (a fleet member
   * that leads, or is on its own). With `fresh`, the next request asks for everything (no
   * ETag, no `Last-Event-ID`) and its answer is applied even when it is the body held
   * already. Resolves once that request has settled (flags applied or a failure); never rejects.
   */
  resume(fresh = false): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const wasPaused = this.paused;
    this.paused = false;
    if (!this.started) {
      this.started = true;
      this.options.onMode(this.current, undefined, 'start');
    }
    if (fresh) this.rehydrate = true;
    const streaming = this.current === 'streaming';
    // Already running and nothing new asked: a stream still open was never paused, and a
    // poller neither paused nor asked for a fresh state goes on as it was.
    const running = streaming ? this.connection !== undefined : this.poller !== undefined && !wasPaused;
    if (running && !fresh) return Promise.resolve();
    const settled = new Promise<void>((resolve) => this.settleWaiters.push(resolve));
    if (streaming) {
      this.connection?.close();
      this.connect();
    } else if (this.poller === undefined) {
      this.startPoller(this.current === 'delta' ? 'delta' : 'features', fresh);
    } else {
      void this.poller.resume(fresh);
    }
    return settled;
  }

  /** Stops every request and timer. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.resolveFirst?.();
    for (const resolve of this.settleWaiters.splice(0)) resolve();
    this.clearTimer('reconnectTimer');
    this.clearTimer('probeTimer');
    this.connection?.close();
    this.connection = undefined;
    this.poller?.stop();
  }

  /** Resolves once nothing is in flight (after `stop`). */
  async idle(): Promise<void> {
    await Promise.all([this.poller?.idle(), this.applying, ...this.retired]);
  }

  /** Pollers stopped on a return to streaming, until their last request has settled. */
  private retired: Promise<void>[] = [];

  private retire(): void {
    const poller = this.poller;
    if (poller === undefined) return;
    poller.stop();
    this.poller = undefined;
    const settled = poller.idle().then(() => {
      this.retired = this.retired.filter((p) => p !== settled);
    });
    this.retired.push(settled);
  }

  private firstDone(): void {
    this.resolveFirst?.();
    this.resolveFirst = undefined;
    for (const resolve of this.settleWaiters.splice(0)) resolve();
  }

  private setMode(mode: FetchMode, reason: string): void {
    if (mode === this.current) return;
    const previous = this.current;
    this.current = mode;
    this.options.onMode(mode, previous, reason);
  }

  private clearTimer(which: 'reconnectTimer' | 'probeTimer'): void {
    const timer = this[which];
    if (timer !== undefined) this.options.scheduler.clearTimeout(timer);
    this[which] = undefined;
  }

  /** Hands an outcome to the client; resolves with whether it was applied. */
  private async deliver(outcome: PollOutcome): Promise<boolean> {
    try {
      return (await this.options.onOutcome(outcome)) !== false;
    } catch {
      return false;
    }
  }

  // ---- polling and delta polling ----

  private startPoller(path: 'features' | 'delta', fresh = false): void {
    const poller: Poller = new Poller({
      api: this.options.api,
      scheduler: this.options.scheduler,
      interval: this.options.interval,
      url: this.options.url,
      path,
      etag: () => {
        // Kept: a delta answers the request it was asked with, whatever the client holds when it lands.
        this.sentEtag = path === 'delta' && this.rehydrate ? undefined : this.options.etag();
        return this.sentEtag;
      },
      onOutcome: (outcome): Promise<void> | undefined => this.onPoll(poller, path, outcome),
      ...(this.options.serving === undefined ? {} : { serving: this.options.serving }),
      onFetchMode: (mode) => {
        // At most one try per backoff period: a server that asks on every answer while its
        // stream stays broken must not get a try (and an error) per poll.
        const { scheduler } = this.options;
        if (mode === 'streaming' && this.options.mode === 'streaming' && this.failedOver && !this.probing && scheduler.now() >= this.probeAllowedAt) {
          this.clearTimer('probeTimer');
          this.probe('the server asked for streaming (fetch-mode header)');
        }
      },
    });
    this.poller = poller;
    if (fresh) void poller.resume(true);
    else void poller.start();
  }

  private onPoll(poller: Poller, path: 'features' | 'delta', outcome: PollOutcome): Promise<void> | undefined {
    // The promise lets the poller schedule its next fetch only once these flags are served.
    if (this.stopped || poller !== this.poller) return undefined;
    if (outcome.kind === 'failed' && outcome.fatal) {
      // 401/403: polling has stopped, and streaming with the same token would fare no better.
      this.clearTimer('probeTimer');
      this.connection?.close();
      this.connection = undefined;
    }
    if (path === 'delta' && outcome.kind === 'updated' && outcome.payload.kind === 'delta') {
      const order = checkEventOrder(outcome.payload.events, parseEventId(outcome.etag), parseEventId(this.sentEtag));
      if (!order.ok) {
        this.rehydrate = true;
        const url = this.options.api.shownPollUrl('delta');
        const error = new HttpError('PAYLOAD_INVALID', url, `GET ${url}: ${order.reason}; asking for a fresh hydration`);
        void this.deliver({ kind: 'failed', error, fatal: false });
        this.firstDone();
        return undefined;
      }
      const etag = outcome.etag ?? (order.id === undefined ? undefined : String(order.id));
      const restores = restoresState(outcome.payload);
      return this.deliver({ ...outcome, etag }).then((applied) => {
        // Asked for a fresh state, a partial delta is applied but leaves the state untrusted:
        // only a hydration (or a full body) makes it whole again.
        if (!applied) this.rehydrate = true;
        else if (restores) this.rehydrate = false;
        this.firstDone();
      });
    }
    return this.deliver(outcome).then((applied) => {
      if (path === 'delta' && outcome.kind === 'updated') {
        if (!applied) this.rehydrate = true;
        else if (restoresState(outcome.payload)) this.rehydrate = false;
      }
      this.firstDone();
    });
  }

  // ---- streaming ----

  /** The event id to resume after, when the flags held are the state at that id. */
  private resumeId(): string | undefined {
    if (this.rehydrate) return undefined;
    const id = parseEventId(this.options.etag());
    return id === undefined ? undefined : String(id);
  }

  private connect(): void {
    if (this.stopped) return;
    const { api, scheduler } = this.options;
    const connection: StreamConnection = new StreamConnection({
      open: (lastEventId, signal) => api.openStream(lastEventId, signal),
      url: api.streamingUrl,
      shownUrl: api.shownStreamingUrl,
      lastEventId: this.resumeId(),
      scheduler,
      readTimeout: this.options.readTimeout,
      maxMessageSize: this.options.maxBodySize,
      onOpen: () => undefined,
      onMessage: (message) => this.onMessage(connection, message),
      onFailure: (failure) => this.onFailure(connection, failure),
    });
    this.connection = connection;
    void connection.start();
  }

  private onMessage(connection: StreamConnection, message: StreamMessage): void {
    if (this.stopped || connection !== this.connection) return;
    // Every message, `fetch-mode` included, waits its turn: one handled ahead of the flags
    // received before it would replace the connection they are applied for.
    this.applying = this.applying.then(() => this.handleMessage(connection, message));
  }

  private async handleMessage(connection: StreamConnection, message: StreamMessage): Promise<void> {
    if (this.stopped || connection !== this.connection) return;
    if (message.event === 'fetch-mode') {
      if (message.data.trim().toLowerCase() === 'polling') {
        // The server asked: no retry on a timer; a `fetch-mode: streaming` header brings it back.
        if (this.probing) this.endProbe(false, false);
        else this.failover('the server asked for polling (SSE event fetch-mode)', false);
      }
      return;
    }
    if (message.event !== 'unleash-connected' && message.event !== 'unleash-updated') {
      // Not an Unleash event (an `event: error` the server sent, say): the stream is fine.
      // Its data is not quoted: it may hold anything.
      this.options.onWarning(`the stream from ${this.options.api.shownStreamingUrl} carried a message named "${message.event.slice(0, 50)}" (${message.data.length} characters), which is not an Unleash event; it was ignored`);
      return;
    }
    await this.applyMessage(connection, message);
  }

  /** What happens after a message could not be used: the words for a message. */
  private afterDistrust(): string {
    return this.probing ? 'polling goes on, and streaming is tried again later' : 'reconnecting for a fresh hydration';
  }

  /**
   * A message's data through the client's door, as the poller reads a body: in one go up
   * to `SLICED_PARSE_BYTES` (`FIRST_LOAD_PARSE_BYTES` while the client serves no flags
   * yet), else split and parsed in slices that yield to the event loop (a hydration of
   * 50,000 flags is tens of megabytes). Throws or rejects with `PayloadError`.
   */
  private parseMessage(data: string): ParseResult | Promise<ParseResult> {
    return readClientBody(data, oneGoBytes(this.options.serving), () => {
      // A stopped updater ends the parse at its next slice (`destroy()` must not wait for it).
      const control = yieldingControl();
      return {
        shouldYield: () => control.shouldYield(),
        pause: async () => {
          await control.pause();
          if (this.stopped) throw new Error('the client stopped while the message was read');
        },
      };
    });
  }

  private async applyMessage(connection: StreamConnection, message: StreamMessage): Promise<void> {
    const url = this.options.api.shownStreamingUrl;
    let outcome: PollOutcome;
    try {
      const parsed = await this.parseMessage(message.data);
      // A large message is read over several turns: the client may have stopped, or the
      // stream been replaced, meanwhile; its flags then belong to no current stream.
      if (this.stopped || connection !== this.connection) return;
      const { payload, warnings } = parsed;
      let id = parseEventId(message.id);
      if (payload.kind === 'delta') {
        const order = checkEventOrder(payload.events, id, parseEventId(this.resumeId()));
        if (!order.ok) throw new PayloadError('PAYLOAD_INVALID', order.reason);
        id = order.id;
      }
      outcome =
        payload.kind === 'delta' && payload.events.length === 0
          ? { kind: 'unchanged' }
          : { kind: 'updated', payload, etag: id === undefined ? undefined : String(id), warnings };
    } catch (err) {
      // Stopped, or the stream replaced, while a large message was read: nothing to report.
      if (this.stopped || connection !== this.connection) return;
      const reason = err instanceof PayloadError ? err.message : String(err);
      const error = new HttpError(err instanceof PayloadError ? err.code : 'PAYLOAD_INVALID', url, `GET ${url}: the "${message.event}" message is unusable (${reason}); ${this.afterDistrust()}`);
      await this.deliver({ kind: 'failed', error, fatal: false });
      this.distrust(connection);
      return;
    }
    const applied = await this.deliver(outcome);
    if (this.stopped || connection !== this.connection) return;
    if (!applied) {
      this.options.onWarning(`the "${message.event}" message from ${url} could not be applied; ${this.afterDistrust()}`);
      this.distrust(connection);
      return;
    }
    if (outcome.kind === 'updated' && restoresState(outcome.payload)) this.rehydrate = false;
    // The server accepted the stream and its data applies: it is healthy.
    this.softFailures = [];
    this.firstDone();
    if (this.probing) this.endProbe(true);
  }

  /** The state can no longer be trusted: reconnect without Last-Event-ID. */
  private distrust(connection: StreamConnection): void {
    this.rehydrate = true;
    connection.close();
    if (connection !== this.connection) return;
    this.connection = undefined;
    this.firstDone();
    if (this.probing) {
      this.endProbe(false);
      return;
    }
    this.softFailure('a message could not be used');
  }

  private onFailure(connection: StreamConnection, failure: StreamFailure): void {
    if (this.stopped || connection !== this.connection) return;
    this.connection = undefined;
    if (failure.kind === 'ended' || failure.kind === 'silent') {
      this.options.onWarning(`${failure.error.message}; ${this.probing ? 'polling goes on' : 'reconnecting'}`);
    } else {
      void this.deliver({ kind: 'failed', error: failure.error, fatal: false });
    }
    this.firstDone();
    if (this.probing) {
      this.endProbe(false);
      return;
    }
    if (failure.kind === 'status' && HARD_STREAM_STATUSES.has(failure.status)) {
      this.failover(`the stream was refused with status ${failure.status}`, true);
      return;
    }
    this.softFailure(failure.kind === 'status' ? `status ${failure.status}` : failure.kind === 'network' ? 'a network error' : `a ${failure.kind} stream`);
  }

  /** Counts a soft failure: fails over at the limit, else reconnects after a backoff. */
  private softFailure(what: string): void {
    const now = this.options.scheduler.now();
    this.softFailures = this.softFailures.filter((at) => now - at < SOFT_FAILURE_WINDOW);
    this.softFailures.push(now);
    const count = this.softFailures.length;
    if (count >= SOFT_FAILURE_LIMIT) {
      this.failover(`${count} stream failures within ${SOFT_FAILURE_WINDOW / 1000} s (the last: ${what})`, true);
      return;
    }
    const wait = Math.min(RECONNECT_MAX, RECONNECT_BASE * 2 ** (count - 1));
    this.clearTimer('reconnectTimer');
    this.reconnectTimer = this.options.scheduler.setTimeout(
      () => {
        this.reconnectTimer = undefined;
        this.connect();
      },
      timerDelay(withJitter(wait, this.options.scheduler.random())),
      'stream-reconnect',
    );
  }

  /** Leaves streaming for polling; with `retry`, streaming is tried again on a backoff. */
  private failover(reason: string, retry: boolean): void {
    if (this.stopped || this.failedOver) return;
    this.clearTimer('reconnectTimer');
    this.connection?.close();
    this.connection = undefined;
    this.failedOver = true;
    this.softFailures = [];
    this.probeFailures = 0;
    this.probeAllowedAt = 0;
    this.setMode('polling', reason);
    this.startPoller('features');
    if (retry) this.scheduleProbe();
  }

  /** The wait before the next try of streaming, before jitter. */
  private probeWait(): number {
    return Math.min(STREAM_RETRY_MAX, STREAM_RETRY_BASE * 2 ** Math.min(this.probeFailures, 10));
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    const wait = this.probeWait();
    this.clearTimer('probeTimer');
    this.probeTimer = this.options.scheduler.setTimeout(
      () => {
        this.probeTimer = undefined;
        this.probe('retrying streaming after a failover');
      },
      timerDelay(withJitter(wait, this.options.scheduler.random())),
      'stream-retry',
    );
  }

  /** Tries streaming while polling goes on; the first message applied brings streaming back. */
  private probe(why: string): void {
    if (this.stopped || !this.failedOver || this.probing) return;
    this.probing = true;
    this.probeReason = why;
    this.connect();
  }

  private endProbe(accepted: boolean, retry = true): void {
    this.probing = false;
    if (!accepted) {
      this.connection?.close();
      this.connection = undefined;
      this.probeFailures++;
      this.probeAllowedAt = this.options.scheduler.now() + this.probeWait();
      if (retry) this.scheduleProbe();
      return;
    }
    this.failedOver = false;
    this.probeFailures = 0;
    this.probeAllowedAt = 0;
    this.clearTimer('probeTimer');
    this.retire();
    this.setMode('streaming', `the server accepted the stream again (${this.probeReason})`);
  }
}
