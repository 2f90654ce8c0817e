import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { promisify } from 'node:util';

/**
 * The SQLite writer thread yields the CPU to requests: it runs under Linux's SCHED_IDLE policy, so
 * it gets a core only when no request wants one. Why: under the normal policy, each time a write
 * woke the thread the kernel let it preempt the server's thread (or the client's), and those waits
 * were the prediction log's whole p99 at one connection. Measured on the 2-core machine with wrk
 * beside the server (docs/benchmarks.md): p99 2.7–3.0 ms with the normal policy, 1.3–2.2 ms with
 * SCHED_IDLE and 1.8–2.1 ms with the log off; `nice 19` and SCHED_BATCH changed nothing.
 *
 * A starved thread would fall behind and the log would drop records, so the thread goes back to the
 * normal policy as soon as a write waits too long for it, and yields again once it has kept up for a
 * while. A thread that could not go back (an unprivileged process whose RLIMIT_NICE forbids leaving
 * SCHED_IDLE, as in most containers without CAP_SYS_NICE) never yields in the first place. Node has
 * no call for the policy: util-linux's `chrt` sets it (on every Debian-based image); where it, or
 * /proc/thread-self, is missing the thread keeps the normal policy, as before.
 */

export type WriterPolicy = 'idle' | 'normal';

const run = promisify(execFile);

/** This thread's kernel id on Linux (/proc/thread-self links to `<pid>/task/<tid>`); undefined elsewhere. */
export function kernelThreadId(): number | undefined {
  try {
    const match = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

const CAP_SYS_NICE = 23n;

/**
 * Whether a thread of this process may leave SCHED_IDLE again (Linux's rule, sched_setscheduler(2)):
 * with CAP_SYS_NICE, or when RLIMIT_NICE allows its nice value (`20 - nice <= limit`). Entering
 * SCHED_IDLE needs no privilege, leaving it does: a process that could not would be stuck there.
 * `status` and `limits` are the texts of /proc/self/status and /proc/self/limits.
 */
export function mayLeaveIdle(status: string, limits: string, nice: number): boolean {
  const caps = /^CapEff:\s*([0-9a-f]+)$/im.exec(status);
  if (caps && (BigInt(`0x${caps[1]}`) >> CAP_SYS_NICE) & 1n) return true;
  const limit = /^Max nice priority\s+(\S+)/im.exec(limits)?.[1];
  if (limit === undefined) return false;
  return limit === 'unlimited' || 20 - nice <= Number(limit);
}

function mayThisThreadLeaveIdle(tid: number): boolean {
  try {
    return mayLeaveIdle(
      readFileSync('/proc/self/status', 'utf8'),
      readFileSync('/proc/self/limits', 'utf8'),
      getPriority(tid),
    );
  } catch {
    return false;
  }
}

/** Sets a thread's scheduling policy; false when it could not (no chrt, not permitted, gone). */
export async function setThreadPolicy(tid: number, policy: WriterPolicy): Promise<boolean> {
  try {
    await run('chrt', [policy === 'idle' ? '--idle' : '--other', '--pid', '0', String(tid)], {
      timeout: 5000,
    });
    return true;
  } catch {
    return false;
  }
}

/** What the writer thread reports once its scheduling is settled. */
export interface WriterScheduling {
  tid: number | undefined;
  policy: WriterPolicy;
  yields: boolean;
}

export interface YieldThresholds {
  /** A write that waited this long for the thread means it is starved: back to the normal policy. */
  behindMs: number;
  /** Yield again once every write for this long was taken up within `behindMs / 10`. */
  caughtUpMs: number;
}

export const DEFAULT_YIELD_THRESHOLDS: YieldThresholds = { behindMs: 200, caughtUpMs: 5000 };

/**
 * When to switch, from how long each write waited between its posting and the thread taking it up
 * (pure: the clock is the caller's). Hysteresis, so that a busy moment does not flip the policy on
 * every write.
 */
export class YieldDecision {
  private keptUpSince: number | undefined;

  constructor(private readonly thresholds: YieldThresholds = DEFAULT_YIELD_THRESHOLDS) {}

  /** The policy the thread should have after a write that waited `waitedMs`, at time `now` (ms). */
  next(current: WriterPolicy, waitedMs: number, now: number): WriterPolicy {
    const { behindMs, caughtUpMs } = this.thresholds;
    if (current === 'idle') {
      this.keptUpSince = undefined;
      return waitedMs >= behindMs ? 'normal' : 'idle';
    }
    if (waitedMs >= behindMs / 10) {
      this.keptUpSince = undefined;
      return 'normal';
    }
    this.keptUpSince ??= now;
    return now - this.keptUpSince >= caughtUpMs ? 'idle' : 'normal';
  }
}

/**
 * Runs in the writer thread: yields when the thread can also take the CPU back (tried once at start:
 * idle, normal, idle), then follows `YieldDecision` on every write. `observe` never throws and never
 * waits: a switch runs in the background, one at a time.
 */
export class YieldingWriterThread {
  private policy: WriterPolicy = 'normal';
  private switching = false;
  private enabled = false;

  private constructor(
    private readonly tid: number | undefined,
    private readonly decision: YieldDecision,
  ) {}

  static async start(thresholds?: YieldThresholds): Promise<YieldingWriterThread> {
    const tid = kernelThreadId();
    const thread = new YieldingWriterThread(tid, new YieldDecision(thresholds));
    // Checked before the first switch: a thread that entered SCHED_IDLE and could not leave it would
    // starve whenever requests keep the cores busy.
    if (tid === undefined || !mayThisThreadLeaveIdle(tid)) return thread;
    const canYield =
      (await setThreadPolicy(tid, 'idle')) &&
      (await setThreadPolicy(tid, 'normal')) &&
      (await setThreadPolicy(tid, 'idle'));
    if (canYield) {
      thread.policy = 'idle';
      thread.enabled = true;
    } else {
      // Never left idle without a way back; a failed first step left the policy as it was.
      await setThreadPolicy(tid, 'normal');
    }
    return thread;
  }

  /** The thread, the policy it runs under now, and whether it yields at all on this machine. */
  get state(): WriterScheduling {
    return { tid: this.tid, policy: this.policy, yields: this.enabled };
  }

  /** A write was taken up `waitedMs` after it was posted. */
  observe(waitedMs: number, now = Date.now()): void {
    if (!this.enabled || this.switching || this.tid === undefined) return;
    const next = this.decision.next(this.policy, waitedMs, now);
    if (next === this.policy) return;
    this.switching = true;
    void setThreadPolicy(this.tid, next)
      .then((ok) => {
        // A failed switch is tried again on the next write.
        if (ok) this.policy = next;
      })
      .finally(() => {
        this.switching = false;
      });
  }
}
