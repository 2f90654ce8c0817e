/**
 * Shadow testing: a copy of (a sampled share of) production's requests goes to a candidate model, off the
 * request path, and only the comparison is kept. mirror() is synchronous, O(1) and never throws, so the
 * user's answer and latency are production's alone; the candidate's answers never leave this file except
 * as counts. The queue is bounded in items: when it is full a request is dropped and counted, never waited on.
 */

import { ErrorCode, FerryError } from '../../core/errors.js';
import { nextCheckPhase } from '../../core/event-loop.js';
import type { NamedTensors } from '../../model/tensor.js';
import { type ShadowReport, ShadowStats, type ShadowStatsJSON } from './shadow-stats.js';

export type CandidatePredict = (items: readonly NamedTensors[]) => Promise<NamedTensors[]> | NamedTensors[];

export interface ShadowMirrorOptions {
  /** The candidate. A CPU-bound one shares the event loop with production: give it a worker if it is heavy. */
  predict: CandidatePredict;
  /** Items waiting for the candidate (not counting the call in flight). */
  maxQueue: number;
  /** Share of requests mirrored, in [0, 1]; a request is mirrored whole or not at all. */
  sampleRate: number;
  /** Items per candidate call; queued requests are merged up to it as production's batcher would. Default 32. */
  maxBatchSize?: number;
  /** In [0, 1); seed it in tests. Default Math.random. */
  random?: () => number;
  /** Clock (ms) timing the candidate's calls. Default performance.now. */
  now?: () => number;
}

interface Entry {
  readonly items: readonly NamedTensors[];
  /** Undefined when production failed. */
  readonly production: readonly NamedTensors[] | undefined;
  readonly productionLatencyMs: number;
}

type CallResult = { ok: true; predictions: readonly NamedTensors[]; ms: number } | { ok: false };

const DEFAULT_MAX_BATCH_SIZE = 32;

export class ShadowMirror {
  private readonly predict: CandidatePredict;
  private readonly maxQueue: number;
  private readonly sampleRate: number;
  private readonly maxBatchSize: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly stats = new ShadowStats();
  /** FIFO with a moving head, so taking from the front is O(1) too. */
  private queue: Entry[] = [];
  private head = 0;
  private queued = 0;
  private running = false;
  private scheduled = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: ShadowMirrorOptions) {
    const { predict, maxQueue, sampleRate } = options;
    const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    if (typeof predict !== 'function') throw configError('predict must be a function', {});
    if (!(Number.isSafeInteger(maxQueue) && maxQueue >= 1)) {
      throw configError('maxQueue must be an integer >= 1', { maxQueue });
    }
    if (!(typeof sampleRate === 'number' && sampleRate >= 0 && sampleRate <= 1)) {
      throw configError('sampleRate must be within [0, 1]', { sampleRate });
    }
    if (!(Number.isSafeInteger(maxBatchSize) && maxBatchSize >= 1)) {
      throw configError('maxBatchSize must be an integer >= 1', { maxBatchSize });
    }
    for (const name of ['random', 'now'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') {
        throw configError(`${name} must be a function`, {});
      }
    }
    this.predict = predict;
    this.maxQueue = maxQueue;
    this.sampleRate = sampleRate;
    this.maxBatchSize = maxBatchSize;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
  }

  /** Items waiting for the candidate. */
  get queuedItems(): number {
    return this.queued;
  }

  /**
   * Offers one answered production request for shadowing; returns whether it was queued. Call it after the
   * answer is ready (or has failed: pass the error and no predictions). The arrays are kept, not copied:
   * do not mutate them afterwards.
   */
  mirror(
    items: readonly NamedTensors[],
    productionPredictions: readonly NamedTensors[] | undefined,
    productionLatencyMs: number,
    productionError?: unknown,
  ): boolean {
    try {
      const size = items.length;
      if (!(size > 0)) return false;
      this.stats.offered += size;
      const sampled = this.sampleRate >= 1 || (this.sampleRate > 0 && this.random() < this.sampleRate);
      if (!sampled) return false;
      if (this.stopped || this.queued + size > this.maxQueue) {
        this.stats.dropped += size;
        return false;
      }
      const failed = productionError !== undefined || productionPredictions === undefined;
      this.queue.push({ items, production: failed ? undefined : productionPredictions, productionLatencyMs });
      this.queued += size;
      this.stats.mirrored += size;
      this.schedule();
      return true;
    } catch {
      // Shadowing is best effort: a broken random() or a malformed call must not fail the user's request.
      return false;
    }
  }

  report(): ShadowReport {
    return this.stats.report();
  }

  /** A copy of the raw counters, for merging with other replicas'. */
  snapshot(): ShadowStats {
    return this.stats.clone();
  }

  /** The raw counters (cumulative since construction): what a replica persists. */
  toJSON(): ShadowStatsJSON {
    return this.stats.toJSON();
  }

  /** Resolves once nothing is queued or running; mirroring goes on meanwhile. */
  drain(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting (later requests count as dropped), abandons the queue (counted as discarded) and
   * resolves when the call in flight has finished. For a graceful end, `await drain()` first.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.stats.discarded += this.queued;
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    return this.drain();
  }

  private idle(): boolean {
    return this.queued === 0 && !this.running && !this.scheduled;
  }

  /** setImmediate, not a microtask: the candidate runs after pending I/O, never inside a request's turn. */
  private schedule(): void {
    if (this.running || this.scheduled) return;
    if (this.queued === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = true;
      void this.runBatch()
        .catch(() => {
          // Only a bug in this file lands here; the counters stay as they were rather than crash the server.
        })
        .finally(() => {
          this.running = false;
          this.schedule();
        });
    });
  }

  private async runBatch(): Promise<void> {
    const batch = this.take();
    if (batch.length === 0) return;
    const items = batch.length === 1 ? batch[0]!.items : batch.flatMap((e) => e.items);
    const result = await this.call(items);
    if (result.ok) {
      let offset = 0;
      for (const entry of batch) {
        const size = entry.items.length;
        // Every request in a merged call waited for the whole call, as it would in production's batcher.
        this.record(entry, { ...result, predictions: result.predictions.slice(offset, offset + size) });
        offset += size;
      }
      return;
    }
    if (batch.length === 1) {
      this.record(batch[0]!, result);
      return;
    }
    // One bad request must not charge its neighbours with errors: each gets a call of its own.
    for (const entry of batch) {
      await nextCheckPhase();
      this.record(entry, await this.call(entry.items));
    }
  }

  private take(): Entry[] {
    const batch: Entry[] = [];
    let size = 0;
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head]!;
      if (batch.length > 0 && size + entry.items.length > this.maxBatchSize) break;
      batch.push(entry);
      size += entry.items.length;
      this.head += 1;
    }
    this.queued -= size;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private async call(items: readonly NamedTensors[]): Promise<CallResult> {
    const started = this.now();
    try {
      const predictions = await this.predict(items);
      const ms = this.now() - started;
      if (!Array.isArray(predictions) || predictions.length !== items.length) return { ok: false };
      return { ok: true, predictions, ms };
    } catch {
      // The candidate's failure is the measurement (errors.shadow), not something to propagate.
      return { ok: false };
    }
  }

  private record(entry: Entry, result: CallResult): void {
    this.stats.recordOutcome({
      size: entry.items.length,
      production: entry.production,
      productionLatencyMs: entry.productionLatencyMs,
      shadow: result.ok ? result.predictions : undefined,
      shadowLatencyMs: result.ok ? result.ms : undefined,
    });
  }
}

function configError(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(
    ErrorCode.EXPERIMENT_INVALID_SHADOW_CONFIG,
    `invalid shadow mirror options: ${message}`,
    {
      details,
    },
  );
}
