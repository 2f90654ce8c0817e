/**
 * Adaptive batching in the manner of Triton's dynamic batcher and BentoML's adaptive batching: requests
 * that arrive while the model is busy are merged into the next batch, so throughput grows with load while
 * an idle server adds no latency. Framework-free: the HTTP layer maps the FerryErrors to responses.
 */

import { ErrorCode, FerryError, toFerryError } from '../core/errors.js';
import { nextCheckPhase } from '../core/event-loop.js';

export interface BatcherOptions {
  /** Items per batch (>= 1). */
  maxBatchSize: number;
  /** How long the first queued item may wait for others to fill the batch; default 0 = never wait when idle. */
  maxQueueDelayMs?: number;
  /** Items waiting (not running); a request that would go beyond it is rejected at once. */
  maxQueueSize: number;
}

/**
 * One call of the runner, for metrics. `queueMs` is the oldest item's wait before the batch started
 * (0 for the one-request-at-a-time re-runs after a batch threw, which did not wait in the queue again).
 */
export interface BatchStats {
  size: number;
  requests: number;
  queueMs: number;
  computeMs: number;
}

/** Returns one output per item, in order; an `Error` in a slot fails only the request owning that item. */
export type BatchRunner<I, O> = (
  items: readonly I[],
) => Promise<readonly (O | Error)[]> | readonly (O | Error)[];

export interface BatcherHooks {
  onBatch?(stats: BatchStats): void;
  /** Clock in ms for deadlines and timings; default `Date.now`. Deadlines must use the same clock. */
  now?: () => number;
}

export interface SubmitOptions {
  /** Absolute time in `now()` units after which the caller no longer wants the answer. */
  deadline?: number;
}

/** Weight of the newest batch in the moving average of per-item compute time. */
const EWMA_ALPHA = 0.2;
/** Node's setTimeout fires at once beyond this; such far deadlines are checked when the batch forms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Pending<I, O> {
  readonly items: readonly I[];
  readonly outputs: O[];
  readonly enqueuedAt: number;
  readonly deadline: number | undefined;
  /** Items handed to a batch (or dropped); the rest are still queued. */
  dispatched: number;
  completed: number;
  settled: boolean;
  deadlineTimer: NodeJS.Timeout | undefined;
  resolve(outputs: O[]): void;
  reject(error: unknown): void;
}

interface Segment<I, O> {
  readonly req: Pending<I, O>;
  readonly start: number;
  readonly end: number;
}

type Outcome<O> =
  | { ok: true; outputs: readonly (O | Error)[]; computeMs: number }
  | { ok: false; error: unknown; computeMs: number };

export class AdaptiveBatcher<I, O> {
  private readonly run: BatchRunner<I, O>;
  private readonly maxBatchSize: number;
  private readonly maxQueueDelayMs: number;
  private readonly maxQueueSize: number;
  private readonly hooks: BatcherHooks;
  private readonly now: () => number;

  /** FIFO of requests with items not yet dispatched; settled ones are skipped lazily. */
  private readonly queue: Pending<I, O>[] = [];
  private queued = 0;
  private running = false;
  private dispatchScheduled = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private msPerItem: number | undefined;
  private closing = false;
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  constructor(run: BatchRunner<I, O>, options: BatcherOptions, hooks: BatcherHooks = {}) {
    if (typeof run !== 'function') {
      throw configError('the batch runner must be a function', { run: typeof run });
    }
    const { maxBatchSize, maxQueueSize } = options;
    const maxQueueDelayMs = options.maxQueueDelayMs ?? 0;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
      throw configError('maxBatchSize must be an integer >= 1', { maxBatchSize });
    }
    if (typeof maxQueueDelayMs !== 'number' || !Number.isFinite(maxQueueDelayMs) || maxQueueDelayMs < 0) {
      throw configError('maxQueueDelayMs must be a finite number >= 0', { maxQueueDelayMs });
    }
    if (maxQueueDelayMs > MAX_TIMER_MS) {
      throw configError(`maxQueueDelayMs must be <= ${MAX_TIMER_MS}`, { maxQueueDelayMs });
    }
    if (
      !(maxQueueSize === Number.POSITIVE_INFINITY || (Number.isInteger(maxQueueSize) && maxQueueSize >= 1))
    ) {
      throw configError('maxQueueSize must be an integer >= 1 (or Infinity)', { maxQueueSize });
    }
    if (hooks.onBatch !== undefined && typeof hooks.onBatch !== 'function') {
      throw configError('hooks.onBatch must be a function', {});
    }
    if (hooks.now !== undefined && typeof hooks.now !== 'function') {
      throw configError('hooks.now must be a function', {});
    }
    this.run = run;
    this.maxBatchSize = maxBatchSize;
    this.maxQueueDelayMs = maxQueueDelayMs;
    this.maxQueueSize = maxQueueSize;
    this.hooks = hooks;
    this.now = hooks.now ?? (() => Date.now());
  }

  /** Items waiting for a batch, not counting the batch running now. */
  get queuedItems(): number {
    return this.queued;
  }

  /** True while the runner is working on a batch. */
  get busy(): boolean {
    return this.running;
  }

  /** Items of one request stay together and in order; resolves with this request's outputs in order. */
  submit(items: readonly I[], opts: SubmitOptions = {}): Promise<O[]> {
    if (this.closing) {
      return Promise.reject(new FerryError(ErrorCode.SERVING_SHUTTING_DOWN, 'the batcher is shutting down'));
    }
    if (items.length === 0) return Promise.resolve([]);
    if (items.length > this.maxQueueSize) {
      // Retrying cannot help, so this is not a 503 with Retry-After.
      return Promise.reject(
        new FerryError(
          ErrorCode.SERVING_REQUEST_TOO_LARGE,
          `a request of ${items.length} items can never fit a queue of ${this.maxQueueSize}`,
          { details: { items: items.length, maxQueueSize: this.maxQueueSize } },
        ),
      );
    }
    if (this.queued + items.length > this.maxQueueSize) {
      return Promise.reject(
        new FerryError(ErrorCode.SERVING_OVERLOADED, 'too many items waiting for the model', {
          details: {
            retryAfterSeconds: this.retryAfterSeconds(),
            queuedItems: this.queued,
            maxQueueSize: this.maxQueueSize,
          },
        }),
      );
    }
    const now = this.now();
    // A non-finite deadline (Infinity, NaN) is treated as no deadline rather than as already expired.
    const deadline =
      opts.deadline !== undefined && Number.isFinite(opts.deadline) ? opts.deadline : undefined;
    if (deadline !== undefined) {
      const estimatedWaitMs = this.estimatedWaitMs();
      if (now >= deadline || now + estimatedWaitMs > deadline) {
        return Promise.reject(this.deadlineError('the deadline cannot be met', { estimatedWaitMs }));
      }
    }
    return new Promise<O[]>((resolve, reject) => {
      const req: Pending<I, O> = {
        items,
        outputs: new Array<O>(items.length),
        enqueuedAt: now,
        deadline,
        dispatched: 0,
        completed: 0,
        settled: false,
        deadlineTimer: undefined,
        resolve,
        reject,
      };
      if (deadline !== undefined && deadline - now <= MAX_TIMER_MS) {
        // A timer, not only the check at batch formation, so the caller hears back while a long batch runs.
        req.deadlineTimer = setTimeout(() => this.expire(req), deadline - now);
      }
      this.queue.push(req);
      this.queued += items.length;
      this.schedule();
    });
  }

  /** Stop accepting (submit rejects with SERVING_SHUTTING_DOWN), resolve when everything queued and running has finished. */
  drain(): Promise<void> {
    if (this.drained === undefined) {
      this.closing = true;
      this.drained = new Promise<void>((resolve) => {
        this.resolveDrained = resolve;
      });
      // Nothing more can join a batch, so waiting out maxQueueDelayMs would only add latency.
      this.schedule();
    }
    return this.drained;
  }

  private schedule(): void {
    if (this.running || this.dispatchScheduled) return;
    this.pruneHead();
    const head = this.queue[0];
    if (head === undefined) {
      this.clearDelayTimer();
      if (this.closing) this.resolveDrained?.();
      return;
    }
    if (this.closing || this.maxQueueDelayMs === 0 || this.queued >= this.maxBatchSize) {
      this.dispatchSoon();
      return;
    }
    if (this.delayTimer !== undefined) return;
    const remainingMs = head.enqueuedAt + this.maxQueueDelayMs - this.now();
    if (remainingMs <= 0) {
      this.dispatchSoon();
      return;
    }
    // The timer is the authority when it fires (no re-check against now()), so a clock that does not
    // advance with real time, as in tests, cannot make the batcher wait forever.
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.dispatchSoon();
    }, remainingMs);
  }

  /** setImmediate rather than a microtask, so I/O (new requests) gets in between batches. */
  private dispatchSoon(): void {
    this.clearDelayTimer();
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.running) return;
    const segments = this.formBatch();
    if (segments.length === 0) {
      this.schedule();
      return;
    }
    const startedAt = this.now();
    let oldest = Number.POSITIVE_INFINITY;
    for (const seg of segments) oldest = Math.min(oldest, seg.req.enqueuedAt);
    this.running = true;
    void this.execute(segments, Math.max(0, startedAt - oldest))
      .catch((e: unknown) => {
        // Only a bug in this file gets here; fail the requests loudly rather than leave them hanging.
        for (const seg of segments) this.fail(seg.req, toFerryError(e));
      })
      .finally(() => {
        this.running = false;
        this.schedule();
      });
  }

  private formBatch(): Segment<I, O>[] {
    const segments: Segment<I, O>[] = [];
    const now = this.now();
    let size = 0;
    while (size < this.maxBatchSize) {
      const req = this.queue[0];
      if (req === undefined) break;
      if (req.settled || req.dispatched === req.items.length) {
        this.queue.shift();
        continue;
      }
      if (req.deadline !== undefined && now >= req.deadline) {
        this.fail(req, this.deadlineError('the deadline passed while queued', {}));
        this.queue.shift();
        continue;
      }
      const remaining = req.items.length - req.dispatched;
      const room = this.maxBatchSize - size;
      let take: number;
      if (remaining <= room) take = remaining;
      // Only a request that can never fit one batch is split; it may as well fill the room left.
      else if (req.items.length > this.maxBatchSize) take = room;
      else break;
      segments.push({ req, start: req.dispatched, end: req.dispatched + take });
      req.dispatched += take;
      this.queued -= take;
      size += take;
      if (req.dispatched === req.items.length) {
        // Fully running: the deadline covers waiting only, since a started computation cannot be recalled.
        clearTimeout(req.deadlineTimer);
        req.deadlineTimer = undefined;
        this.queue.shift();
      }
    }
    return segments;
  }

  private async execute(segments: readonly Segment<I, O>[], queueMs: number): Promise<void> {
    const items: I[] = [];
    for (const seg of segments) {
      for (let i = seg.start; i < seg.end; i++) items.push(seg.req.items[i]!);
    }
    const outcome = await this.invoke(items);
    this.report({ size: items.length, requests: segments.length, queueMs, computeMs: outcome.computeMs });
    if (outcome.ok) {
      this.deliver(segments, outcome.outputs);
      return;
    }
    const only = segments[0];
    if (segments.length === 1 && only !== undefined) {
      // It already ran alone: a re-run would only double the cost of a deterministic failure.
      this.fail(only.req, outcome.error);
      return;
    }
    // One bad request must not fail its neighbours: give each one a run of its own.
    for (const seg of segments) {
      if (seg.req.settled) continue;
      await nextCheckPhase();
      if (seg.req.settled) continue;
      const alone = await this.invoke(seg.req.items.slice(seg.start, seg.end));
      this.report({ size: seg.end - seg.start, requests: 1, queueMs: 0, computeMs: alone.computeMs });
      if (alone.ok) this.deliver([seg], alone.outputs);
      else this.fail(seg.req, alone.error);
    }
  }

  private async invoke(items: readonly I[]): Promise<Outcome<O>> {
    const startedAt = this.now();
    try {
      const outputs = await this.run(items);
      const computeMs = Math.max(0, this.now() - startedAt);
      if (!outputs || outputs.length !== items.length) {
        const error = new FerryError(
          ErrorCode.INTERNAL,
          `the batch runner returned ${outputs?.length ?? 'no'} outputs for ${items.length} items`,
          { details: { items: items.length, outputs: outputs?.length ?? null } },
        );
        return { ok: false, error, computeMs };
      }
      this.observe(computeMs, items.length);
      return { ok: true, outputs, computeMs };
    } catch (error) {
      return { ok: false, error, computeMs: Math.max(0, this.now() - startedAt) };
    }
  }

  private deliver(segments: readonly Segment<I, O>[], outputs: readonly (O | Error)[]): void {
    let offset = 0;
    for (const seg of segments) {
      const { req } = seg;
      const length = seg.end - seg.start;
      if (!req.settled) {
        for (let i = 0; i < length; i++) {
          const out = outputs[offset + i] as O | Error;
          if (out instanceof Error) {
            this.fail(req, out);
            break;
          }
          req.outputs[seg.start + i] = out;
        }
      }
      if (!req.settled) {
        req.completed += length;
        if (req.completed === req.items.length) {
          req.settled = true;
          clearTimeout(req.deadlineTimer);
          req.resolve(req.outputs);
        }
      }
      offset += length;
    }
  }

  /** Rejects a request and withdraws whatever of it is still queued, so it is never computed. */
  private fail(req: Pending<I, O>, error: unknown): void {
    if (req.settled) return;
    req.settled = true;
    clearTimeout(req.deadlineTimer);
    req.deadlineTimer = undefined;
    this.queued -= req.items.length - req.dispatched;
    req.dispatched = req.items.length;
    req.reject(error instanceof Error ? error : toFerryError(error));
  }

  private expire(req: Pending<I, O>): void {
    req.deadlineTimer = undefined;
    if (req.settled || req.dispatched === req.items.length) return;
    this.fail(req, this.deadlineError('the deadline passed while queued', {}));
    // The queue shrank: the head may have changed, or a drain may now be complete.
    this.schedule();
  }

  private pruneHead(): void {
    for (let head = this.queue[0]; head !== undefined; head = this.queue[0]) {
      if (!head.settled && head.dispatched < head.items.length) return;
      this.queue.shift();
    }
  }

  private clearDelayTimer(): void {
    if (this.delayTimer === undefined) return;
    clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
  }

  private observe(computeMs: number, size: number): void {
    const perItem = computeMs / size;
    this.msPerItem =
      this.msPerItem === undefined ? perItem : this.msPerItem + EWMA_ALPHA * (perItem - this.msPerItem);
  }

  private estimatedWaitMs(): number {
    return this.queued * (this.msPerItem ?? 0);
  }

  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.estimatedWaitMs() / 1000));
  }

  private deadlineError(message: string, details: Record<string, unknown>): FerryError {
    return new FerryError(ErrorCode.SERVING_DEADLINE, message, {
      details: { ...details, retryAfterSeconds: this.retryAfterSeconds() },
    });
  }

  private report(stats: BatchStats): void {
    if (this.hooks.onBatch === undefined) return;
    try {
      // Called on the hooks object so a hook written as a method keeps its `this`.
      this.hooks.onBatch(stats);
    } catch {
      // A metrics hook must never break serving; it has no caller to report to here.
    }
  }
}

function configError(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.CONFIG_INVALID, `invalid batcher options: ${message}`, {
    details,
  });
}
