import { Cron } from 'croner';
import { ErrorCode, FerryError, isFerryError } from '../../core/errors.js';
import type { FeedbackSource } from '../../monitoring/feedback-types.js';
import type { RetrainTrigger } from './retrain.js';

export interface TriggerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RetrainWatcherOptions {
  model: string;
  /** Runs one retraining (its result is the caller's to record; errors are logged here). */
  run: (trigger: RetrainTrigger, cause: string) => Promise<unknown>;
  /** FERRY_RETRAIN_SCHEDULE: a cron expression, or undefined for none. */
  schedule?: string | undefined;
  /** FERRY_RETRAIN_AFTER_LABELS: retrain once this many labels arrived since the last run; 0: off. */
  afterLabels: number;
  feedback: FeedbackSource | null;
  /** When the model's last run started (the store's record, so a restart does not recount). */
  lastRunAt: () => Promise<string | null>;
  /** How often the label count is checked (default 60 s). */
  labelCheckMs?: number;
  /**
   * The newest alert of the model fired at or after `since` (from the monitor's alert store, so the
   * monitor may run in another process or on another machine), or undefined. When given, it is
   * polled every `labelCheckMs` and a new alert triggers a run.
   */
  alertSince?: (since: string) => Promise<{ readonly rule: string; readonly firedAt: string } | undefined>;
  log: TriggerLog;
  now?: () => Date;
}

/** A drift alert as the monitor loop hands it over: whatever it carries, summarised for the record. */
function summarise(alert: object): string {
  const text = JSON.stringify(alert);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * Starts retraining on a cron schedule, after N new labels, and when told of a drift alert. Runs in
 * this process never overlap: a trigger that fires during a run is kept (the latest one) and run
 * once the current run ends. Other replicas are kept out by the store's lease (FERRY_RETRAIN_BUSY,
 * logged as such, not as a failure).
 */
export class RetrainWatcher {
  private cron: Cron | null = null;
  private labelTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private pending: { trigger: RetrainTrigger; cause: string } | null = null;
  private stopped = false;
  /** Since when labels count, when no run is recorded yet: the watcher's start. */
  private startedAt = '';

  constructor(private readonly opts: RetrainWatcherOptions) {
    if (opts.afterLabels > 0 && !opts.feedback) {
      throw new FerryError(
        ErrorCode.CONFIG_INVALID,
        'FERRY_RETRAIN_AFTER_LABELS needs a feedback source (labels are counted there)',
      );
    }
  }

  start(): void {
    this.startedAt = (this.opts.now?.() ?? new Date()).toISOString();
    if (this.opts.schedule) {
      try {
        this.cron = new Cron(this.opts.schedule, () => this.trigger('schedule', this.opts.schedule ?? ''));
      } catch (e) {
        throw new FerryError(
          ErrorCode.CONFIG_INVALID,
          `FERRY_RETRAIN_SCHEDULE must be a cron expression, got "${this.opts.schedule}": ${(e as Error).message}`,
          { details: { setting: 'FERRY_RETRAIN_SCHEDULE' } },
        );
      }
    }
    if (this.opts.afterLabels > 0 || this.opts.alertSince) {
      this.labelTimer = setInterval(() => void this.poll(), this.opts.labelCheckMs ?? 60_000);
      this.labelTimer.unref();
    }
  }

  private async poll(): Promise<void> {
    if (this.opts.afterLabels > 0) await this.checkLabels();
    if (this.opts.alertSince) await this.checkAlerts();
  }

  /** A stored alert fired since the last run (or the start) triggers one run, as onDriftAlert does. */
  async checkAlerts(): Promise<void> {
    const alertSince = this.opts.alertSince;
    if (this.stopped || !alertSince || this.running) return;
    try {
      const since = (await this.opts.lastRunAt()) ?? this.startedAt;
      const alert = await alertSince(since);
      if (alert) this.trigger('drift', `alert ${alert.rule} fired at ${alert.firedAt}`);
    } catch (e) {
      this.opts.log.warn({ err: e, model: this.opts.model }, 'retrain: reading alerts failed');
    }
  }

  /** The monitor loop calls this when a drift alert fires for a model. */
  onDriftAlert(model: string, alert: object): void {
    if (model !== this.opts.model) return;
    this.trigger('drift', summarise(alert));
  }

  /** The next scheduled run, if any (for the CLI's start line). */
  nextScheduled(): Date | null {
    return this.cron?.nextRun() ?? null;
  }

  /** Stops the triggers and waits for a run in progress (and the one pending after it is dropped). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = null;
    this.cron?.stop();
    if (this.labelTimer) clearInterval(this.labelTimer);
    await this.running;
  }

  /** Resolves when no run is in progress (tests and the CLI wait on it). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async checkLabels(): Promise<void> {
    if (this.stopped || !this.opts.feedback || this.running) return;
    try {
      const since = (await this.opts.lastRunAt()) ?? this.startedAt;
      const count = await this.opts.feedback.countSince(this.opts.model, since);
      if (count >= this.opts.afterLabels) this.trigger('labels', `${count} new labels since ${since}`);
    } catch (e) {
      this.opts.log.warn({ err: e, model: this.opts.model }, 'retrain: counting new labels failed');
    }
  }

  trigger(trigger: RetrainTrigger, cause: string): void {
    if (this.stopped) return;
    if (this.running) {
      // Coalesced: several triggers during one run start one run after it.
      this.pending = { trigger, cause };
      return;
    }
    this.running = this.runOnce(trigger, cause).finally(() => {
      this.running = null;
      const next = this.pending;
      this.pending = null;
      if (next && !this.stopped) this.trigger(next.trigger, next.cause);
    });
  }

  private async runOnce(trigger: RetrainTrigger, cause: string): Promise<void> {
    const { model, log } = this.opts;
    log.info({ model, trigger, cause }, 'retrain: started');
    try {
      await this.opts.run(trigger, cause);
    } catch (e) {
      if (isFerryError(e, ErrorCode.RETRAIN_BUSY)) {
        log.info({ model, trigger }, 'retrain: another replica is retraining this model; skipped');
      } else {
        log.warn({ err: e, model, trigger }, 'retrain: failed');
      }
    }
  }
}
