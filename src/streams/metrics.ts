/**
 * A running pipeline's numbers: counters since the process started, the watermark per partition,
 * the transport's lag, and the event → sink latency (from the time the transport stored the event
 * to the time every sink had written it) as a log-bucketed histogram for p50/p99.
 */
export interface PipelineMetricsSnapshot {
  readonly processed: number;
  readonly late: number;
  readonly deadLettered: number;
  readonly duplicates: number;
  readonly batches: number;
  /** Rows written by each sink (online, offline, predictions) and rows a sink refused. */
  readonly sinkRows: Readonly<Record<string, number>>;
  readonly sinkErrors: number;
  /** Transient failures waited out (transport, database, sinks). */
  readonly retries: number;
  /** Events per second over the last heartbeat interval. */
  readonly eventsPerSecond: number;
  /** Newest event time accepted per partition (ms since the epoch): the watermark is it − a view's allowed lateness. */
  readonly maxEventTimeMs: Readonly<Record<string, number>>;
  /** Events not yet acked by this pipeline's consumer, from the transport. */
  readonly lag: number | undefined;
  readonly latencyMs: {
    readonly p50: number | undefined;
    readonly p99: number | undefined;
    readonly count: number;
  };
}

/** Buckets of 10^(1/20) (~12 %) from 0.1 ms to ~1 day: quantiles within one bucket. */
const BUCKETS_PER_DECADE = 20;
const MIN_MS = 0.1;
const BUCKET_COUNT = BUCKETS_PER_DECADE * 9;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKET_COUNT + 1);
  count = 0;

  record(ms: number): void {
    const i =
      ms <= MIN_MS ? 0 : Math.min(BUCKET_COUNT, Math.ceil(Math.log10(ms / MIN_MS) * BUCKETS_PER_DECADE));
    this.counts[i]! += 1;
    this.count += 1;
  }

  /** The upper bound of the bucket holding quantile q (0..1); undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i <= BUCKET_COUNT; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return MIN_MS * 10 ** (i / BUCKETS_PER_DECADE);
    }
    return MIN_MS * 10 ** (BUCKET_COUNT / BUCKETS_PER_DECADE);
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
  }
}

export class PipelineMetrics {
  processed = 0;
  late = 0;
  deadLettered = 0;
  duplicates = 0;
  batches = 0;
  sinkErrors = 0;
  retries = 0;
  eventsPerSecond = 0;
  lag: number | undefined;
  readonly sinkRows: Record<string, number> = {};
  readonly maxEventTimeMs: Record<string, number> = {};
  /** Since the start; `recent` since the last heartbeat. */
  readonly latency = new LatencyHistogram();

  addSinkRows(sink: string, n: number): void {
    this.sinkRows[sink] = (this.sinkRows[sink] ?? 0) + n;
  }

  snapshot(): PipelineMetricsSnapshot {
    return {
      processed: this.processed,
      late: this.late,
      deadLettered: this.deadLettered,
      duplicates: this.duplicates,
      batches: this.batches,
      sinkRows: { ...this.sinkRows },
      sinkErrors: this.sinkErrors,
      retries: this.retries,
      eventsPerSecond: this.eventsPerSecond,
      maxEventTimeMs: { ...this.maxEventTimeMs },
      lag: this.lag,
      latencyMs: {
        p50: this.latency.quantile(0.5),
        p99: this.latency.quantile(0.99),
        count: this.latency.count,
      },
    };
  }
}
