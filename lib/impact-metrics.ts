/**
 * Impact metrics (Unleash client specification 6.x, `contracts/impact-metrics.md`): counters,
 * gauges and histograms an application defines and updates, sent to Unleash inside the
 * regular metrics POST as `impactMetrics`, so Unleash can show a flag's rollout next to
 * the numbers it moves (errors, latency, sign-ups).
 *
 * Each metric has one series, labelled with the client's `appName` and `environment`.
 * Collecting (at each report) reads and resets the values; a report that fails gives them
 * back (`restore`), merged with what was recorded meanwhile, so an outage loses nothing.
 * An idle counter or histogram still reports one zero sample; a gauge reports only after
 * it is set again.
 *
 * Every number sent is finite: non-finite inputs are dropped, and a counter or histogram
 * sum whose finite parts add up past `Number.MAX_VALUE` saturates there (reported once per
 * metric), since `JSON.stringify` would write Infinity as `null`, which Unleash refuses.
 * Like the toggle counts (see the metrics reporter), impact metrics are kept after any
 * failed report and merged into the next; as no body can carry a non-number, a report is
 * never refused for its values.
 */

/**
 * One counter or gauge sample on the wire.
 *
 * @group Impact metrics
 */
export interface NumericSample {
  /** `appName` and `environment`. */
  labels: Record<string, string>;
  /** The counter's increase since the last report, or the gauge's last value. */
  value: number;
}

/**
 * One histogram sample on the wire. Bucket counts are cumulative (Prometheus style): each
 * counts the observations at or below its `le`; `+Inf` counts them all.
 *
 * @group Impact metrics
 */
export interface HistogramSample {
  /** `appName` and `environment`. */
  labels: Record<string, string>;
  /** Observations since the last report. */
  count: number;
  /** Their sum. */
  sum: number;
  /** Cumulative counts per upper bound, ascending, `+Inf` last. */
  buckets: { le: number | '+Inf'; count: number }[];
}

/**
 * One metric as sent in the `impactMetrics` array of the metrics body.
 *
 * @group Impact metrics
 */
export type CollectedMetric =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: NumericSample[] }
  | { name: string; help: string; type: 'histogram'; samples: HistogramSample[] };

/**
 * A defined counter (`impactMetrics.defineCounter`).
 *
 * @group Impact metrics
 */
export interface ImpactCounter {
  /** Adds `by` (default 1). Negative, NaN and infinite amounts are dropped. */
  inc(by?: number): void;
}

/**
 * A defined gauge (`impactMetrics.defineGauge`).
 *
 * @group Impact metrics
 */
export interface ImpactGauge {
  /** Sets the value reported next. NaN and infinite values are dropped. */
  set(value: number): void;
}

/**
 * A defined histogram (`impactMetrics.defineHistogram`).
 *
 * @group Impact metrics
 */
export interface ImpactHistogram {
  /** Records one observation. NaN and infinite values are dropped. */
  observe(value: number): void;
}

/**
 * The default histogram bounds of the specification (seconds, for latencies).
 *
 * @group Impact metrics
 */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/**
 * `a + b`, saturated at ±`Number.MAX_VALUE` where the finite parts add up to an infinity.
 * Sets `overflowed` on `into` when it saturates.
 */
function saturated(sum: number, into: { overflowed: boolean }): number {
  if (Number.isFinite(sum)) return sum;
  into.overflowed = true;
  return sum > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
}

/** Distinct metrics kept; past this, definitions are refused (a name built per request must not grow memory). */
export const MAX_IMPACT_METRICS = 1000;

// Prometheus metric names, which Unleash stores them as.
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

class Counter implements ImpactCounter {
  readonly type = 'counter';
  value = 0;
  /** Whether `value` saturated at `Number.MAX_VALUE` since the last report. */
  overflowed = false;
  constructor(readonly name: string, readonly help: string) {}

  inc(by = 1): void {
    if (typeof by === 'number' && Number.isFinite(by) && by >= 0) this.value = saturated(this.value + by, this);
  }
}

class Gauge implements ImpactGauge {
  readonly type = 'gauge';
  value: number | undefined = undefined;
  constructor(readonly name: string, readonly help: string) {}

  set(value: number): void {
    if (typeof value === 'number' && Number.isFinite(value)) this.value = value;
  }
}

class Histogram implements ImpactHistogram {
  readonly type = 'histogram';
  count = 0;
  sum = 0;
  /** Whether `sum` saturated at ±`Number.MAX_VALUE` since the last report. */
  overflowed = false;
  /** Per-bound counts, not cumulative (cumulated when collected); the last is `+Inf`. */
  readonly counts: number[];
  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    this.count++;
    this.sum = saturated(this.sum + value, this);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
  }
}

type Metric = Counter | Gauge | Histogram;

/**
 * The impact metrics of one client (`client.impactMetrics`). Define a metric once (at
 * start-up), then update it by name or through the handle `define*` returns. Problems (an
 * unusable name, an update of an undefined metric, a name defined as another type) are
 * reported once each as `warning` events of origin `metrics`, never thrown.
 *
 * ```ts
 * client.impactMetrics.defineCounter('checkout_errors', 'Failed checkouts');
 * client.impactMetrics.incrementCounter('checkout_errors');
 * ```
 *
 * @group Impact metrics
 */
export class ImpactMetrics {
  private readonly metrics = new Map<string, Metric>();
  private readonly labels: Readonly<Record<string, string>>;

  /** @internal Made by the client. */
  constructor(
    appName: string,
    environment: string,
    private readonly warn: (key: string, message: string) => void,
  ) {
    this.labels = Object.freeze({ appName, environment });
  }

  /** Defines a counter, or returns the one already defined under `name`. */
  defineCounter(name: string, help: string): ImpactCounter {
    return this.define(name, help, 'counter', () => new Counter(name, help)) ?? NO_OP;
  }

  /** Defines a gauge, or returns the one already defined under `name`. */
  defineGauge(name: string, help: string): ImpactGauge {
    return this.define(name, help, 'gauge', () => new Gauge(name, help)) ?? NO_OP;
  }

  /**
   * Defines a histogram with these upper bounds (default `DEFAULT_HISTOGRAM_BUCKETS`;
   * `+Inf` is always added), or returns the one already defined under `name`.
   */
  defineHistogram(name: string, help: string, buckets?: number[]): ImpactHistogram {
    return (
      this.define(name, help, 'histogram', () => {
        const given = Array.isArray(buckets) ? buckets.filter((b) => typeof b === 'number' && Number.isFinite(b)) : [];
        const bounds = given.length > 0 ? [...new Set(given)].sort((a, b) => a - b) : DEFAULT_HISTOGRAM_BUCKETS;
        return new Histogram(name, help, bounds);
      }) ?? NO_OP
    );
  }

  /** Adds `by` (default 1) to the counter `name`. */
  incrementCounter(name: string, by = 1): void {
    this.find(name, 'counter')?.inc(by);
  }

  /** Sets the gauge `name`. */
  updateGauge(name: string, value: number): void {
    this.find(name, 'gauge')?.set(value);
  }

  /** Records one observation in the histogram `name`. */
  observeHistogram(name: string, value: number): void {
    this.find(name, 'histogram')?.observe(value);
  }

  /**
   * Reads and resets every metric, in definition order, as the wire wants them.
   * @internal For the metrics reporter.
   */
  collect(): CollectedMetric[] {
    const out: CollectedMetric[] = [];
    const labels = { ...this.labels };
    for (const m of this.metrics.values()) {
      if (!(m instanceof Gauge) && m.overflowed) {
        m.overflowed = false;
        this.warn(
          `impact-overflow:${m.name}`,
          `impact metrics: ${m.type} "${m.name}" added up past the largest number (Number.MAX_VALUE); it is sent as Number.MAX_VALUE (reported once per metric)`,
        );
      }
      if (m instanceof Counter) {
        out.push({ name: m.name, help: m.help, type: 'counter', samples: [{ labels, value: m.value }] });
        m.value = 0;
      } else if (m instanceof Gauge) {
        if (m.value === undefined) continue;
        out.push({ name: m.name, help: m.help, type: 'gauge', samples: [{ labels, value: m.value }] });
        m.value = undefined;
      } else {
        let running = 0;
        const buckets = m.counts.map((n, i) => ({ le: i < m.bounds.length ? m.bounds[i]! : ('+Inf' as const), count: (running += n) }));
        out.push({ name: m.name, help: m.help, type: 'histogram', samples: [{ labels, count: m.count, sum: m.sum, buckets }] });
        m.count = 0;
        m.sum = 0;
        m.counts.fill(0);
      }
    }
    return out;
  }

  /**
   * Gives back what `collect` took, for a report that failed: counters and histograms add
   * it to what was recorded since; a gauge keeps a newer value.
   * @internal For the metrics reporter.
   */
  restore(collected: CollectedMetric[]): void {
    for (const c of collected) {
      const m = this.metrics.get(c.name);
      if (m === undefined) continue;
      if (m instanceof Counter && c.type === 'counter') {
        for (const s of c.samples) m.value = saturated(m.value + s.value, m);
      } else if (m instanceof Gauge && c.type === 'gauge') {
        const last = c.samples[c.samples.length - 1];
        if (m.value === undefined && last !== undefined) m.value = last.value;
      } else if (m instanceof Histogram && c.type === 'histogram') {
        for (const s of c.samples) {
          m.count += s.count;
          m.sum = saturated(m.sum + s.sum, m);
          // Back from cumulative counts to per-bound ones.
          let previous = 0;
          s.buckets.forEach((b, i) => {
            if (i < m.counts.length) m.counts[i]! += b.count - previous;
            previous = b.count;
          });
        }
      }
    }
  }

  private define<T extends Metric>(name: string, help: string, type: T['type'], make: () => T): T | undefined {
    if (typeof name !== 'string' || !NAME.test(name) || name.length > 200) {
      // Keyed by the name (warn-once is bounded): each bad name is shown once, not only the first.
      this.warn(`impact-bad-name:${type}:${String(name).slice(0, 200)}`, `impact metrics: a ${type} name must be a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); "${String(name).slice(0, 60)}" was ignored`);
      return undefined;
    }
    if (typeof help !== 'string' || help.trim() === '') {
      this.warn(`impact-no-help:${name}`, `impact metrics: ${type} "${name}" needs a help text; it was not defined`);
      return undefined;
    }
    const existing = this.metrics.get(name);
    if (existing !== undefined) {
      if (existing.type === type) return existing as T;
      this.warn(`impact-type:${name}`, `impact metrics: "${name}" is already a ${existing.type}; it cannot also be a ${type}`);
      return undefined;
    }
    if (this.metrics.size >= MAX_IMPACT_METRICS) {
      this.warn('impact-full', `impact metrics: more than ${MAX_IMPACT_METRICS} metrics defined; "${name}" and later ones are ignored`);
      return undefined;
    }
    const metric = make();
    this.metrics.set(name, metric);
    return metric;
  }

  private find<T extends Metric['type']>(name: string, type: T): Extract<Metric, { type: T }> | undefined {
    const m = this.metrics.get(name);
    if (m !== undefined && m.type === type) return m as Extract<Metric, { type: T }>;
    this.warn(`impact-undefined:${type}:${String(name).slice(0, 200)}`, `impact metrics: no ${type} "${String(name).slice(0, 60)}" is defined; define it first (the update was dropped)`);
    return undefined;
  }
}

const NO_OP: ImpactCounter & ImpactGauge & ImpactHistogram = Object.freeze({
  inc: () => undefined,
  set: () => undefined,
  observe: () => undefined,
});
