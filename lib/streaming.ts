/**
 * One Server-Sent Events connection to `{url}/client/streaming`, from opening to its end.
 *
 * The SSE format is parsed by the `eventsource` package (4.x: the WHATWG EventSource for
 * Node 20; 5.x requires Node 22.12), given a `fetch` of our own: the request goes through switchyard's got/network stack, so
 * the proxy, TLS trust and agents of `httpOptions` apply to the stream as to every other
 * request, `customHeadersFunction` is called for each connection, and every byte is seen,
 * keep-alive comments included, which is what the read timeout counts.
 *
 * A connection never reconnects by itself (the `eventsource` package would, on its own
 * timer and with its own `Last-Event-ID`): when it ends, for whatever reason, it reports
 * one failure and is done. The caller (`lib/updater.ts`) decides what comes next.
 */
import type { EventSourceFetchInit, FetchLike, FetchLikeResponse } from 'eventsource';
import { formatBytes, HttpError, type HttpStream } from './http';
import { timerDelay, type Scheduler, type TimerHandle } from './scheduler';

/** Why a connection ended. */
export type StreamFailure =
  /** The server answered with a status other than 200 (or 200 without an event stream: `status` 200). */
  | { kind: 'status'; status: number; error: Error }
  /** No answer: the connection failed, timed out or was refused before the response head. */
  | { kind: 'network'; error: Error }
  /** The stream was open and then ended or broke. */
  | { kind: 'ended'; error: Error }
  /** The stream was open and then stayed silent (not even a keep-alive) past the read timeout. */
  | { kind: 'silent'; error: Error };

/** One message of the stream. */
export interface StreamMessage {
  /**
   * The SSE event name: `unleash-connected`, `unleash-updated`, `fetch-mode`, or `error` (a
   * message the server named so; a broken connection is a failure, never a message).
   */
  event: string;
  data: string;
  /** The stream's last event id after this message (SSE keeps it across messages), if any. */
  id: string | undefined;
}

export interface StreamConnectionOptions {
  /** Opens the HTTP request (headers, proxy, TLS); rejects only with `HttpError`. */
  open: (lastEventId: string | undefined, signal: AbortSignal) => Promise<HttpStream>;
  /** The streaming URL (the EventSource wants one; the request goes where `open` sends it). */
  url: string;
  /** The URL as it may appear in a message. */
  shownUrl: string;
  /** Sent as `Last-Event-ID` to resume after it; undefined asks for a hydration. */
  lastEventId: string | undefined;
  scheduler: Scheduler;
  /** Milliseconds the open stream may stay silent before it is given up. */
  readTimeout: number;
  /** The most bytes one message may hold. */
  maxMessageSize: number;
  /** The stream is open (status 200, an event stream). */
  onOpen: () => void;
  onMessage: (message: StreamMessage) => void;
  /** Called once, when the connection ends for any reason but `close()`. */
  onFailure: (failure: StreamFailure) => void;
}

/** The SSE event names a connection listens for. */
export const STREAM_EVENTS = ['unleash-connected', 'unleash-updated', 'fetch-mode'] as const;

const EVENT_STREAM = 'text/event-stream';

/**
 * Whether a Content-Type header names an event stream. Media types are case-insensitive,
 * and parameters (`; charset=utf-8`) may follow (RFC 9110 §8.3.1).
 */
export function isEventStream(contentType: string | null | undefined): boolean {
  if (contentType === null || contentType === undefined) return false;
  return contentType.split(';', 1)[0].trim().toLowerCase() === EVENT_STREAM;
}

type EventSourceModule = typeof import('eventsource');
let eventSourceModule: Promise<EventSourceModule> | undefined;

/** Loads `eventsource` (ESM-only, like got) once; a failed load is not cached. */
function loadEventSource(): Promise<EventSourceModule> {
  eventSourceModule ??= import('eventsource').catch((err: unknown) => {
    eventSourceModule = undefined;
    throw err;
  });
  return eventSourceModule;
}

/** The part of an `EventSource` a connection uses. */
interface Source {
  addEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export class StreamConnection {
  private readonly controller = new AbortController();
  private source: Source | undefined;
  private http: HttpStream | undefined;
  private readTimer: TimerHandle | undefined;
  private done = false;
  private opened = false;
  /** What the request answered, to tell a refusal from a broken connection. */
  private answered: number | undefined;

  constructor(private readonly options: StreamConnectionOptions) {}

  /** Connects. Never rejects: every failure reaches `onFailure`. */
  async start(): Promise<void> {
    let module: EventSourceModule;
    try {
      module = await loadEventSource();
    } catch (err) {
      this.fail({ kind: 'network', error: new HttpError('HTTP_NETWORK', this.options.shownUrl, `GET ${this.options.shownUrl}: the EventSource client could not be loaded (${(err as Error)?.message})`) });
      return;
    }
    if (this.done) return;
    const source: Source = new module.EventSource(this.options.url, { fetch: this.fetch });
    this.source = source;
    source.addEventListener('open', () => {
      if (this.done) return;
      this.opened = true;
      this.options.onOpen();
    });
    for (const name of STREAM_EVENTS) {
      source.addEventListener(name, (event) => {
        if (this.done) return;
        const message = event as Event & { data: string; lastEventId: string };
        this.options.onMessage({ event: name, data: message.data, id: message.lastEventId === '' ? undefined : message.lastEventId });
      });
    }
    source.addEventListener('error', (event) => {
      // The EventSource dispatches a message named `error` (`event: error` with data) on this
      // same listener as its connection errors: a message carries `data`, an error does not.
      if ('data' in event) {
        if (this.done) return;
        const sent = event as Event & { data: unknown; lastEventId?: string };
        const id = typeof sent.lastEventId === 'string' && sent.lastEventId !== '' ? sent.lastEventId : undefined;
        this.options.onMessage({ event: 'error', data: String(sent.data), id });
        return;
      }
      const { code, message } = event as Event & { code?: number; message?: string };
      // The EventSource sets its reconnect timer after this listener returns: closing it a
      // microtask later clears that timer, so none is left behind.
      queueMicrotask(() => source.close());
      if (this.done) return;
      this.fail(this.classify(code, message));
    });
  }

  /** Ends the connection and its timer; nothing is reported. Idempotent. */
  close(): void {
    this.done = true;
    this.stopReadTimer();
    this.controller.abort();
    this.source?.close();
    this.http?.close();
  }

  private classify(code: number | undefined, message: string | undefined): StreamFailure {
    const url = this.options.shownUrl;
    const status = code ?? this.answered;
    if (status !== undefined && status !== 200) {
      return { kind: 'status', status, error: new HttpError('HTTP_STATUS', url, `GET ${url}: the server answered ${status}`, status) };
    }
    if (this.opened) return { kind: 'ended', error: new HttpError('HTTP_NETWORK', url, `GET ${url}: the stream ended`) };
    if (status === 200) {
      const detail =
        message !== undefined && /content type/i.test(message)
          ? `the answer is not an event stream (Content-Type ${this.contentType === undefined ? 'missing' : JSON.stringify(this.contentType.slice(0, 100))}, expected ${EVENT_STREAM})`
          : 'the stream failed to open';
      return { kind: 'status', status, error: new HttpError('HTTP_STATUS', url, `GET ${url}: ${detail}`, status) };
    }
    return { kind: 'network', error: this.connectError ?? new HttpError('HTTP_NETWORK', url, `GET ${url}: the connection failed`) };
  }

  private connectError: HttpError | undefined;
  /** The answer's Content-Type, for the message when it is not an event stream. */
  private contentType: string | undefined;
  /** Bytes of the message being received, and the line ends just seen (an empty line ends a message). */
  private messageBytes = 0;
  private lineFeeds = 0;
  private carriageReturns = 0;

  /**
   * Counts `chunk` into the message being received; true once that message is larger than
   * `maxMessageSize` (the SSE parser has no limit of its own). A message ends
   * at an empty line: two line ends in a row, LF, CRLF or CR alike.
   */
  private tooLarge(chunk: Buffer): boolean {
    let size = this.messageBytes;
    let lf = this.lineFeeds;
    let cr = this.carriageReturns;
    const limit = this.options.maxMessageSize;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === 10 || byte === 13) {
        if (byte === 10) lf++;
        else cr++;
        if (lf >= 2 || cr >= 2) size = 0;
      } else {
        lf = 0;
        cr = 0;
        if (++size > limit) return true;
      }
    }
    this.messageBytes = size;
    this.lineFeeds = lf;
    this.carriageReturns = cr;
    return false;
  }

  private fail(failure: StreamFailure): void {
    if (this.done) return;
    this.close();
    this.options.onFailure(failure);
  }

  private armReadTimer(): void {
    this.stopReadTimer();
    if (this.done) return;
    const { scheduler, readTimeout, shownUrl } = this.options;
    this.readTimer = scheduler.setTimeout(
      () => {
        this.readTimer = undefined;
        this.fail({ kind: 'silent', error: new HttpError('HTTP_TIMEOUT', shownUrl, `GET ${shownUrl}: the stream sent nothing (not even a keep-alive) for ${readTimeout} ms`) });
      },
      // A read timeout past what a timer holds waits the longest a timer can, never 1 ms.
      timerDelay(readTimeout),
      'stream-read',
    );
  }

  private stopReadTimer(): void {
    if (this.readTimer !== undefined) this.options.scheduler.clearTimeout(this.readTimer);
    this.readTimer = undefined;
  }

  /** The EventSource's fetch: one request through switchyard's HTTP stack. */
  private readonly fetch: FetchLike = async (_url: string | URL, _init: EventSourceFetchInit): Promise<FetchLikeResponse> => {
    let http: HttpStream;
    try {
      http = await this.options.open(this.options.lastEventId, this.controller.signal);
    } catch (err) {
      this.connectError = err instanceof HttpError ? err : undefined;
      throw err;
    }
    if (this.done) {
      http.close();
      throw Object.assign(new Error('closed'), { name: 'AbortError' });
    }
    this.http = http;
    this.answered = http.status;
    const headers = {
      get: (name: string): string | null => {
        const key = name.toLowerCase();
        const raw = http.headers[key];
        const value = raw === undefined ? null : Array.isArray(raw) ? raw.join(', ') : raw;
        // The EventSource compares the header's start, case and all: it is given the media
        // type alone, or nothing when the answer is not an event stream.
        return key === 'content-type' ? (isEventStream(value) ? EVENT_STREAM : null) : value;
      },
    };
    this.contentType = typeof http.headers['content-type'] === 'string' ? http.headers['content-type'] : undefined;
    if (http.status !== 200) {
      http.close();
      return { status: http.status, headers, body: null, url: this.options.url, redirected: false };
    }
    this.armReadTimer();
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        let ended = false;
        const end = (error?: unknown): void => {
          if (ended) return;
          ended = true;
          this.stopReadTimer();
          if (error === undefined || this.done) controller.close();
          else controller.error(error);
        };
        http.body.on('data', (chunk: Buffer) => {
          if (ended || this.done) return;
          // Any byte, a keep-alive comment included, shows the stream is alive.
          this.armReadTimer();
          if (this.tooLarge(chunk)) {
            const url = this.options.shownUrl;
            const limit = formatBytes(this.options.maxMessageSize);
            this.fail({ kind: 'network', error: new HttpError('HTTP_BODY_TOO_LARGE', url, `GET ${url}: a message exceeds the limit of ${limit}; the stream was closed`) });
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        });
        http.body.once('end', () => end());
        http.body.once('error', (err: unknown) => end(err ?? new Error('the stream broke')));
        http.body.once('close', () => end());
      },
      cancel: () => http.close(),
    });
    return { status: 200, headers, body, url: this.options.url, redirected: false };
  };
}
