/**
 * Load shedding is logged per burst, not per request: an overload sheds thousands of requests a
 * second and one line each would add to the overload. A burst is a run of sheds of one model with
 * gaps shorter than `quietMs`; it is reported once when it ends (with its count), and every
 * `reportEveryMs` while it lasts, so that a long overload is visible before it ends.
 */

export interface ShedBurst {
  model: string;
  /** Requests shed since the burst started. */
  count: number;
  overloaded: number;
  deadline: number;
  /** Since the burst's first shed. */
  durationMs: number;
  /** false: the burst is still going on (a periodic report). */
  ended: boolean;
}

export interface ShedBurstOptions {
  report: (burst: ShedBurst) => void;
  /** A gap this long ends a burst (default 1000 ms). */
  quietMs?: number;
  /** A burst still going on is reported this often (default 10 s). */
  reportEveryMs?: number;
  now?: () => number;
}

interface Burst {
  startedAt: number;
  reportedAt: number;
  lastAt: number;
  overloaded: number;
  deadline: number;
  timer: NodeJS.Timeout;
}

export class ShedBursts {
  private readonly bursts = new Map<string, Burst>();
  private readonly quietMs: number;
  private readonly reportEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: ShedBurstOptions) {
    this.quietMs = opts.quietMs ?? 1000;
    this.reportEveryMs = opts.reportEveryMs ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** One shed request: a counter bump, and a timer only when a burst starts. */
  shed(model: string, reason: 'overloaded' | 'deadline'): void {
    const now = this.now();
    let burst = this.bursts.get(model);
    if (burst === undefined) {
      burst = {
        startedAt: now,
        reportedAt: now,
        lastAt: now,
        overloaded: 0,
        deadline: 0,
        timer: this.arm(model),
      };
      this.bursts.set(model, burst);
    }
    burst.lastAt = now;
    burst[reason] += 1;
  }

  /** Reports the bursts in progress as ended (at shutdown). */
  close(): void {
    for (const [model, burst] of this.bursts) {
      clearTimeout(burst.timer);
      this.emit(model, burst, true);
    }
    this.bursts.clear();
  }

  private arm(model: string, delayMs = this.quietMs): NodeJS.Timeout {
    const timer = setTimeout(() => this.check(model), delayMs);
    timer.unref();
    return timer;
  }

  /** Ends the burst after a quiet gap; otherwise waits for the rest of the gap (no timer per shed). */
  private check(model: string): void {
    const burst = this.bursts.get(model);
    if (burst === undefined) return;
    const now = this.now();
    const quietFor = now - burst.lastAt;
    if (quietFor >= this.quietMs) {
      this.bursts.delete(model);
      this.emit(model, burst, true);
      return;
    }
    if (now - burst.reportedAt >= this.reportEveryMs) {
      this.emit(model, burst, false);
      burst.reportedAt = now;
    }
    burst.timer = this.arm(model, Math.max(1, this.quietMs - quietFor));
  }

  private emit(model: string, burst: Burst, ended: boolean): void {
    this.opts.report({
      model,
      count: burst.overloaded + burst.deadline,
      overloaded: burst.overloaded,
      deadline: burst.deadline,
      durationMs: Math.round(burst.lastAt - burst.startedAt),
      ended,
    });
  }
}
