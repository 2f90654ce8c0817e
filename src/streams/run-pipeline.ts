import { hostname } from 'node:os';
import { ErrorCode, FerryError, isFerryError, toFerryError } from '../core/errors.js';
import { SETTINGS } from '../core/settings/catalogue.js';
import type { Delivery, EventStream, StreamConsumer } from '../ports/event-stream.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
import type { SqlClient } from '../ports/sql.js';
import { Backoff, isTransient, sleep } from './backoff.js';
import { PipelineMetrics, type PipelineMetricsSnapshot } from './metrics.js';
import { parseEvent } from './parse-event.js';
import type { PipelinePlan } from './pipeline-plan.js';
import { PipelineStateStore } from './pipeline-state-store.js';
import { type PredictionsDeps, PredictionsSink } from './predictions-sink.js';
import { type CommittedBatch, commitBatch, type Settlement } from './process-batch.js';
import { type OfflineWriter, PipelineSinks, type SinkRow } from './sinks.js';

export interface PipelineLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a pipeline runs on; the caller opens these and closes them after `stop()`. */
export interface PipelineDeps {
  readonly stream: EventStream;
  /** Where the pipeline's state lives (the Ferry database). */
  readonly sql: SqlClient;
  /** Needed by an `online` sink. */
  readonly online?: OnlineFeatureStore;
  /** Needed by an `offline` sink. */
  readonly offline?: OfflineWriter;
  /** Needed by a `predictions` sink. */
  readonly predictions?: PredictionsDeps;
  readonly log?: PipelineLog;
  readonly clock?: () => number;
}

export interface RunPipelineOptions {
  /** `--instance i --of n`: this process takes the partitions p with p % n === i. */
  readonly instance?: number;
  readonly of?: number;
  /** Deliveries per fetch, i.e. per transaction. Default 1000. */
  readonly batchSize?: number;
  /** How long a fetch waits for the first delivery. Default 500 ms. */
  readonly fetchWaitMs?: number;
  /** The consumer's ack wait: a delivery not acked by then is delivered again. Default 30 s. */
  readonly ackWaitMs?: number;
  readonly maxDeliveries?: number;
  /** Events larger are dead-lettered. Default FERRY_STREAM_MAX_EVENT_BYTES's default. */
  readonly maxEventBytes?: number;
  /** How often the instance's rates and the transport's lag are written for `ferry stream status`. */
  readonly heartbeatMs?: number;
  /** How often windows past their retention and old dedupe rows are deleted. Default 60 s. */
  readonly sweepMs?: number;
  /** Default `<host>-<pid>`. */
  readonly instanceId?: string;
  /** Called after the sinks wrote a batch's rows (benchmarks measure freshness with it). */
  readonly onSinkWritten?: (rows: readonly SinkRow[], doneAtMs: number) => void;
}

export interface PipelineHandle {
  /** Resolves when the pipeline has stopped. */
  readonly done: Promise<void>;
  /** Finishes the batch in hand (or gives it back to the transport), then stops. */
  stop(): Promise<void>;
  metrics(): PipelineMetricsSnapshot;
  /** The partitions this instance takes, once its consumer is open. */
  partitions(): readonly number[] | undefined;
}

const noLog: PipelineLog = { info() {}, warn() {}, error() {} };

/** Stops a retry loop when the pipeline stops. */
class Stopped extends Error {}

/**
 * Runs a stream pipeline until `stop()`: a durable consumer named after the pipeline (its
 * partitions only, with `instance`/`of`), fetched in batches; each batch parsed (bad events to the
 * dead letters with their reason), applied to the state in one transaction (`commitBatch`), written
 * to the sinks, and only then acknowledged. Never a crash on an event, never a stuck consumer:
 * - transient failures (the transport, the database or a sink down) are waited out with backoff,
 *   the batch in hand kept unacked and retried, so nothing is lost;
 * - an error that is not transient while committing a batch is isolated by halving the batch until
 *   the event that causes it is found, and that event is dead-lettered with the error;
 * - a row a sink refuses is logged, counted and skipped (see PipelineSinks).
 *
 * Start checks (the model of a predictions sink, a missing sink target, the state's tables) throw
 * from this call; the transport is opened inside the loop, waiting for it if it is down.
 */
export async function runPipeline(
  plan: PipelinePlan,
  deps: PipelineDeps,
  opts: RunPipelineOptions = {},
): Promise<PipelineHandle> {
  const runner = new PipelineRunner(plan, deps, opts);
  await runner.start();
  return {
    done: runner.done,
    stop: () => runner.stop(),
    metrics: () => runner.metrics.snapshot(),
    partitions: () => runner.owned,
  };
}

class PipelineRunner {
  readonly metrics = new PipelineMetrics();
  done: Promise<void> = Promise.resolve();
  owned: readonly number[] | undefined;
  private readonly log: PipelineLog;
  private readonly clock: () => number;
  private readonly store: PipelineStateStore;
  private readonly predictions: PredictionsSink[] = [];
  private readonly sinks: PipelineSinks;
  private readonly backoff = new Backoff();
  private readonly abort = new AbortController();
  private readonly instanceId: string;
  private readonly startedAtMs: number;
  private consumer: StreamConsumer | undefined;
  private lastHeartbeat = 0;
  private lastSweep = 0;
  private processedAtHeartbeat = 0;
  private readonly maxEventMs = new Map<number, number>();

  constructor(
    private readonly plan: PipelinePlan,
    private readonly deps: PipelineDeps,
    private readonly opts: RunPipelineOptions,
  ) {
    this.log = deps.log ?? noLog;
    this.clock = deps.clock ?? Date.now;
    this.store = new PipelineStateStore(deps.sql);
    this.instanceId = opts.instanceId ?? `${hostname()}-${process.pid}`;
    this.startedAtMs = this.clock();
    this.sinks = new PipelineSinks(
      plan,
      { online: deps.online, offline: deps.offline, predictions: this.predictions },
      this.metrics,
      this.log,
    );
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  async start(): Promise<void> {
    const { instance, of } = this.opts;
    if ((instance === undefined) !== (of === undefined)) throw usage('--instance and --of go together');
    if (
      of !== undefined &&
      (!Number.isInteger(of) || of < 1 || !Number.isInteger(instance) || instance! < 0 || instance! >= of)
    ) {
      throw usage(`--instance must be an integer from 0 to ${(of ?? 1) - 1} and --of a positive integer`);
    }
    for (const sink of this.plan.sinks) {
      if (sink.kind === 'online' && this.deps.online === undefined)
        throw usage('the pipeline has an online sink and no online store was given');
      if (sink.kind === 'offline' && this.deps.offline === undefined)
        throw usage('the pipeline has an offline sink and no offline store was given');
      if (sink.kind === 'predictions') {
        if (this.deps.predictions === undefined)
          throw usage('the pipeline has a predictions sink and no registry was given');
        this.predictions.push(
          new PredictionsSink(
            this.plan,
            sink.model,
            sink.inputs ?? {},
            this.deps.predictions,
            this.log,
            this.clock,
          ),
        );
      }
    }
    await this.store.init();
    for (const p of this.predictions) await p.init();
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done.catch(() => {});
  }

  /**
   * Fetch, process, settle — overlapped: the next batch is fetched while this one is processed,
   * and this one's acknowledgements finish while the next is processed (at most one batch of acks
   * in flight). Batches are still processed one at a time, in order, and nothing is acked before
   * its batch's commit and sinks.
   */
  private async loop(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 1000;
    const waitMs = this.opts.fetchWaitMs ?? 500;
    let next: Promise<Delivery[]> | undefined;
    let settling: Promise<void> = Promise.resolve();
    try {
      while (!this.stopping) {
        try {
          const consumer = this.consumer ?? (await this.open());
          const deliveries = await (next ?? consumer.fetch(batchSize, waitMs));
          next = undefined;
          this.backoff.reset();
          if (deliveries.length > 0) {
            if (!this.stopping) {
              next = consumer.fetch(batchSize, waitMs);
              // Its failure is seen when it is awaited; until then it must not count as unhandled.
              next.catch(() => {});
            }
            const { settled } = await this.handle(deliveries);
            await settling;
            settling = settled;
          }
          await this.housekeeping();
        } catch (e) {
          next = undefined;
          if (e instanceof Stopped || this.stopping) break;
          await this.failed(e, 'the stream consumer failed');
          // A consumer that failed is opened again (the transport may have lost its connection).
          await this.consumer?.close().catch(() => {});
          this.consumer = undefined;
        }
      }
    } finally {
      await settling;
      // A batch fetched ahead and not processed goes back to the transport at once (not after
      // the ack wait): the next consumer of the pipeline gets it first.
      const ahead = await next?.catch(() => [] as Delivery[]);
      await Promise.allSettled((ahead ?? []).map((d) => d.nak()));
      await this.consumer?.close().catch(() => {});
      this.consumer = undefined;
      await this.heartbeat(true).catch(() => {});
      for (const p of this.predictions) await p.close().catch(() => {});
    }
  }

  private async open(): Promise<StreamConsumer> {
    const { stream } = this.deps;
    await stream.init();
    await stream.ensureStream({ name: this.plan.stream });
    const { partitions } = await stream.status(this.plan.stream);
    const all = Array.from({ length: partitions }, (_, p) => p);
    const owned =
      this.opts.of === undefined ? all : all.filter((p) => p % this.opts.of! === this.opts.instance);
    if (owned.length === 0)
      throw usage(
        `instance ${this.opts.instance} of ${this.opts.of} has no partition: the stream has ${partitions}`,
      );
    const parts = await this.store.partitions(this.deps.sql, this.plan.name, owned);
    for (const p of parts.values()) if (p.maxEventMs !== undefined) this.maxEventMs.set(p.part, p.maxEventMs);
    this.consumer = await stream.consumer(this.plan.stream, {
      name: this.plan.name,
      ...(this.opts.of === undefined ? {} : { partitions: owned }),
      ...(this.opts.ackWaitMs === undefined ? {} : { ackWaitMs: this.opts.ackWaitMs }),
      ...(this.opts.maxDeliveries === undefined ? {} : { maxDeliveries: this.opts.maxDeliveries }),
    });
    if (this.owned === undefined) {
      this.log.info(
        { pipeline: this.plan.name, stream: this.plan.stream, partitions: owned },
        'pipeline consuming',
      );
    }
    this.owned = owned;
    return this.consumer;
  }

  /**
   * Commits the batch and writes its sinks; returns the settling of its deliveries (acks and dead
   * letters), which the loop lets run while it processes the next batch.
   */
  private async handle(deliveries: Delivery[]): Promise<{ settled: Promise<void> }> {
    const now = this.clock();
    const maxBytes = this.opts.maxEventBytes ?? SETTINGS.FERRY_STREAM_MAX_EVENT_BYTES.default;
    const parsed = deliveries.map((d) => parseEvent(this.plan, d, maxBytes, now));
    const committed = await this.commitIsolated(parsed);
    const rows = committed.flatMap((c) => c.rows);
    await this.retrying(() => this.sinks.write(rows), 'a sink is unavailable');
    const doneAt = this.clock();
    this.opts.onSinkWritten?.(rows, doneAt);
    for (const c of committed) {
      this.metrics.processed += c.counts.processed;
      this.metrics.late += c.counts.late;
      this.metrics.deadLettered += c.counts.deadLettered;
      this.metrics.duplicates += c.counts.duplicates;
      for (const [part, ms] of c.maxEventMs) this.maxEventMs.set(part, ms);
    }
    this.metrics.batches += 1;
    const settlements = committed.flatMap((c) => c.settlements);
    for (const s of settlements) {
      if (s.kind === 'ack') this.metrics.latency.record(Math.max(0, doneAt - s.delivery.publishedAtMs));
    }
    // Wrapped: an awaited promise of a promise would wait for the acks too.
    return { settled: this.settle(settlements) };
  }

  private async settle(settlements: readonly Settlement[]): Promise<void> {
    const results = await Promise.allSettled(
      settlements.map((s) =>
        s.kind === 'ack'
          ? s.delivery.ack()
          : this.deps.stream.deadLetter(this.plan.stream, s.delivery, s.reason),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      // Not settled: delivered again after the ack wait, found in the dedupe table, settled then.
      this.log.warn(
        {
          pipeline: this.plan.name,
          failed: failed.length,
          err: errorJson((failed[0] as PromiseRejectedResult).reason),
        },
        'acknowledgements failed; those events will be delivered again',
      );
    }
  }

  /**
   * Commits the batch, waiting out transient failures. Another failure is isolated: the batch is
   * halved until the event that fails alone is found; it is dead-lettered with the error.
   */
  private async commitIsolated(events: ReturnType<typeof parseEvent>[]): Promise<CommittedBatch[]> {
    try {
      return [
        await this.retrying(
          () => commitBatch(this.store, this.plan, events, this.clock()),
          'the state database is unavailable',
        ),
      ];
    } catch (e) {
      if (e instanceof Stopped) throw e;
      if (events.length === 1) {
        const err = toFerryError(e);
        this.log.error(
          { pipeline: this.plan.name, err: err.toJSON(), id: events[0]!.id },
          'an event failed; dead-lettered',
        );
        return [
          {
            rows: [],
            settlements: [
              {
                kind: 'dead-letter',
                delivery: events[0]!.delivery,
                reason: `processing failed: ${err.code}: ${err.message}`.slice(0, 900),
              },
            ],
            counts: { processed: 0, late: 0, deadLettered: 1, duplicates: 0 },
            maxEventMs: new Map(),
          },
        ];
      }
      const mid = events.length >> 1;
      return [
        ...(await this.commitIsolated(events.slice(0, mid))),
        ...(await this.commitIsolated(events.slice(mid))),
      ];
    }
  }

  /** Runs `fn` until it succeeds, waiting out transient failures; other failures are thrown. */
  private async retrying<T>(fn: () => Promise<T>, what: string): Promise<T> {
    const backoff = new Backoff();
    for (;;) {
      if (this.stopping) throw new Stopped();
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e)) throw e;
        this.metrics.retries += 1;
        const delay = backoff.next();
        this.log.warn({ pipeline: this.plan.name, err: errorJson(e), retryInMs: Math.round(delay) }, what);
        await sleep(delay, this.abort.signal);
      }
    }
  }

  private async failed(e: unknown, what: string): Promise<void> {
    this.metrics.retries += 1;
    const delay = this.backoff.next();
    const log = isTransient(e) ? this.log.warn : this.log.error;
    log.call(this.log, { pipeline: this.plan.name, err: errorJson(e), retryInMs: Math.round(delay) }, what);
    await sleep(delay, this.abort.signal);
  }

  private async housekeeping(): Promise<void> {
    const now = this.clock();
    if (now - this.lastHeartbeat >= (this.opts.heartbeatMs ?? 5000)) await this.heartbeat(false);
    if (now - this.lastSweep >= (this.opts.sweepMs ?? 60_000)) {
      this.lastSweep = now;
      await this.sweep().catch((e: unknown) =>
        this.log.warn({ pipeline: this.plan.name, err: errorJson(e) }, 'sweep failed'),
      );
    }
  }

  /** Writes the instance's numbers (and the transport's lag) for `ferry stream status`. */
  private async heartbeat(final: boolean): Promise<void> {
    const now = this.clock();
    const elapsed = (now - (this.lastHeartbeat || this.startedAtMs)) / 1000;
    this.metrics.eventsPerSecond =
      elapsed > 0 ? (this.metrics.processed - this.processedAtHeartbeat) / elapsed : 0;
    this.processedAtHeartbeat = this.metrics.processed;
    this.lastHeartbeat = now;
    for (const [part, ms] of this.maxEventMs) this.metrics.maxEventTimeMs[String(part)] = ms;
    if (!final) {
      try {
        const status = await this.deps.stream.status(this.plan.stream);
        this.metrics.lag = status.consumers.find((c) => c.name === this.plan.name)?.pending;
      } catch {
        // The lag is informative only: a transport that cannot say now says it next time.
      }
    }
    await this.store
      .heartbeat(
        this.plan.name,
        this.instanceId,
        this.plan.stream,
        { ...this.metrics.snapshot(), partitions: this.owned, stopped: final },
        this.startedAtMs,
        now,
      )
      .catch((e: unknown) =>
        this.log.warn({ pipeline: this.plan.name, err: errorJson(e) }, 'heartbeat failed'),
      );
  }

  private async sweep(): Promise<void> {
    const now = this.clock();
    let removed = 0;
    for (const [part, max] of this.maxEventMs) {
      if (this.owned !== undefined && !this.owned.includes(part)) continue;
      const views = this.plan.views.flatMap((v) =>
        v.window === undefined
          ? []
          : [{ name: v.name, horizonMs: max - v.window.allowedLatenessMs - v.window.retentionMs }],
      );
      removed += await this.store.sweep(
        this.plan.name,
        part,
        views,
        max - this.plan.maxAgeMs,
        now - this.plan.maxAgeMs,
      );
    }
    if (removed > 0)
      this.log.info({ pipeline: this.plan.name, removed }, 'swept old windows and dedupe rows');
  }
}

/** A pipeline that cannot run as asked (options, missing sink targets). */
function usage(message: string): FerryError {
  return new FerryError(ErrorCode.STREAM_INVALID, message);
}

function errorJson(e: unknown): unknown {
  return isFerryError(e) ? e.toJSON() : e instanceof Error ? { message: e.message } : String(e);
}
