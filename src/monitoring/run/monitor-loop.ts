import { ErrorCode, isFerryError, toFerryError } from '../../core/errors.js';
import type { PredictionLogCursor, PredictionLogReader } from '../../ports/prediction-log-reader.js';
import { weightedMetrics } from '../../train/metrics.js';
import type { AlertDelivery, AlertStore } from '../alerts/alert-store.js';
import { type Alert, evaluateRules } from '../alerts/evaluate.js';
import type { AlertRule, DetectorStream } from '../alerts/rules.js';
import type { WebhookOutcome } from '../alerts/webhook.js';
import type { DetectorName, DetectorState, DriftDetector } from '../detector-types.js';
import { DETECTOR_NAMES } from '../detectors/index.js';
import type { FeedbackSource } from '../feedback-types.js';
import { confidenceOf } from './confidence.js';
import type { MonitorMetrics } from './monitor-metrics.js';
import { type ModelMonitorState, parseMonitorState } from './monitor-state.js';

/** A drift report as the loop reads it: whatever computes reports is adapted to this by the wiring. */
export interface DriftReportLike {
  /** Items of the window compared with the reference; 0: no data. */
  readonly rows: number;
  readonly datasetDriftShare: number;
  readonly features: ReadonlyArray<{
    readonly feature: string;
    readonly method: string;
    readonly score: number;
    readonly threshold: number;
    readonly drifted: boolean;
    readonly psi?: number;
  }>;
  /** Share of the window's tokens outside the training vocabulary (text models). */
  readonly oovRate?: number;
}

export interface MonitoredVersion {
  readonly name: string;
  readonly version: number;
}

/** The drift report of a version over [since, until); undefined when the window has no data. */
export type ComputeReport = (
  model: MonitoredVersion,
  window: { readonly since: string; readonly until: string },
) => Promise<DriftReportLike | undefined>;

export interface DetectorFactory {
  create(name: DetectorName): DriftDetector;
  restore(state: DetectorState): DriftDetector;
}

/** The alert's delivery: a webhook's `notify` (returns at once, reports its outcome later). */
export interface AlertNotifier {
  notify(alert: Alert): void;
  drain(): Promise<void>;
}

export interface MonitorLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type AlertListener = (alert: Alert) => void | Promise<void>;

export interface MonitorLoopDeps {
  /** `name`, `name@alias` or `name/version`; aliases are resolved on every tick, so a promotion is followed. */
  readonly models: readonly string[];
  readonly resolve: (ref: string) => Promise<MonitoredVersion>;
  readonly computeReport: ComputeReport;
  readonly log: PredictionLogReader;
  readonly feedback?: FeedbackSource;
  readonly detectors: DetectorFactory;
  readonly store: AlertStore;
  readonly metrics: MonitorMetrics;
  readonly rules: readonly AlertRule[];
  readonly notifier?: AlertNotifier;
  readonly logger: MonitorLog;
  readonly intervalMs: number;
  readonly windowMs: number;
  /**
   * The log is read up to `now − settleMs`: records are written a little after they are answered
   * (the logger batches them), and the cursor must not pass a time whose records are still coming.
   */
  readonly settleMs?: number;
  readonly clock?: () => number;
}

/** Records per page of the log (the reader's own cap is 10 000). */
const PAGE = 5000;
/** Features an alert's report excerpt lists, most drifted first. */
const EXCERPT_FEATURES = 10;

/** The tick's outcome for one model (returned by `tick()` for tests and the bench). */
export interface ModelTick {
  readonly model: string;
  readonly version?: number;
  readonly fed: { readonly confidence: number; readonly error: number };
  readonly values: Readonly<Record<string, number>>;
  readonly fired: readonly Alert[];
  readonly error?: string;
}

/**
 * Monitoring that runs: every `intervalMs`, for each model, the drift report over the last
 * `windowMs`, the streaming detectors fed with what arrived since the last tick (confidences from the
 * log, 0/1 errors from labels), the Prometheus gauges, the alert rules, and the alerts stored,
 * logged, POSTed to the webhook and handed to the listeners. One tick at a time; a tick that fails for
 * a model is logged and counted and the others go on; state is saved after each model's tick.
 */
export class MonitorLoop {
  private readonly listeners: AlertListener[] = [];
  private readonly states = new Map<string, ModelMonitorState>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ModelTick[]> | undefined;
  private stopped = true;
  private readonly clock: () => number;
  /** Delivery outcomes being written to the alerts table (awaited by stop()). */
  private readonly writes = new Set<Promise<void>>();

  constructor(private readonly deps: MonitorLoopDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  onAlert(listener: AlertListener): void {
    this.listeners.push(listener);
  }

  /** Runs a tick now, then one every interval after the previous one ended (never two at once). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops scheduling, waits for the tick in progress and the webhook deliveries in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    await this.deps.notifier?.drain();
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule(this.deps.intervalMs));
    }, delayMs);
    this.timer.unref?.();
  }

  /** One tick over every model; a tick already running is joined, not doubled. */
  tick(): Promise<ModelTick[]> {
    this.running ??= this.runTick().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runTick(): Promise<ModelTick[]> {
    const started = performance.now();
    const out: ModelTick[] = [];
    for (const ref of this.deps.models) {
      try {
        out.push(await this.tickModel(ref));
      } catch (e) {
        const err = toFerryError(e);
        this.deps.metrics.tickFailures.inc({ model: ref });
        this.deps.logger.error(
          { err, model: ref, code: err.code },
          `monitoring tick of ${ref} failed: ${err.message}`,
        );
        out.push({ model: ref, fed: { confidence: 0, error: 0 }, values: {}, fired: [], error: err.message });
      }
    }
    this.deps.metrics.tickSeconds.observe((performance.now() - started) / 1000);
    this.deps.metrics.lastRun.set(this.clock() / 1000);
    return out;
  }

  private async loadState(name: string, version: number, now: number): Promise<ModelMonitorState> {
    const known = this.states.get(name) ?? parseMonitorState(await this.deps.store.loadState(name));
    const fresh: ModelMonitorState = {
      schema: 1,
      version,
      cursor: null,
      labelsSince: new Date(now - this.deps.windowMs).toISOString(),
      detectors: {},
      rules: {},
    };
    if (known === undefined) return fresh;
    // A new version (an alias moved) is a new model: its detectors start afresh where reading stands.
    if (known.version !== version) return { ...known, version, detectors: {} };
    return known;
  }

  private detectorsOf(state: ModelMonitorState): Map<string, DriftDetector> {
    const out = new Map<string, DriftDetector>();
    for (const stream of ['confidence', 'error'] as const) {
      for (const name of DETECTOR_NAMES) {
        const key = `${stream}:${name}`;
        const saved = state.detectors[key];
        out.set(key, saved ? this.deps.detectors.restore(saved) : this.deps.detectors.create(name));
      }
    }
    return out;
  }

  private async tickModel(ref: string): Promise<ModelTick> {
    const { metrics, logger } = this.deps;
    const now = this.clock();
    const target = await this.deps.resolve(ref);
    const model = target.name;
    const state = await this.loadState(model, target.version, now);
    const detectors = this.detectorsOf(state);
    const signals = new Map<string, number>();
    const values = new Map<string, number>();
    const until = new Date(now - (this.deps.settleMs ?? 0)).toISOString();

    const report = await this.report(target, now);
    if (report === undefined || report.rows === 0) {
      metrics.clearDrift(model);
    } else {
      values.set('rows', report.rows);
      values.set('dataset_drift_share', report.datasetDriftShare);
      values.set('drifted_features', report.features.filter((f) => f.drifted).length);
      if (report.oovRate !== undefined && Number.isFinite(report.oovRate))
        values.set('oov_rate', report.oovRate);
      for (const f of report.features) {
        values.set(`feature_drift_score:${f.feature}`, f.score);
        values.set(`feature_drifted:${f.feature}`, f.drifted ? 1 : 0);
        if (f.psi !== undefined) values.set(`feature_psi:${f.feature}`, f.psi);
      }
      metrics.setDrift(model, report.datasetDriftShare, report.features);
    }

    const feed = (stream: DetectorStream, value: number) => {
      for (const name of DETECTOR_NAMES) {
        const key = `${stream}:${name}`;
        try {
          if (detectors.get(key)!.update(value)) signals.set(key, (signals.get(key) ?? 0) + 1);
        } catch (e) {
          if (!isFerryError(e, ErrorCode.MONITOR_DETECTOR_INPUT)) throw e;
          metrics.detectorSkipped.inc({ model, stream });
          return;
        }
      }
    };

    const cursor = await this.feedConfidences(target, state, until, feed);
    const labels = await this.feedErrors(target, state, until, feed);
    let fedErrors = 0;
    if (labels !== undefined) {
      fedErrors = labels.fed;
      if (labels.window.total > 0) {
        values.set('labels', labels.window.total);
        values.set('accuracy', labels.window.accuracy);
        values.set('weighted_f1', labels.window.weightedF1);
      }
    }

    let detectorDrifts = 0;
    for (const stream of ['confidence', 'error'] as const) {
      for (const name of DETECTOR_NAMES) {
        const n = signals.get(`${stream}:${name}`) ?? 0;
        values.set(`detector:${name}:${stream}`, n);
        detectorDrifts += n;
        if (n > 0) {
          metrics.detectorDrifts.inc({ model, detector: name, stream }, n);
          logger.info(
            { event: 'detector_drift', model, version: target.version, detector: name, stream, signals: n },
            `${model} version ${target.version}: ${name} signalled drift of the ${stream} stream`,
          );
        }
      }
    }
    values.set('detector_drifts', detectorDrifts);

    const evaluation = evaluateRules({
      model,
      version: target.version,
      rules: this.deps.rules,
      states: state.rules,
      values,
      now,
      ...(report !== undefined && report.rows > 0
        ? { report: excerpt(report, now, this.deps.windowMs) }
        : {}),
    });
    for (const r of evaluation.resolved) {
      await this.deps.store.resolve(r);
      logger.info({ event: 'alert_resolved', ...r }, `alert ${r.rule} of ${r.model} resolved`);
    }
    for (const alert of evaluation.fired) await this.raise(alert);

    const next: ModelMonitorState = {
      schema: 1,
      version: target.version,
      cursor: cursor.cursor,
      labelsSince: labels?.next ?? state.labelsSince,
      detectors: Object.fromEntries([...detectors].map(([key, d]) => [key, d.toJSON()])),
      rules: evaluation.states,
    };
    await this.deps.store.saveState(model, next);
    this.states.set(model, next);
    return {
      model,
      version: target.version,
      fed: { confidence: cursor.fed, error: fedErrors },
      values: Object.fromEntries(values),
      fired: evaluation.fired,
    };
  }

  /**
   * The report, or undefined when it cannot be made: no reference profile yet (a warning), or the
   * report failed (logged and counted). Either way the detectors still run.
   */
  private async report(target: MonitoredVersion, now: number): Promise<DriftReportLike | undefined> {
    try {
      return await this.deps.computeReport(target, {
        since: new Date(now - this.deps.windowMs).toISOString(),
        until: new Date(now).toISOString(),
      });
    } catch (e) {
      const err = toFerryError(e);
      const where = { model: target.name, version: target.version, code: err.code };
      if (err.code === ErrorCode.MONITOR_NO_REFERENCE) {
        this.deps.logger.warn(
          where,
          `${target.name} version ${target.version} has no reference profile: no drift report, the detectors still run`,
        );
      } else {
        this.deps.metrics.reportFailures.inc({ model: target.name });
        this.deps.logger.error({ ...where, err }, `drift report of ${target.name} failed: ${err.message}`);
      }
      return undefined;
    }
  }

  /** Feeds the confidence of every item logged after the cursor (first tick: within the window). */
  private async feedConfidences(
    target: MonitoredVersion,
    state: ModelMonitorState,
    until: string,
    feed: (stream: DetectorStream, value: number) => void,
  ): Promise<{ cursor: PredictionLogCursor | null; fed: number }> {
    let after: PredictionLogCursor | null = state.cursor;
    const since = after === null ? new Date(Date.parse(until) - this.deps.windowMs).toISOString() : undefined;
    let fed = 0;
    let skipped = 0;
    for (;;) {
      const page = await this.deps.log.read({
        model: target.name,
        until,
        limit: PAGE,
        ...(after !== null ? { after } : {}),
        ...(since !== undefined ? { since } : {}),
      });
      for (const record of page.records) {
        // Records of other versions (an old one still draining, an experiment's arm) move the cursor only.
        if (record.version !== target.version) continue;
        for (const item of record.items) {
          const c = confidenceOf(item);
          if (c === undefined) skipped++;
          else {
            feed('confidence', c);
            fed++;
          }
        }
      }
      const last = page.records.at(-1);
      if (last !== undefined) after = { at: last.at, requestId: last.requestId };
      if (page.next === null) break;
    }
    if (skipped > 0)
      this.deps.metrics.detectorSkipped.inc({ model: target.name, stream: 'confidence' }, skipped);
    return { cursor: after, fed };
  }

  /**
   * Feeds 0/1 errors of the labels received since the last tick, and measures accuracy and weighted
   * F1 over the labels of the window. Undefined without a feedback source.
   */
  private async feedErrors(
    target: MonitoredVersion,
    state: ModelMonitorState,
    until: string,
    feed: (stream: DetectorStream, value: number) => void,
  ): Promise<
    { fed: number; next: string; window: { total: number; accuracy: number; weightedF1: number } } | undefined
  > {
    const feedback = this.deps.feedback;
    if (feedback === undefined) return undefined;
    const range = { version: target.version, until };
    const fresh = await feedback.labeled(target.name, {
      ...range,
      ...(state.labelsSince !== null ? { since: state.labelsSince } : {}),
    });
    let fed = 0;
    for (const p of fresh.matched) {
      if (p.predicted === undefined) continue;
      feed('error', p.predicted === p.label ? 0 : 1);
      fed++;
    }
    const since = new Date(Date.parse(until) - this.deps.windowMs).toISOString();
    const window = await feedback.labeled(target.name, { ...range, since });
    const judged = window.matched.filter((p) => p.predicted !== undefined);
    const yTrue = judged.map((p) => p.label);
    const yPred = judged.map((p) => p.predicted as string);
    const correct = judged.filter((p) => p.predicted === p.label).length;
    const classes = [...new Set([...yTrue, ...yPred])].sort();
    return {
      fed,
      next: until,
      window: {
        total: judged.length,
        accuracy: judged.length === 0 ? 0 : correct / judged.length,
        weightedF1: judged.length === 0 ? 0 : weightedMetrics(yTrue, yPred, classes).f1,
      },
    };
  }

  /** Stores, logs, counts, sends and hands an alert to the listeners; the webhook never holds the tick. */
  private async raise(alert: Alert): Promise<void> {
    const { store, notifier, metrics, logger } = this.deps;
    const delivery: AlertDelivery = notifier === undefined ? 'none' : 'pending';
    const isNew = await store.insert(alert, delivery);
    if (!isNew) return;
    metrics.alerts.inc({ rule: alert.rule, severity: alert.severity });
    logger.warn(
      {
        event: 'alert',
        rule: alert.rule,
        model: alert.model,
        version: alert.version,
        severity: alert.severity,
        value: alert.value,
        threshold: alert.threshold,
        firedAt: alert.firedAt,
      },
      `ALERT ${alert.severity}: ${alert.message}`,
    );
    notifier?.notify(alert);
    for (const listener of this.listeners) {
      void Promise.resolve()
        .then(() => listener(alert))
        .catch((e: unknown) =>
          logger.error(
            { err: toFerryError(e), rule: alert.rule, model: alert.model },
            'an alert listener failed',
          ),
        );
    }
  }

  /** What the webhook's outcome becomes: the stored alert's delivery, a log line and a count on failure. */
  recordDelivery(alert: Alert, outcome: WebhookOutcome): void {
    const { store, metrics, logger } = this.deps;
    if (!outcome.ok) {
      metrics.webhookFailures.inc();
      logger.warn(
        {
          code: outcome.error.code,
          rule: alert.rule,
          model: alert.model,
          attempts: outcome.attempts,
          details: outcome.error.details,
        },
        outcome.error.message,
      );
    }
    const write = store
      .setDelivery(alert, outcome.ok ? 'delivered' : 'failed')
      .catch((e: unknown) => logger.error({ err: toFerryError(e) }, 'could not record the webhook delivery'));
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }
}

/** The part of a report an alert keeps as evidence: the window, counts and the most drifted features. */
function excerpt(report: DriftReportLike, now: number, windowMs: number): unknown {
  const features = [...report.features]
    .sort((a, b) => Number(b.drifted) - Number(a.drifted) || a.feature.localeCompare(b.feature))
    .slice(0, EXCERPT_FEATURES);
  return {
    window: { since: new Date(now - windowMs).toISOString(), until: new Date(now).toISOString() },
    rows: report.rows,
    datasetDriftShare: report.datasetDriftShare,
    features,
    ...(report.oovRate !== undefined ? { oovRate: report.oovRate } : {}),
  };
}
