import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import {
  type CounterSeries,
  type HistogramSeries,
  SeriesCounter,
  SeriesHistogram,
} from './series-metrics.js';

/** Per model: how many stored predictions came from a version other than the served production one. */
export type StoredStalenessSource = () => Promise<ReadonlyMap<string, number>>;

const DAY = 86_400;

/** The series one model version's predictions and batches are counted in. */
export interface VersionSeries {
  readonly model: string;
  readonly version: number;
  readonly fromModel: CounterSeries;
  readonly fromCache: CounterSeries;
  readonly predictSeconds: HistogramSeries;
  readonly batchSize: HistogramSeries;
  readonly queueSeconds: HistogramSeries;
  readonly computeSeconds: HistogramSeries;
}

/**
 * Ferry's Prometheus metrics, on their own registry so that tests and workers do not collide. The
 * ones every request counts are `SeriesCounter`/`SeriesHistogram` (see series-metrics.ts for why);
 * the rest are prom-client's.
 */
export class ServingMetrics {
  readonly registry = new Registry();
  /** Requests being served now; read into `ferry_http_in_flight_requests` when scraped. */
  inFlightNow = 0;
  readonly requests = new SeriesCounter({
    name: 'ferry_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new SeriesHistogram({
    name: 'ferry_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: [this.registry],
  });
  readonly inFlight: Gauge = new Gauge({
    name: 'ferry_http_in_flight_requests',
    help: 'HTTP requests being served now',
    registers: [this.registry],
    collect: () => {
      this.inFlight.set(this.inFlightNow);
    },
  });
  readonly predictions = new SeriesCounter({
    name: 'ferry_predictions_total',
    help: 'Predictions served, by model, version and source (model or cache)',
    labelNames: ['model', 'version', 'source'] as const,
    registers: [this.registry],
  });
  readonly predictSeconds = new SeriesHistogram({
    name: 'ferry_predict_duration_seconds',
    help: 'Time from accepting a prediction request to its answer, by model and version',
    labelNames: ['model', 'version'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly batchSize = new SeriesHistogram({
    name: 'ferry_batch_size',
    help: 'Items per model batch',
    labelNames: ['model', 'version'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly queueSeconds = new SeriesHistogram({
    name: 'ferry_batch_queue_seconds',
    help: 'Time the oldest item of a batch waited in the queue, apart from compute',
    labelNames: ['model', 'version'] as const,
    buckets: [0, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly computeSeconds = new SeriesHistogram({
    name: 'ferry_batch_compute_seconds',
    help: 'Model compute time per batch',
    labelNames: ['model', 'version'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly cacheLookups = new SeriesCounter({
    name: 'ferry_cache_lookups_total',
    help:
      'Prediction cache lookups by result, one per item: hit, miss, error (the cache could not be ' +
      'read, e.g. Redis down, or held an unreadable entry; the model answered)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly cacheWriteFailures = new Counter({
    name: 'ferry_cache_write_failures_total',
    help: 'Predictions that could not be written to the cache (the requests still succeeded)',
    registers: [this.registry],
  });
  readonly shed = new Counter({
    name: 'ferry_requests_shed_total',
    help: 'Requests refused with 503 because the queue was full or the deadline could not be met',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry],
  });
  readonly modelLoaded = new Gauge({
    name: 'ferry_model_loaded',
    help: '1 for each model version loaded and serving, by alias ("on-demand": loaded by number, behind no alias)',
    labelNames: ['model', 'version', 'alias'] as const,
    registers: [this.registry],
    // Every worker loads the same versions: across workers it is 1, not the number of workers.
    aggregator: 'max',
  });
  readonly modelRefreshErrors = new Counter({
    name: 'ferry_model_refresh_errors_total',
    help: 'Background failures following the aliases: reading them (stage="aliases") or loading the version one moved to (stage="load"; retried with backoff)',
    labelNames: ['model', 'stage'] as const,
    registers: [this.registry],
  });
  readonly onDemandEvictions = new Counter({
    name: 'ferry_on_demand_evictions_total',
    help: 'Versions loaded on demand that were unloaded to stay within FERRY_ON_DEMAND_MAX_BYTES or the version count',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly swaps = new Counter({
    name: 'ferry_model_swaps_total',
    help: 'Zero-downtime swaps after an alias moved',
    labelNames: ['model', 'alias'] as const,
    registers: [this.registry],
  });
  readonly logDropped = new Counter({
    name: 'ferry_prediction_log_dropped_total',
    help: 'Prediction log records dropped because the buffer was full or the sink failed',
    registers: [this.registry],
  });
  readonly logTruncated = new Counter({
    name: 'ferry_prediction_log_truncated_total',
    help: 'Prediction log records cut to FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST (text shortened or items left out)',
    registers: [this.registry],
  });
  readonly logRejected = new Counter({
    name: 'ferry_prediction_log_rejected_total',
    help: 'Prediction log records the database refused on their own; the other records of their batch were written',
    registers: [this.registry],
  });
  readonly storedAge = new SeriesHistogram({
    name: 'ferry_stored_prediction_age_seconds',
    help: 'Age of the stored (batch) predictions served from the prediction store, by model',
    labelNames: ['model'] as const,
    buckets: [60, 300, 900, 3600, 6 * 3600, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY],
    registers: [this.registry],
  });
  readonly storedLookups = new SeriesCounter({
    name: 'ferry_stored_lookups_total',
    help:
      'Prediction store lookups by result: hit (served from the store), stale (GET served a prediction ' +
      'older than the max age), miss (nothing stored), refreshed (POST found a stored prediction too old ' +
      'or for other inputs and predicted again)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly storedWriteBackFailures = new Counter({
    name: 'ferry_stored_write_back_failures_total',
    help: 'Live predictions that could not be written back to the prediction store (the request still succeeded)',
    registers: [this.registry],
  });
  // A series counter: counted on every routed request (prom-client's labelled inc showed in
  // bench/experiments' profile at ~0.6 % of a routed server's CPU).
  readonly experimentRouted = new SeriesCounter({
    name: 'ferry_experiment_routed_total',
    help: 'Requests whose version an experiment picked, by experiment and arm',
    labelNames: ['experiment', 'arm'] as const,
    registers: [this.registry],
  });
  readonly experimentRouteFallbacks = new Counter({
    name: 'ferry_experiment_route_fallbacks_total',
    help: 'Requests routed to an arm that could not be served, answered by the default version instead',
    labelNames: ['experiment'] as const,
    registers: [this.registry],
  });
  readonly experimentExposuresDropped = new Counter({
    name: 'ferry_experiment_exposures_dropped_total',
    help: 'Exposures not recorded because the buffer was full or the write failed',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly observerErrors = new Counter({
    name: 'ferry_prediction_observer_errors_total',
    help: 'Prediction observers (shadow, canary) that threw; the requests were not affected',
    registers: [this.registry],
  });
  readonly storedNotFromProduction = new Gauge({
    name: 'ferry_stored_predictions_not_from_production',
    help: 'Stored predictions whose model version is not the production version served now, by model',
    labelNames: ['model'] as const,
    registers: [this.registry],
    // Read from the shared database, so every worker reports the same count.
    aggregator: 'max',
    // Computed when scraped, from a cached reading (see setStoredStalenessSource).
    collect: async () => {
      const values = await this.readStaleness();
      if (values === undefined) return;
      this.storedNotFromProduction.reset();
      for (const [model, count] of values) this.storedNotFromProduction.set({ model }, count);
    },
  });

  private readonly versions = new Map<string, VersionSeries>();
  private lastVersion: VersionSeries | undefined;

  /** The series a model version counts in, resolved once per version (almost every request asks for the last one). */
  versionSeries(model: string, version: number): VersionSeries {
    const last = this.lastVersion;
    if (last !== undefined && last.model === model && last.version === version) return last;
    const key = `${model}/${version}`;
    let series = this.versions.get(key);
    if (series === undefined) {
      const labels = { model, version: String(version) };
      series = {
        model,
        version,
        fromModel: this.predictions.series({ model, version: labels.version, source: 'model' }),
        fromCache: this.predictions.series({ model, version: labels.version, source: 'cache' }),
        predictSeconds: this.predictSeconds.series(labels),
        batchSize: this.batchSize.series(labels),
        queueSeconds: this.queueSeconds.series(labels),
        computeSeconds: this.computeSeconds.series(labels),
      };
      this.versions.set(key, series);
    }
    this.lastVersion = series;
    return series;
  }

  /** Counts a request's predictions: from the model (with their latency) or from the cache. */
  countPredictions(
    model: string,
    version: number,
    source: 'model' | 'cache',
    count: number,
    seconds: number,
  ): void {
    const series = this.versionSeries(model, version);
    if (source === 'model') {
      series.fromModel.inc(count);
      series.predictSeconds.observe(seconds);
    } else {
      series.fromCache.inc(count);
    }
  }

  constructor() {
    // process_* and nodejs_* (CPU, memory, event-loop lag, GC, handles). With --workers N they are
    // summed over the workers by prom-client's own per-metric rules (lag is averaged, and so on).
    collectDefaultMetrics({ register: this.registry });
  }

  private scraper: (() => Promise<string>) | undefined;

  /** The text /metrics answers: this registry's, or what `setScraper` supplies (all workers'). */
  scrape(): Promise<string> {
    return this.scraper ? this.scraper() : this.registry.metrics();
  }

  /** Replaces what /metrics answers, e.g. with the aggregate of every worker of the cluster. */
  setScraper(scraper: () => Promise<string>): void {
    this.scraper = scraper;
  }

  private staleness:
    | {
        source: StoredStalenessSource;
        cacheMs: number;
        cached?: { at: number; values: ReadonlyMap<string, number> };
        reading?: Promise<ReadonlyMap<string, number> | undefined>;
      }
    | undefined;

  /**
   * Makes `ferry_stored_predictions_not_from_production` read `source` at scrape time, at most once
   * per `cacheMs` (concurrent scrapes share one reading). A failing reading keeps the last values.
   */
  setStoredStalenessSource(source: StoredStalenessSource, cacheMs = 5000): void {
    this.staleness = { source, cacheMs };
  }

  private readStaleness(): Promise<ReadonlyMap<string, number> | undefined> {
    const s = this.staleness;
    if (s === undefined) return Promise.resolve(undefined);
    const now = performance.now();
    if (s.cached !== undefined && now - s.cached.at < s.cacheMs) return Promise.resolve(s.cached.values);
    s.reading ??= s
      .source()
      .then((values) => {
        s.cached = { at: performance.now(), values };
        return values;
      })
      .catch(() => s.cached?.values)
      .finally(() => {
        s.reading = undefined;
      });
    return s.reading;
  }
}
