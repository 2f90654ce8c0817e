import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The monitor's Prometheus metrics, on the registry given: the server's own under `serve --monitor`,
 * a registry of its own under `ferry monitor run --metrics-port`. A model whose window has no data has
 * no drift gauges (removed, never NaN).
 */
export class MonitorMetrics {
  readonly driftScore: Gauge<'model' | 'feature' | 'method'>;
  readonly featureDrifted: Gauge<'model' | 'feature'>;
  readonly datasetDriftShare: Gauge<'model'>;
  readonly detectorDrifts: Counter<'model' | 'detector' | 'stream'>;
  readonly detectorSkipped: Counter<'model' | 'stream'>;
  readonly lastRun: Gauge;
  readonly alerts: Counter<'rule' | 'severity'>;
  readonly tickFailures: Counter<'model'>;
  readonly reportFailures: Counter<'model'>;
  readonly webhookFailures: Counter;
  readonly tickSeconds: Histogram;
  /** The label sets set per model, so a model's gauges can be removed when its window is empty. */
  private readonly featureLabels = new Map<string, Array<{ feature: string; method: string }>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.driftScore = new Gauge({
      name: 'ferry_monitor_drift_score',
      help: 'Drift score of a feature over the monitoring window (a p-value for ks, chi-square and z-test; a distance otherwise)',
      labelNames: ['model', 'feature', 'method'] as const,
      registers,
    });
    this.featureDrifted = new Gauge({
      name: 'ferry_monitor_feature_drifted',
      help: '1 when the feature drifted over the monitoring window, else 0',
      labelNames: ['model', 'feature'] as const,
      registers,
    });
    this.datasetDriftShare = new Gauge({
      name: 'ferry_monitor_dataset_drift_share',
      help: 'Share of the features that drifted over the monitoring window',
      labelNames: ['model'] as const,
      registers,
    });
    this.detectorDrifts = new Counter({
      name: 'ferry_monitor_detector_drifts_total',
      help: 'Drifts signalled by the streaming detectors, by detector and stream (confidence or error)',
      labelNames: ['model', 'detector', 'stream'] as const,
      registers,
    });
    this.detectorSkipped = new Counter({
      name: 'ferry_monitor_detector_skipped_total',
      help: 'Logged items not fed to the detectors: no confidence (not a classifier) or a value that is not finite',
      labelNames: ['model', 'stream'] as const,
      registers,
    });
    this.lastRun = new Gauge({
      name: 'ferry_monitor_last_run_timestamp_seconds',
      help: 'When the last monitoring tick finished (Unix time)',
      registers,
    });
    this.alerts = new Counter({
      name: 'ferry_monitor_alerts_total',
      help: 'Alerts fired, by rule and severity',
      labelNames: ['rule', 'severity'] as const,
      registers,
    });
    this.tickFailures = new Counter({
      name: 'ferry_monitor_tick_failures_total',
      help: 'Monitoring ticks that failed for a model (logged; the loop goes on)',
      labelNames: ['model'] as const,
      registers,
    });
    this.reportFailures = new Counter({
      name: 'ferry_monitor_report_failures_total',
      help: 'Drift reports that failed (logged; the detectors still ran)',
      labelNames: ['model'] as const,
      registers,
    });
    this.webhookFailures = new Counter({
      name: 'ferry_monitor_webhook_failures_total',
      help: 'Alerts the webhook did not accept after its retries (they are stored and logged anyway)',
      registers,
    });
    this.tickSeconds = new Histogram({
      name: 'ferry_monitor_tick_duration_seconds',
      help: 'Time of one monitoring tick over every model',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
  }

  /** Sets a model's drift gauges from a report, replacing the previous ones. */
  setDrift(
    model: string,
    share: number,
    features: ReadonlyArray<{ feature: string; method: string; score: number; drifted: boolean }>,
  ): void {
    this.clearDrift(model);
    const labels: Array<{ feature: string; method: string }> = [];
    if (Number.isFinite(share)) this.datasetDriftShare.set({ model }, share);
    for (const f of features) {
      if (!Number.isFinite(f.score)) continue;
      this.driftScore.set({ model, feature: f.feature, method: f.method }, f.score);
      this.featureDrifted.set({ model, feature: f.feature }, f.drifted ? 1 : 0);
      labels.push({ feature: f.feature, method: f.method });
    }
    this.featureLabels.set(model, labels);
  }

  /** Removes a model's drift gauges (its window had no data). */
  clearDrift(model: string): void {
    for (const { feature, method } of this.featureLabels.get(model) ?? []) {
      this.driftScore.remove({ model, feature, method });
      this.featureDrifted.remove({ model, feature });
    }
    this.featureLabels.delete(model);
    this.datasetDriftShare.remove({ model });
  }
}
