import type { Aggregator, Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for the request path, exposed through prom-client's registry with the
 * same text and JSON as prom-client's own. Why not prom-client's classes: their every `inc` and
 * `observe` (a labelled child's too) converts, validates and hashes the label values again, about
 * 400–600 ns a call, and a /predict request makes five to eight such calls. Here a caller resolves a
 * label set to its series once (`series(labels)`) and keeps it; counting is then a few adds.
 */

type Labels<L extends string> = Readonly<Record<L, string>>;

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface ExportedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: ExportedValue[];
  aggregator: Aggregator;
}

interface SeriesMetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: readonly Registry[];
}

/** Label values joined with a separator no label value of Ferry's contains. */
function keyOf<L extends string>(names: readonly L[], labels: Labels<L>): string {
  let key = '';
  for (const n of names) key += `${labels[n]}\u0000`;
  return key;
}

abstract class SeriesMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly aggregator: Aggregator = 'sum';
  protected readonly labelNames: readonly L[];
  protected readonly bySet = new Map<string, S>();

  constructor(cfg: SeriesMetricConfig<L>) {
    this.name = cfg.name;
    this.help = cfg.help;
    this.labelNames = cfg.labelNames;
    // The registry's contract is get(), reset() and these fields, which this class has; its types
    // name prom-client's four classes only.
    for (const r of cfg.registers) r.registerMetric(this as unknown as Metric);
  }

  /** The series of these label values, made on first use. Keep it: counting through it does no lookup. */
  series(labels: Labels<L>): S {
    const key = keyOf(this.labelNames, labels);
    let s = this.bySet.get(key);
    if (s === undefined) {
      for (const n of this.labelNames) {
        if (typeof labels[n] !== 'string') throw new TypeError(`${this.name}: label "${n}" has no value`);
      }
      s = this.create(labels);
      this.bySet.set(key, s);
    }
    return s;
  }

  reset(): void {
    this.bySet.clear();
  }

  protected abstract create(labels: Labels<L>): S;
}

/** One labelled series of a counter. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}

  inc(by = 1): void {
    // prom-client's rule: a counter only goes up.
    if (!(by >= 0 && by < Number.POSITIVE_INFINITY)) {
      throw new TypeError(`counter increment must be finite and >= 0, got ${by}`);
    }
    this.value += by;
  }
}

export class SeriesCounter<L extends string> extends SeriesMetric<L, CounterSeries> {
  readonly type = 'counter';

  inc(labels: Labels<L>, by = 1): void {
    this.series(labels).inc(by);
  }

  protected create(labels: Labels<L>): CounterSeries {
    return new CounterSeries({ ...labels });
  }

  async get(): Promise<ExportedMetric> {
    const values: ExportedValue[] = [];
    for (const s of this.bySet.values()) values.push({ labels: { ...s.labels }, value: s.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** One labelled series of a histogram: per-bucket counts (not cumulative), their sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram value must be a finite number, got ${value}`);
    const bounds = this.bounds;
    // Prometheus' rule: a value counts in the first bucket whose upper bound is >= it.
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramSeries> {
  readonly type = 'histogram';
  private readonly buckets: readonly number[];

  constructor(cfg: SeriesMetricConfig<L> & { buckets: readonly number[] }) {
    super(cfg);
    this.buckets = [...cfg.buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels<L>, value: number): void {
    this.series(labels).observe(value);
  }

  protected create(labels: Labels<L>): HistogramSeries {
    return new HistogramSeries({ ...labels }, this.buckets);
  }

  /** prom-client's layout: each series' cumulative buckets, then `+Inf`, `_sum` and `_count`. */
  async get(): Promise<ExportedMetric> {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.bySet.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
