/**
 * Fetches flags on a timer and applies the status rules of the Unleash protocol:
 * 200 new flags, 304 unchanged, 401/403 stop (a configuration error that retrying cannot
 * fix), anything else back off and retry. Backoff is interval × (1 + failures), failures
 * capped at 10 and reduced by one on each success, so a recovering server is not hit at
 * full rate at once. Every delay is jittered so a fleet does not poll in lockstep.
 */
import { createHash } from 'node:crypto';
import { HttpError } from './http';
import { PayloadError, type ParseResult } from './payload';
import { FIRST_LOAD_PARSE_BYTES, readClientBody, yieldingControl, type SliceControl } from './payload-slices';
import { MAX_TIMER_DELAY, withJitter, type Scheduler, type TimerHandle } from './scheduler';
import type { ClientPayload } from './types';
import type { PollPath, UnleashApi } from './unleash-api';

/** What one fetch produced. */
export type PollOutcome =
  | { kind: 'updated'; payload: ClientPayload; etag: string | undefined; warnings: string[] }
  /** 304, a 200 whose body is byte-for-byte the last one, or a delta of no events: nothing to recompile. */
  | { kind: 'unchanged'; etag?: string }
  /** `fatal`: polling has stopped (401/403). */
  | { kind: 'failed'; error: Error; fatal: boolean };

/**
 * Bodies larger than this (bytes) are digested and parsed in slices (lib/payload-slices.ts)
 * once the client serves flags; before, the bound is `FIRST_LOAD_PARSE_BYTES`.
 */
export const SLICED_PARSE_BYTES = 1024 * 1024;

/**
 * The one-go bound of a body for a client that serves flags already (`SLICED_PARSE_BYTES`)
 * or not yet (`FIRST_LOAD_PARSE_BYTES`: nothing is answered from flags before the first
 * load, so a longer one-go parse costs no stall). `serving` absent: serving.
 * @internal
 */
export function oneGoBytes(serving: (() => boolean) | undefined): number {
  return serving?.() === false ? FIRST_LOAD_PARSE_BYTES : SLICED_PARSE_BYTES;
}
/** The bytes hashed per slice of a large body's digest (about 10 ms of SHA-256). */
const DIGEST_SLICE_BYTES = 4 * 1024 * 1024;

/** The most failures backoff counts. */
export const MAX_BACKOFF_FAILURES = 10;
// Kept exported from here too: the metrics reporter and tests import it from the poller.
export { MAX_TIMER_DELAY };

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The sentence added to a 403, a 404 or a body that is not JSON when the `url` option does
 * not end with `/api`. Such a URL reaches the Unleash UI or whatever sits in front of it,
 * whose status or HTML page would otherwise be blamed on the token. Undefined when the url
 * ends with `/api` (or is not a URL). Shows origin and path only, never credentials.
 */
export function missingApiHint(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  if (path.endsWith('/api')) return undefined;
  // A path through /api (`/api/client`, the frontend API's `/api/frontend`) went too far.
  const through = path.indexOf('/api/');
  const suggested = through >= 0 ? path.slice(0, through + '/api'.length) : `${path}/api`;
  return `The url option does not end with "/api", where Unleash serves the client API: it should probably be ${parsed.origin}${suggested}`;
}

/** The delay before the next attempt after `failures` failures in a row (before jitter). */
export function backoffDelay(interval: number, failures: number): number {
  return Math.min(MAX_TIMER_DELAY, interval * (1 + Math.min(failures, MAX_BACKOFF_FAILURES)));
}

export interface PollerOptions {
  api: UnleashApi;
  scheduler: Scheduler;
  /** Milliseconds between fetches; 0 fetches once. */
  interval: number;
  /** The ETag of the flags the client holds now, for If-None-Match. */
  etag: () => string | undefined;
  /**
   * Receives each outcome before the next fetch is scheduled; when it returns a promise
   * (new flags still compiling), the next fetch is scheduled once that settles, so fetches
   * never pile up behind a compile.
   */
  onOutcome: (outcome: PollOutcome) => void | Promise<void>;
  /** The pacing of a large body's digest and parse (default `yieldingControl()`). */
  slices?: () => SliceControl;
  /**
   * Whether the client serves flags already. Until it does, a body up to
   * `FIRST_LOAD_PARSE_BYTES` is parsed in one go (as a bootstrap is); after, bodies over
   * `SLICED_PARSE_BYTES` are parsed in slices. Default: serving.
   */
  serving?: () => boolean;
  /** The `url` option, for `missingApiHint`. */
  url?: string;
  /** The endpoint asked: `features` (default) or `delta`. */
  path?: PollPath;
  /** Hears the server's `fetch-mode` response header, on any status. */
  onFetchMode?: (mode: string) => void;
}

export class Poller {
  private failures = 0;
  /** Digest of the last full body applied, so an identical 200 is not recompiled. */
  private lastDigest: string | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** Set by `pause`: no fetch is scheduled until `resume`. */
  private paused = false;
  /** Set by `resume(true)`: the next fetch sends no ETag. */
  private fresh = false;
  private readonly controller = new AbortController();
  private inFlight: Promise<PollOutcome> | undefined;
  /** What a 403, a 404 or a body that is not JSON adds when the url lacks `/api`, with its leading space. */
  private readonly hint: string;

  constructor(private readonly options: PollerOptions) {
    const hint = missingApiHint(options.url);
    this.hint = hint === undefined ? '' : ` ${hint}`;
  }

  /** Resolves once no fetch is in flight (after `stop`, once the aborted one has settled). */
  async idle(): Promise<void> {
    await this.inFlight;
  }

  /** Fetches now; resolves with the first outcome. Later fetches follow on the timer. */
  start(): Promise<PollOutcome> {
    return this.poll();
  }

  /** Stops polling and aborts a fetch in flight; its outcome is dropped. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort();
  }

  /**
   * Schedules no more fetches until `resume` (an instance following its fleet's leader);
   * a fetch in flight completes and is reported. Idempotent.
   */
  pause(): void {
    if (this.stopped) return;
    this.paused = true;
    if (this.timer !== undefined) this.options.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Fetches now and on the timer again; resolves with that fetch's outcome (one in flight
   * is waited for instead). With `fresh`, that fetch sends no ETag and an identical body is
   * reported as `updated` rather than `unchanged`: a new leader must have a body to write.
   */
  resume(fresh = false): Promise<PollOutcome> {
    this.paused = false;
    if (fresh) this.fresh = true;
    const inFlight = this.inFlight;
    if (inFlight === undefined) return this.pollNow();
    // A fetch already sent with an ETag cannot be the fresh one: fetch again after it.
    if (!fresh) return inFlight;
    return inFlight.then((outcome) => (this.stopped || this.paused || !this.fresh ? outcome : this.pollNow()));
  }

  private pollNow(): Promise<PollOutcome> {
    if (this.timer !== undefined) this.options.scheduler.clearTimeout(this.timer);
    return this.poll();
  }

  private poll(): Promise<PollOutcome> {
    this.timer = undefined;
    if (this.stopped) {
      const url = this.options.api.shownPollUrl(this.options.path ?? 'features');
      return Promise.resolve({ kind: 'failed', error: new HttpError('HTTP_ABORTED', url, `GET ${url}: polling was stopped`), fatal: true });
    }
    // Whatever fails in a fetch becomes its outcome, so the next one is always scheduled and
    // nothing rejects unhandled from a timer.
    const run = this.fetchOnce()
      .catch((err: unknown): PollOutcome => ({ kind: 'failed', error: asError(err), fatal: false }))
      .then(async (outcome) => {
        if (this.stopped) {
          this.inFlight = undefined;
          return outcome;
        }
        if (outcome.kind === 'failed') {
          if (!outcome.fatal) this.failures = Math.min(MAX_BACKOFF_FAILURES, this.failures + 1);
        } else {
          this.failures = Math.max(0, this.failures - 1);
        }
        try {
          // Awaited only when it is a promise: a synchronous outcome schedules the next
          // fetch in the same turn, as it always did.
          const settled = this.options.onOutcome(outcome);
          if (settled !== undefined) await settled;
        } catch {
          // The client reports its own failures; one must never end polling or surface as
          // an unhandled rejection from a timer.
        }
        this.inFlight = undefined;
        this.scheduleNext(outcome);
        return outcome;
      });
    this.inFlight = run;
    return run;
  }

  private scheduleNext(outcome: PollOutcome): void {
    if (this.stopped || this.paused) return;
    if ((outcome.kind === 'failed' && outcome.fatal) || this.options.interval === 0) {
      this.stopped = true;
      return;
    }
    const { scheduler, interval } = this.options;
    const wait = Math.min(MAX_TIMER_DELAY, withJitter(backoffDelay(interval, this.failures), scheduler.random()));
    this.timer = scheduler.setTimeout(() => void this.poll(), wait, 'fetch');
  }

  /** One request, settled into an outcome. */
  private async fetchOnce(): Promise<PollOutcome> {
    const { api } = this.options;
    const path = this.options.path ?? 'features';
    const url = api.shownPollUrl(path);
    const fresh = this.fresh;
    this.fresh = false;
    let response;
    try {
      response = await api.fetchFeatures(fresh ? undefined : this.options.etag(), this.controller.signal, path);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'HTTP_BODY_TOO_LARGE') {
        const error = new HttpError(err.code, err.url, `${err.message}. Keeping the last good flags; raise the maxBodySize option if the flags really are that large`);
        return { kind: 'failed', error, fatal: false };
      }
      return { kind: 'failed', error: asError(err), fatal: false };
    }
    const { status } = response;
    if (response.fetchMode !== undefined && !this.stopped) {
      try {
        this.options.onFetchMode?.(response.fetchMode);
      } catch {
        // The listener reports its own failures.
      }
    }
    if (status === 200) {
      try {
        return await this.read(response.body, response.etag, fresh);
      } catch (err) {
        const detail = err instanceof PayloadError ? err.message : `the body could not be read (${describe(err)})`;
        const code = err instanceof PayloadError ? err.code : 'PAYLOAD_INVALID';
        const hint = code === 'PAYLOAD_NOT_JSON' && this.hint !== '' ? `.${this.hint}` : '';
        return {
          kind: 'failed',
          error: new HttpError(code, url, `GET ${url}: ${detail}; keeping the last good flags${hint}`),
          fatal: false,
        };
      }
    }
    if (status === 304) return { kind: 'unchanged' };
    const text = STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : '';
    if (status === 401 || status === 403) {
      // A wrong path is the likelier cause of a 403 when the url lacks /api: say so first.
      const hint = status === 403 && this.hint !== '' ? `${this.hint}. If the url is right, check` : ' Check';
      const error = new HttpError(
        'HTTP_STATUS',
        url,
        `GET ${url}: the server answered ${status}${text}; polling stopped.${hint} the client API token ` +
          '(customHeaders Authorization) and its environment/project access',
        status,
      );
      return { kind: 'failed', error, fatal: true };
    }
    const next = this.options.interval === 0 ? 'not retrying (refreshInterval is 0)' : 'backing off';
    const hint = status === 404 && this.hint !== '' ? `.${this.hint}` : '';
    return {
      kind: 'failed',
      error: new HttpError('HTTP_STATUS', url, `GET ${url}: the server answered ${status}${text}; ${next}${hint}`, status),
      fatal: false,
    };
  }

  /**
   * Turns a 200 body into an outcome; rejects when it cannot be used. A body over
   * `SLICED_PARSE_BYTES` (`FIRST_LOAD_PARSE_BYTES` while the client serves no flags yet)
   * is digested and parsed in slices that yield to the event loop.
   */
  private async read(body: Buffer, etag: string | undefined, fresh: boolean): Promise<PollOutcome> {
    const oneGo = oneGoBytes(this.options.serving);
    // Servers without ETags (or behind proxies that drop them) resend the same body on
    // every poll; compiling it again would be wasted work at 50k flags.
    const digest = await this.digest(body, oneGo);
    if (digest === this.lastDigest && !fresh) return { kind: 'unchanged', ...(etag === undefined ? {} : { etag }) };
    const { payload, warnings } = await this.parse(body, oneGo);
    // A delta of no events changes nothing: the same as a 304, and as the same message on a
    // stream. The ETag it came with is not taken either (a 304 brings none).
    if (payload.kind === 'delta' && payload.events.length === 0) return { kind: 'unchanged' };
    // A delta applies onto state, so the same delta body later is not a no-op to skip.
    this.lastDigest = payload.kind === 'full' ? digest : undefined;
    return { kind: 'updated', payload, etag, warnings };
  }

  // The digest and the parse are methods of their own so that a test can make each step
  // of a poll fail and check that polling carries on.
  private async digest(body: Buffer, oneGo: number): Promise<string> {
    const hash = createHash('sha256');
    if (body.length <= oneGo) return hash.update(body).digest('base64');
    const control = this.slices();
    for (let at = 0; at < body.length; at += DIGEST_SLICE_BYTES) {
      hash.update(body.subarray(at, at + DIGEST_SLICE_BYTES));
      await control.pause();
    }
    return hash.digest('base64');
  }

  private parse(body: Buffer, oneGo: number): ParseResult | Promise<ParseResult> {
    return readClientBody(body, oneGo, () => this.slices());
  }

  private slices(): SliceControl {
    return this.options.slices?.() ?? yieldingControl();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : String(err).slice(0, 200);
}
