import { resolve } from 'node:path';
import { ErrorCode, FerryError, isFerryError } from '../../core/errors.js';
import { migrate } from '../../core/migrations.js';
import {
  type ConsumerOptions,
  type DeadLetter,
  type Delivery,
  type EventStream,
  type EventToPublish,
  type PublishAck,
  partitionOf,
  type StreamConfig,
  type StreamConsumer,
  type StreamStatus,
} from '../../ports/event-stream.js';
import type { SqlExecutor } from '../../ports/sql.js';
import {
  checkEvents,
  checkLimit,
  checkReason,
  checkStreamName,
  consumerPartitions,
  MAX_DELIVERIES_REASON,
  mergeStreamConfig,
  type ResolvedConsumerOptions,
  resolveConsumerOptions,
  resolveStreamConfig,
  sameStreamConfig,
  streamNotFound,
} from '../event-stream-rules.js';
import {
  asEvent,
  bytes,
  deleteInflight,
  type EventRow,
  insertDeadLetter,
  readCursors,
  readStatus,
  readStream,
  type StreamRow,
  startCursor,
  toConfig,
} from './event-log-rows.js';
import { EVENT_LOG_SCHEMA } from './event-log-schema.js';
import { SqliteClient } from './sqlite-client.js';
import { LogConsumer, LogDelivery, type LogTaker, Wakeups } from './sqlite-event-consumer.js';

export interface SqliteEventLogOptions {
  /** The log's file (its own file by convention: `$FERRY_HOME/streams.db`), or `:memory:`. */
  path: string;
  /** How long a write waits for another process's write lock before FERRY_STREAM_UNAVAILABLE. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * The longest pause between two looks at the log while a fetch waits. Publishes of this process
   * wake waiting fetches at once; other processes' publishes and redeliveries are seen within this.
   * Default 50 ms.
   */
  maxPollMs?: number;
}

/** Retention and the dedupe window are enforced at most this often per stream (on publish). */
const PRUNE_EVERY_MS = 1000;

/**
 * The embedded stream transport: a durable log in one SQLite file (WAL, one transaction per
 * publish, fetch and ack batch), for one machine. Several processes may share the file: every
 * write takes SQLite's write lock (BEGIN IMMEDIATE) and waits up to `busyTimeoutMs` for it.
 *
 * It goes through `SqliteClient` rather than better-sqlite3 directly: that gives it the versioned
 * migrations every store uses, the per-file mutex that keeps two clients of one file in one
 * process from deadlocking on the synchronous busy handler, and the error mapping; the cost (a
 * promise per statement) is small next to a commit.
 *
 * Delivery order, decided to match JetStream with `max_ack_pending` > 1: within a partition, first
 * deliveries follow publish order and each fetch returns a partition's events in sequence order,
 * but the next events of a partition are delivered while earlier ones are in flight, so a
 * redelivery (ack wait expired, or nak) can come after later events of its partition. A consumer
 * that acks after committing, and whose sink keeps the newest event time per key, is unaffected.
 */
export class SqliteEventLog implements EventStream, LogTaker {
  readonly path: string;
  private readonly sql: SqliteClient;
  private readonly wakeups: Wakeups;
  private readonly maxPollMs: number;
  private readonly lastPrune = new Map<string, number>();
  private readonly consumers = new Set<LogConsumer>();
  private ready = false;
  private closed = false;

  constructor(opts: SqliteEventLogOptions) {
    this.path = opts.path;
    this.sql = new SqliteClient({ path: opts.path, busyTimeoutMs: opts.busyTimeoutMs });
    this.maxPollMs = opts.maxPollMs ?? 50;
    const memory = opts.path === ':memory:' || opts.path === '';
    this.wakeups = memory ? new Wakeups() : Wakeups.forFile(resolve(opts.path));
  }

  async init(): Promise<void> {
    if (this.ready) return;
    this.closed = false;
    await this.guard(async () => {
      await this.sql.init();
      await migrate(this.sql, EVENT_LOG_SCHEMA);
    });
    this.ready = true;
  }

  async ensureStream(config: StreamConfig): Promise<void> {
    const { resolved, given } = resolveStreamConfig(config);
    await this.write(async (tx) => {
      const row = await readStream(tx, resolved.name);
      if (row === undefined) {
        await tx.execute(
          `INSERT INTO ferry_streams (name, partitions, max_age_ms, duplicate_window_ms, max_event_bytes, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            resolved.name,
            resolved.partitions,
            resolved.maxAgeMs,
            resolved.duplicateWindowMs,
            resolved.maxEventBytes,
            Date.now(),
          ],
        );
        return;
      }
      const existing = toConfig(row);
      const merged = mergeStreamConfig(existing, given);
      if (sameStreamConfig(existing, merged)) return;
      await tx.execute(
        'UPDATE ferry_streams SET max_age_ms = $2, duplicate_window_ms = $3, max_event_bytes = $4 WHERE name = $1',
        [merged.name, merged.maxAgeMs, merged.duplicateWindowMs, merged.maxEventBytes],
      );
    });
  }

  async listStreams(): Promise<string[]> {
    this.open();
    const rows = await this.guard(() =>
      this.sql.query<{ name: string }>('SELECT name FROM ferry_streams ORDER BY name'),
    );
    return rows.map((r) => r.name);
  }

  async publish(stream: string, events: readonly EventToPublish[]): Promise<PublishAck[]> {
    checkStreamName(stream);
    const acks = await this.write(async (tx) => {
      const row = await this.existingStream(tx, stream);
      checkEvents(stream, events, row.max_event_bytes);
      // Monotonic per stream even if clocks of the processes sharing the file disagree: retention
      // and start-at-time rely on publish times that never decrease along sequences.
      const now = Math.max(Date.now(), row.last_published_at);
      await this.pruneIfDue(tx, row, now);
      const out: PublishAck[] = [];
      let seq = row.last_seq;
      for (const event of events) {
        const seen = await tx.query<{ seq: number; published_at: number }>(
          'SELECT seq, published_at FROM ferry_stream_ids WHERE stream = $1 AND id = $2',
          [stream, event.id],
        );
        const previous = seen[0];
        if (previous !== undefined && previous.published_at >= now - row.duplicate_window_ms) {
          out.push({ sequence: previous.seq, duplicate: true });
          continue;
        }
        seq += 1;
        await tx.execute(
          `INSERT INTO ferry_stream_events (stream, seq, partition, id, key, data, published_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [stream, seq, partitionOf(event.key, row.partitions), event.id, event.key, event.data, now],
        );
        await tx.execute(
          `INSERT INTO ferry_stream_ids (stream, id, seq, published_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (stream, id) DO UPDATE SET seq = excluded.seq, published_at = excluded.published_at`,
          [stream, event.id, seq, now],
        );
        out.push({ sequence: seq, duplicate: false });
      }
      if (seq !== row.last_seq) {
        await tx.execute('UPDATE ferry_streams SET last_seq = $2, last_published_at = $3 WHERE name = $1', [
          stream,
          seq,
          now,
        ]);
      }
      return out;
    });
    if (acks.some((a) => !a.duplicate)) this.wakeups.wake(stream);
    return acks;
  }

  async consumer(stream: string, opts: ConsumerOptions): Promise<StreamConsumer> {
    checkStreamName(stream);
    const resolved = resolveConsumerOptions(opts);
    const partitions = await this.write(async (tx) => {
      const row = await this.existingStream(tx, stream);
      const parts = consumerPartitions(stream, resolved, row.partitions);
      await this.ensureCursors(tx, row, resolved, parts);
      return parts;
    });
    const consumer = new LogConsumer(this, this.wakeups, stream, resolved, partitions, this.maxPollMs);
    this.consumers.add(consumer);
    consumer.onClose(() => this.consumers.delete(consumer));
    return consumer;
  }

  async deadLetter(stream: string, delivery: Delivery, reason: string): Promise<void> {
    checkStreamName(stream);
    checkReason(reason);
    if (delivery instanceof LogDelivery && delivery.taker === this && delivery.stream === stream) {
      await this.write(async (tx) => {
        await this.existingStream(tx, stream);
        // Only a delivery still in flight moves: one acked or dead-lettered already stays where it is.
        const removed = await tx.execute(
          'DELETE FROM ferry_stream_inflight WHERE stream = $1 AND consumer = $2 AND seq = $3',
          [stream, delivery.consumer, delivery.sequence],
        );
        if (removed === 0) return;
        await insertDeadLetter(tx, stream, delivery.consumer, delivery, reason);
      });
      return;
    }
    // A delivery of another transport: keep a copy here, then settle it where it came from.
    await this.write(async (tx) => {
      await this.existingStream(tx, stream);
      await insertDeadLetter(tx, stream, undefined, delivery, reason);
    });
    await delivery.ack();
  }

  async deadLetters(stream: string, limit: number): Promise<DeadLetter[]> {
    checkStreamName(stream);
    checkLimit(limit);
    this.open();
    return this.guard(async () => {
      await this.existingStream(this.sql, stream);
      const rows = await this.sql.query<{
        consumer: string | null;
        seq: number | null;
        id: string;
        key: string;
        data: Buffer;
        reason: string;
        at_ms: number;
      }>(
        `SELECT consumer, seq, id, key, data, reason, at_ms FROM ferry_stream_dead_letters
         WHERE stream = $1 ORDER BY dl DESC LIMIT $2`,
        [stream, limit],
      );
      return rows.map((r) => ({
        id: r.id,
        key: r.key,
        data: bytes(r.data),
        reason: r.reason,
        ...(r.seq === null ? {} : { sequence: r.seq }),
        ...(r.consumer === null ? {} : { consumer: r.consumer }),
        atMs: r.at_ms,
      }));
    });
  }

  async resetConsumer(stream: string, name: string): Promise<void> {
    checkStreamName(stream);
    checkStreamName(name, 'consumer name');
    await this.write(async (tx) => {
      await this.existingStream(tx, stream);
      await tx.execute('DELETE FROM ferry_stream_cursors WHERE stream = $1 AND consumer = $2', [
        stream,
        name,
      ]);
      await tx.execute('DELETE FROM ferry_stream_inflight WHERE stream = $1 AND consumer = $2', [
        stream,
        name,
      ]);
    });
  }

  async status(stream: string): Promise<StreamStatus> {
    checkStreamName(stream);
    return this.write(async (tx) => readStatus(tx, await this.existingStream(tx, stream)));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ready = false;
    await Promise.all([...this.consumers].map((c) => c.close()));
    await this.sql.close();
  }

  /**
   * One fetch's worth (LogTaker): expired in-flight deliveries first (redelivered, or dead-lettered
   * once they used up their deliveries), then new events of the consumer's partitions in sequence
   * order, at most `max` in all, each recorded in flight with its deadline, in one transaction.
   */
  async take(consumer: LogConsumer, max: number): Promise<LogDelivery[]> {
    const { stream, options, partitions } = consumer;
    return this.write(async (tx) => {
      const row = await this.existingStream(tx, stream);
      const now = Date.now();
      let cursors = await readCursors(tx, stream, options.name, partitions);
      if (cursors.size < partitions.length) {
        // resetConsumer (here or in another process) removed the position: start again at startAt,
        // as JetStream recreates a deleted consumer.
        await this.ensureCursors(tx, row, options, partitions);
        cursors = await readCursors(tx, stream, options.name, partitions);
      }
      const out: LogDelivery[] = [];
      const inList = partitions.join(', ');
      const expired = await tx.query<
        { seq: number; partition: number; delivery_count: number } & Partial<EventRow>
      >(
        `SELECT i.seq, i.partition, i.delivery_count, e.id, e.key, e.data, e.published_at
         FROM ferry_stream_inflight i
         LEFT JOIN ferry_stream_events e ON e.stream = i.stream AND e.seq = i.seq
         WHERE i.stream = $1 AND i.consumer = $2 AND i.deadline <= $3 AND i.partition IN (${inList})
         ORDER BY i.seq LIMIT $4`,
        [stream, options.name, now, max],
      );
      for (const r of expired) {
        const cursor = cursors.get(r.partition);
        if (r.id === undefined || r.id === null || cursor === undefined) {
          // The event aged out of the log while in flight: nothing left to deliver.
          await deleteInflight(tx, stream, options.name, r.seq);
        } else if (r.delivery_count >= cursor.max_deliveries) {
          await deleteInflight(tx, stream, options.name, r.seq);
          await insertDeadLetter(tx, stream, options.name, asEvent(r), MAX_DELIVERIES_REASON);
        } else {
          await tx.execute(
            `UPDATE ferry_stream_inflight SET delivery_count = delivery_count + 1, deadline = $4
             WHERE stream = $1 AND consumer = $2 AND seq = $3`,
            [stream, options.name, r.seq, now + cursor.ack_wait_ms],
          );
          out.push(this.delivery(consumer, asEvent(r), r.delivery_count + 1));
        }
      }
      const room = max - out.length;
      if (room === 0) return out;
      // Sequences first (the partition index covers them), then the payloads of those chosen.
      const next: Array<{ seq: number; partition: number }> = [];
      for (const [partition, cursor] of cursors) {
        const seqs = await tx.query<{ seq: number }>(
          `SELECT seq FROM ferry_stream_events WHERE stream = $1 AND partition = $2 AND seq > $3
           ORDER BY seq LIMIT $4`,
          [stream, partition, cursor.delivered_seq, room],
        );
        for (const s of seqs) next.push({ seq: s.seq, partition });
      }
      next.sort((a, b) => a.seq - b.seq);
      const chosen = next.slice(0, room);
      const delivered = new Map<number, number>();
      for (const { seq, partition } of chosen) {
        const [event] = await tx.query<EventRow>(
          'SELECT seq, partition, id, key, data, published_at FROM ferry_stream_events WHERE stream = $1 AND seq = $2',
          [stream, seq],
        );
        const cursor = cursors.get(partition);
        if (event === undefined || cursor === undefined) continue;
        await tx.execute(
          `INSERT INTO ferry_stream_inflight (stream, consumer, seq, partition, delivery_count, deadline)
           VALUES ($1, $2, $3, $4, 1, $5)
           ON CONFLICT (stream, consumer, seq) DO UPDATE SET delivery_count = 1, deadline = excluded.deadline`,
          [stream, options.name, seq, partition, now + cursor.ack_wait_ms],
        );
        delivered.set(partition, seq);
        out.push(this.delivery(consumer, event, 1));
      }
      for (const [partition, seq] of delivered) {
        await tx.execute(
          'UPDATE ferry_stream_cursors SET delivered_seq = $4 WHERE stream = $1 AND consumer = $2 AND partition = $3',
          [stream, options.name, partition, seq],
        );
      }
      return out;
    });
  }

  /** Acks and naks of one turn of the event loop, in one transaction (LogTaker). */
  async settle(
    ops: ReadonlyArray<{ kind: 'ack' | 'nak'; delivery: LogDelivery; delayMs: number }>,
  ): Promise<void> {
    await this.write(async (tx) => {
      const now = Date.now();
      for (const { kind, delivery, delayMs } of ops) {
        if (kind === 'ack') await deleteInflight(tx, delivery.stream, delivery.consumer, delivery.sequence);
        else {
          // A stale nak (the event was redelivered since) must not move the newer delivery's deadline.
          await tx.execute(
            `UPDATE ferry_stream_inflight SET deadline = $5
             WHERE stream = $1 AND consumer = $2 AND seq = $3 AND delivery_count = $4`,
            [delivery.stream, delivery.consumer, delivery.sequence, delivery.deliveryCount, now + delayMs],
          );
        }
      }
    });
    if (ops.some((o) => o.kind === 'nak')) {
      for (const stream of new Set(ops.map((o) => o.delivery.stream))) this.wakeups.wake(stream);
    }
  }

  private delivery(consumer: LogConsumer, event: EventRow, deliveryCount: number): LogDelivery {
    return new LogDelivery(consumer, {
      id: event.id,
      key: event.key,
      data: bytes(event.data),
      partition: event.partition,
      sequence: event.seq,
      deliveryCount,
      publishedAtMs: event.published_at,
    });
  }

  private async ensureCursors(
    tx: SqlExecutor,
    row: StreamRow,
    opts: ResolvedConsumerOptions,
    partitions: readonly number[],
  ): Promise<void> {
    const existing = await readCursors(tx, row.name, opts.name, partitions);
    let start: number | undefined;
    for (const partition of partitions) {
      if (existing.has(partition)) {
        // Later opens may change the ack wait and the deliveries, as JetStream's consumer update does.
        await tx.execute(
          `UPDATE ferry_stream_cursors SET ack_wait_ms = $4, max_deliveries = $5
           WHERE stream = $1 AND consumer = $2 AND partition = $3`,
          [row.name, opts.name, partition, opts.ackWaitMs, opts.maxDeliveries],
        );
        continue;
      }
      start ??= await startCursor(tx, row, opts.startAt);
      await tx.execute(
        `INSERT INTO ferry_stream_cursors (stream, consumer, partition, delivered_seq, ack_wait_ms, max_deliveries, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [row.name, opts.name, partition, start, opts.ackWaitMs, opts.maxDeliveries, Date.now()],
      );
    }
  }

  private async pruneIfDue(tx: SqlExecutor, row: StreamRow, now: number): Promise<void> {
    const last = this.lastPrune.get(row.name) ?? 0;
    if (now - last < PRUNE_EVERY_MS) return;
    this.lastPrune.set(row.name, now);
    // Publish times grow with sequences, so the expired events are a prefix: walk it from the front.
    await tx.execute(
      `DELETE FROM ferry_stream_events WHERE stream = $1 AND seq < COALESCE(
         (SELECT seq FROM ferry_stream_events WHERE stream = $1 AND published_at >= $2 ORDER BY seq LIMIT 1), $3)`,
      [row.name, now - row.max_age_ms, row.last_seq + 1],
    );
    await tx.execute('DELETE FROM ferry_stream_ids WHERE stream = $1 AND published_at < $2', [
      row.name,
      now - row.duplicate_window_ms,
    ]);
    await tx.execute('DELETE FROM ferry_stream_dead_letters WHERE stream = $1 AND at_ms < $2', [
      row.name,
      now - row.max_age_ms,
    ]);
  }

  private async existingStream(tx: SqlExecutor, stream: string): Promise<StreamRow> {
    const row = await readStream(tx, stream);
    if (row !== undefined) return row;
    const known = await tx.query<{ name: string }>('SELECT name FROM ferry_streams ORDER BY name');
    throw streamNotFound(
      stream,
      known.map((k) => k.name),
    );
  }

  private write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.open();
    return this.guard(() => this.sql.transaction(fn));
  }

  private open(): void {
    if (!this.ready || this.closed) {
      throw new FerryError(
        ErrorCode.STREAM_UNAVAILABLE,
        `the stream log ${this.path} is not open: call init() first (or it was closed)`,
        { details: { path: this.path } },
      );
    }
  }

  /** A file that cannot be opened or stays locked is an unavailable transport; the rest is as SQLite says. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (isFerryError(e, ErrorCode.DB_LOCKED) || isFerryError(e, ErrorCode.DB_UNAVAILABLE)) {
        throw new FerryError(ErrorCode.STREAM_UNAVAILABLE, `the stream log is unavailable: ${e.message}`, {
          details: { path: this.path, ...e.details },
          cause: e,
        });
      }
      throw e;
    }
  }
}
