/**
 * Creates and changes flags on the real server through its admin API, the way a user of
 * the Unleash UI would, and reads back what the server recorded (applications, metrics).
 *
 * Every name is prefixed with a run id, so tests never collide with each other, with
 * seeded data or with earlier runs. `settled()` waits until the client API serves every
 * change made so far; `cleanup()` archives the flags and deletes the segments.
 */
import { randomBytes } from 'node:crypto';
import { server, type ServerInfo } from './server';
import { waitFor } from './wait-for';
import type { ConstraintDefinition } from '../../lib/types';

const ENV = 'development';
const FEATURES = '/api/admin/projects/default/features';

/** A constraint as the admin API takes it: the same shape the client API sends. */
export type ConstraintInput = ConstraintDefinition;

export interface VariantInput {
  name: string;
  weight: number;
  weightType?: 'variable' | 'fix';
  stickiness?: string;
  payload?: { type: 'string' | 'json' | 'csv' | 'number'; value: string };
  overrides?: { contextName: string; values: string[] }[];
}

export interface StrategyInput {
  name: string;
  parameters?: Record<string, string>;
  constraints?: ConstraintInput[];
  segments?: number[];
  variants?: VariantInput[];
}

export interface DependencyInput {
  feature: string;
  enabled?: boolean;
  variants?: string[];
}

/** What the client API should show for a flag once the server has applied our calls. */
interface Expected {
  enabled: boolean;
  strategies: number;
  variants: number;
  dependencies: number;
}

/** A raw metrics row of `GET /api/admin/client-metrics/features/{name}/raw`. */
export interface RawMetric {
  featureName: string;
  appName: string;
  environment: string;
  timestamp: string;
  yes: number;
  no: number;
  variants?: Record<string, number>;
}

/** A client-API response as fetched with a valid client token. */
export interface ClientFeatures {
  status: number;
  etag: string | null;
  body: any;
}

export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A short unique prefix for one test file's names (flag names allow [a-zA-Z0-9._~-]). */
export function newRunId(): string {
  return `e2e-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export class Admin {
  readonly runId = newRunId();
  private readonly info: ServerInfo = server();
  private readonly expected = new Map<string, Expected>();
  private readonly flags: string[] = [];
  private readonly segments: number[] = [];

  /** A flag or segment name unique to this run. */
  name(suffix: string): string {
    return `${this.runId}.${suffix}`;
  }

  /** One admin API call; returns the parsed JSON body (or undefined), throws on >= 400. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.info.origin}${path}`, {
      method,
      headers: { Authorization: this.info.adminToken, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new AdminApiError(res.status, `${method} ${path} -> ${res.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** Creates a flag, disabled in `development` until `enable()`. */
  async createFlag(name: string, options: { impressionData?: boolean; type?: string } = {}): Promise<string> {
    await this.request('POST', FEATURES, { name, type: options.type ?? 'release', impressionData: options.impressionData ?? false });
    this.flags.push(name);
    this.expected.set(name, { enabled: false, strategies: 0, variants: 0, dependencies: 0 });
    return name;
  }

  /** Adds a strategy in `development`; returns its id (for `updateStrategy`). */
  async addStrategy(flag: string, strategy: StrategyInput): Promise<string> {
    const created = (await this.request('POST', `${FEATURES}/${flag}/environments/${ENV}/strategies`, {
      parameters: {},
      constraints: [],
      ...strategy,
    })) as { id: string };
    this.track(flag).strategies += 1;
    return created.id;
  }

  /** Replaces a strategy (parameters, constraints, segments, variants) in place. */
  async updateStrategy(flag: string, id: string, strategy: StrategyInput): Promise<void> {
    await this.request('PUT', `${FEATURES}/${flag}/environments/${ENV}/strategies/${id}`, {
      parameters: {},
      constraints: [],
      ...strategy,
    });
  }

  /** Sets the feature (environment) variants of a flag in `development`. */
  async setVariants(flag: string, variants: VariantInput[]): Promise<void> {
    await this.request('PUT', `${FEATURES}/${flag}/environments/${ENV}/variants`, variants);
    this.track(flag).variants = variants.length;
  }

  /** Makes `flag` depend on another flag of the same project. */
  async addDependency(flag: string, dependency: DependencyInput): Promise<void> {
    await this.request('POST', `${FEATURES}/${flag}/dependencies`, dependency);
    this.track(flag).dependencies += 1;
  }

  async enable(flag: string): Promise<void> {
    await this.request('POST', `${FEATURES}/${flag}/environments/${ENV}/on`);
    this.track(flag).enabled = true;
  }

  async disable(flag: string): Promise<void> {
    await this.request('POST', `${FEATURES}/${flag}/environments/${ENV}/off`);
    this.track(flag).enabled = false;
  }

  /** Creates a segment; returns its id. */
  async createSegment(name: string, constraints: ConstraintInput[]): Promise<number> {
    const created = (await this.request('POST', '/api/admin/segments', { name, project: 'default', constraints })) as {
      id: number;
    };
    this.segments.push(created.id);
    return created.id;
  }

  /** Fetches the client API as an SDK would (client token, spec 5.2.0 unless told). */
  async clientFeatures(headers: Record<string, string> = { 'Unleash-Client-Spec': '5.2.0' }): Promise<ClientFeatures> {
    const res = await fetch(`${this.info.url}/client/features`, {
      headers: { Authorization: this.info.clientToken, ...headers },
    });
    const text = await res.text();
    return { status: res.status, etag: res.headers.get('etag'), body: text ? JSON.parse(text) : undefined };
  }

  /**
   * Waits until the client API reflects every flag and segment this helper created, with
   * the state, strategy, variant and dependency counts set through it, under an ETag that
   * accounts for all of it. Admin changes take about a second to reach the client API.
   */
  async settled(timeout = 15_000): Promise<ClientFeatures> {
    return waitFor(
      async () => {
        const response = await this.clientFeatures();
        if (response.status !== 200) throw new Error(`client API answered ${response.status}`);
        const byName = new Map<string, Record<string, unknown[] | boolean>>(
          response.body.features.map((f: { name: string }) => [f.name, f]),
        );
        for (const [name, want] of this.expected) {
          const got = byName.get(name);
          if (!got) return false;
          if (got.enabled !== want.enabled) return false;
          if ((got.strategies as unknown[]).length !== want.strategies) return false;
          if (((got.variants as unknown[]) ?? []).length !== want.variants) return false;
          if (((got.dependencies as unknown[]) ?? []).length !== want.dependencies) return false;
        }
        const segmentIds = new Set((response.body.segments ?? []).map((s: { id: number }) => s.id));
        if (!this.segments.every((id) => segmentIds.has(id))) return false;
        // The body can show a change before the ETag's revision counts it; the revision then
        // moves on with the same body. Wait for it, so ETag tests start from a stable state.
        const revision = /^"[^:]*:(\d+):/.exec(response.etag ?? '')?.[1];
        return (revision === undefined || Number(revision) >= (await this.lastEventId())) && response;
      },
      { what: `the client API to serve ${this.expected.size} flags of ${this.runId}`, timeout, interval: 200 },
    );
  }

  /** Id of the newest server event about one of this helper's flags (0 when none). */
  private async lastEventId(): Promise<number> {
    const { events } = (await this.request('GET', '/api/admin/events')) as { events: { id: number; featureName?: string }[] };
    return Math.max(0, ...events.filter((e) => e.featureName && this.expected.has(e.featureName)).map((e) => e.id));
  }

  /** The application as the server's admin view shows it, or undefined when unknown. */
  async application(appName: string): Promise<
    | {
        appName: string;
        instances: { instanceId: string; sdkVersion?: string; environment?: string }[];
        strategies: { name: string }[];
      }
    | undefined
  > {
    try {
      return (await this.request('GET', `/api/admin/metrics/applications/${encodeURIComponent(appName)}`)) as never;
    } catch (err) {
      if (err instanceof AdminApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Raw metrics rows (last 48 h) for one flag, only those sent by `appName`. */
  async rawMetrics(flag: string, appName: string): Promise<RawMetric[]> {
    const body = (await this.request('GET', `/api/admin/client-metrics/features/${flag}/raw`)) as { data: RawMetric[] };
    return body.data.filter((row) => row.appName === appName && (row.yes > 0 || row.no > 0));
  }

  /** Archives the flags (children first) and deletes the segments this helper created. */
  async cleanup(): Promise<void> {
    const errors: string[] = [];
    for (const flag of [...this.flags].reverse()) {
      await this.request('DELETE', `${FEATURES}/${flag}`).catch((err: Error) => errors.push(err.message));
    }
    for (const id of this.segments) {
      await this.request('DELETE', `/api/admin/segments/${id}`).catch((err: Error) => errors.push(err.message));
    }
    this.flags.length = 0;
    this.segments.length = 0;
    this.expected.clear();
    if (errors.length > 0) throw new Error(`cleanup failed:\n${errors.join('\n')}`);
  }

  private track(flag: string): Expected {
    const entry = this.expected.get(flag);
    if (!entry) throw new Error(`flag ${flag} was not created through this helper`);
    return entry;
  }
}
