/**
 * When the primary of `ferry serve --workers N` restarts a worker that exited, and when it gives up.
 *
 * Pure bookkeeping (no timers, no processes) so that the policy is tested apart from node:cluster.
 * A worker that exits unexpectedly is restarted after a delay that doubles with each exit in a row
 * (`baseDelayMs`, 2×, 4×, … capped at `maxDelayMs`), so that a worker failing at once (a database
 * down, a bad artifact) does not fork in a tight loop; a worker that served for `stableAfterMs`
 * before it died resets the delay. The primary gives up when no worker is listening and
 * `maxStartFailures` workers in a row exited before listening, or at once when a worker failed
 * with an error a restart cannot fix (the port is taken, the configuration is invalid): a primary
 * holding the port with no worker behind it would accept connections and never answer them.
 */
export interface WorkerRestartOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Workers in a row that exit before listening, with none listening, before the primary gives up. */
  maxStartFailures: number;
  /** A worker that listened at least this long before it died counts as stable. */
  stableAfterMs: number;
}

const DEFAULT_WORKER_RESTARTS: WorkerRestartOptions = {
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  maxStartFailures: 5,
  stableAfterMs: 10_000,
};

export interface WorkerExit {
  /** Whether the worker was listening before it exited. */
  listened: boolean;
  /** How long it was listening (0 if it never did). */
  listeningMs: number;
  /** True when its start failed with an error a restart cannot fix. */
  fatal: boolean;
}

export type RestartDecision =
  | { action: 'restart'; delayMs: number }
  | { action: 'give-up'; startFailures: number };

export class WorkerRestarts {
  private readonly opts: WorkerRestartOptions;
  /** Unexpected exits since the last stable worker: the exponent of the delay. */
  private exitsInARow = 0;
  /** Workers in a row that exited before listening. */
  private startFailuresInARow = 0;
  private listeningNow = 0;

  constructor(opts: Partial<WorkerRestartOptions> = {}) {
    this.opts = { ...DEFAULT_WORKER_RESTARTS, ...opts };
  }

  get startFailures(): number {
    return this.startFailuresInARow;
  }

  /** A worker is listening: start failures stop counting. */
  listening(): void {
    this.listeningNow++;
    this.startFailuresInARow = 0;
  }

  /** A worker exited without being asked to; says whether to start another and when. */
  exited(exit: WorkerExit): RestartDecision {
    if (exit.listened) this.listeningNow = Math.max(0, this.listeningNow - 1);
    if (exit.listened && exit.listeningMs >= this.opts.stableAfterMs) this.exitsInARow = 0;
    this.exitsInARow++;
    if (!exit.listened) this.startFailuresInARow++;
    if (
      this.listeningNow === 0 &&
      !exit.listened &&
      (exit.fatal || this.startFailuresInARow >= this.opts.maxStartFailures)
    ) {
      return { action: 'give-up', startFailures: this.startFailuresInARow };
    }
    const delayMs = Math.min(this.opts.baseDelayMs * 2 ** (this.exitsInARow - 1), this.opts.maxDelayMs);
    return { action: 'restart', delayMs };
  }
}
