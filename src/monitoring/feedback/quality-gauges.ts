import { Counter, Gauge, type Registry } from 'prom-client';
import type { FeedbackSource } from '../feedback-types.js';
import { type QualityReport, type RollingWindow, rollingQuality } from './quality.js';

export interface QualityGaugesOptions {
  source: FeedbackSource;
  /** The models whose quality is reported. */
  models: readonly string[];
  /** The rolling window: labels received in the last windowMs, at most the last `last`. */
  window: Pick<RollingWindow, 'windowMs' | 'last'>;
  /** How often the figures are recomputed. */
  intervalMs: number;
  /** After labels arrive, the figures are recomputed within this delay (no more often). */
  settleMs: number;
  /** A refresh that failed (the previous figures stay). */
  onError?: (error: unknown) => void;
}

/**
 * Feedback on /metrics: `ferry_feedback_labels_total{model,outcome}` counted as labels arrive, and
 * the rolling `ferry_model_accuracy` / `ferry_model_weighted_f1` per version, computed in the
 * background (on a cadence, and shortly after labels arrive) so a scrape only reads numbers.
 */
export class QualityGauges {
  readonly labels: Counter<'model' | 'outcome'>;
  private readonly accuracy: Gauge<'model' | 'version'>;
  private readonly weightedF1: Gauge<'model' | 'version'>;
  private readonly compared: Gauge<'model' | 'version'>;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    registry: Registry,
    private readonly opts: QualityGaugesOptions,
  ) {
    this.labels = new Counter({
      name: 'ferry_feedback_labels_total',
      help: 'Labels received on POST /v1/feedback by outcome: stored (joined to a known prediction), unmatched (stored, prediction not known yet), duplicate (already stored, nothing new), conflict (refused: another label was stored)',
      labelNames: ['model', 'outcome'] as const,
      registers: [registry],
    });
    const gauge = (name: string, help: string) =>
      new Gauge({
        name,
        help,
        labelNames: ['model', 'version'] as const,
        registers: [registry],
        aggregator: 'max',
      });
    this.accuracy = gauge(
      'ferry_model_accuracy',
      'Accuracy of each version on the delayed labels of the rolling window (FERRY_MONITOR_WINDOW_MS)',
    );
    this.weightedF1 = gauge(
      'ferry_model_weighted_f1',
      'Weighted F1 (scikit-learn average="weighted") of each version on the delayed labels of the rolling window',
    );
    this.compared = gauge(
      'ferry_model_feedback_compared',
      'Labels behind ferry_model_accuracy and ferry_model_weighted_f1 (joined to a prediction with a label)',
    );
  }

  start(): void {
    this.stopped = false;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** Labels arrived: recompute within `settleMs` (several arrivals share one refresh). */
  labelsArrived(): void {
    if (this.stopped || this.soon !== undefined) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, this.opts.settleMs);
    this.soon.unref();
  }

  /** Recomputes every model's figures (one refresh at a time: a call during one waits for it). */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.compute().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async compute(): Promise<void> {
    for (const model of this.opts.models) {
      let report: QualityReport;
      try {
        report = await rollingQuality(this.opts.source, model, this.opts.window);
      } catch (e) {
        this.opts.onError?.(e);
        continue;
      }
      this.set(model, report);
    }
  }

  /** Versions with figures per model: one that left the window leaves the gauges. */
  private readonly shown = new Map<string, Set<string>>();

  private set(model: string, report: QualityReport): void {
    const now = new Set(report.versions.map((v) => String(v.version)));
    for (const version of this.shown.get(model) ?? []) {
      if (!now.has(version))
        for (const g of [this.accuracy, this.weightedF1, this.compared]) g.remove({ model, version });
    }
    this.shown.set(model, now);
    for (const v of report.versions) {
      const labels = { model, version: String(v.version) };
      this.compared.set(labels, v.compared);
      if (v.accuracy !== null) this.accuracy.set(labels, v.accuracy);
      else this.accuracy.remove(labels);
      if (v.weightedF1 !== null) this.weightedF1.set(labels, v.weightedF1);
      else this.weightedF1.remove(labels);
    }
  }

  /** Stops the cadence and waits for a refresh in flight (the database it reads closes next). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.timer = undefined;
    this.soon = undefined;
    await this.running;
  }
}
