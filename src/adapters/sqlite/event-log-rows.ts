/* The embedded log's rows, and the reads and writes several of its operations share. */
import type { StreamStatus } from '../../ports/event-stream.js';
import type { SqlExecutor } from '../../ports/sql.js';
import type { ResolvedConsumerOptions, ResolvedStreamConfig } from '../event-stream-rules.js';

export type StreamRow = {
  name: string;
  partitions: number;
  max_age_ms: number;
  duplicate_window_ms: number;
  max_event_bytes: number;
  last_seq: number;
  last_published_at: number;
};

export type EventRow = {
  seq: number;
  partition: number;
  id: string;
  key: string;
  data: Buffer;
  published_at: number;
};

export type CursorRow = {
  partition: number;
  delivered_seq: number;
  ack_wait_ms: number;
  max_deliveries: number;
};

export async function readStream(tx: SqlExecutor, stream: string): Promise<StreamRow | undefined> {
  const rows = await tx.query<StreamRow>(
    `SELECT name, partitions, max_age_ms, duplicate_window_ms, max_event_bytes, last_seq, last_published_at
     FROM ferry_streams WHERE name = $1`,
    [stream],
  );
  return rows[0];
}

export async function readCursors(
  tx: SqlExecutor,
  stream: string,
  consumer: string,
  partitions: readonly number[],
): Promise<Map<number, CursorRow>> {
  const rows = await tx.query<CursorRow>(
    `SELECT partition, delivered_seq, ack_wait_ms, max_deliveries FROM ferry_stream_cursors
     WHERE stream = $1 AND consumer = $2 AND partition IN (${partitions.join(', ')}) ORDER BY partition`,
    [stream, consumer],
  );
  return new Map(rows.map((r) => [r.partition, r]));
}

/** The cursor (last sequence counted as delivered) a new consumer starts from. */
export async function startCursor(
  tx: SqlExecutor,
  row: StreamRow,
  startAt: ResolvedConsumerOptions['startAt'],
): Promise<number> {
  if (startAt === undefined) return 0;
  if ('sequence' in startAt) return startAt.sequence - 1;
  // Binary search over the contiguous sequences for the first event published at or after the time.
  const [range] = await tx.query<{ first: number | null }>(
    'SELECT MIN(seq) AS first FROM ferry_stream_events WHERE stream = $1',
    [row.name],
  );
  if (range?.first === null || range?.first === undefined) return row.last_seq;
  let lo = range.first;
  let hi = row.last_seq + 1; // hi: first sequence known to be at or after the time
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [event] = await tx.query<{ published_at: number }>(
      'SELECT published_at FROM ferry_stream_events WHERE stream = $1 AND seq = $2',
      [row.name, mid],
    );
    if (event === undefined || event.published_at >= startAt.timeMs) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

export function deleteInflight(
  tx: SqlExecutor,
  stream: string,
  consumer: string,
  seq: number,
): Promise<number> {
  return tx.execute('DELETE FROM ferry_stream_inflight WHERE stream = $1 AND consumer = $2 AND seq = $3', [
    stream,
    consumer,
    seq,
  ]);
}

export async function insertDeadLetter(
  tx: SqlExecutor,
  stream: string,
  consumer: string | undefined,
  event: { id: string; key: string; data: Uint8Array; sequence?: number },
  reason: string,
): Promise<void> {
  await tx.execute(
    `INSERT INTO ferry_stream_dead_letters (stream, consumer, seq, id, key, data, reason, at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [stream, consumer ?? null, event.sequence ?? null, event.id, event.key, event.data, reason, Date.now()],
  );
}

export function asEvent(
  r: { seq: number; partition: number } & Partial<EventRow>,
): EventRow & { sequence: number } {
  return {
    seq: r.seq,
    sequence: r.seq,
    partition: r.partition,
    id: r.id ?? '',
    key: r.key ?? '',
    data: r.data ?? Buffer.alloc(0),
    published_at: r.published_at ?? 0,
  };
}

export function toConfig(row: StreamRow): ResolvedStreamConfig {
  return {
    name: row.name,
    partitions: row.partitions,
    maxAgeMs: row.max_age_ms,
    duplicateWindowMs: row.duplicate_window_ms,
    maxEventBytes: row.max_event_bytes,
  };
}

/** A plain Uint8Array over the driver's fresh buffer: the type every transport returns. */
export function bytes(data: Buffer | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A stream's status, read in the caller's transaction so the counts agree with each other. */
export async function readStatus(tx: SqlExecutor, row: StreamRow): Promise<StreamStatus> {
  const stream = row.name;
  const [range] = await tx.query<{ n: number; first: number | null }>(
    'SELECT COUNT(*) AS n, MIN(seq) AS first FROM ferry_stream_events WHERE stream = $1',
    [stream],
  );
  const [dead] = await tx.query<{ n: number }>(
    'SELECT COUNT(*) AS n FROM ferry_stream_dead_letters WHERE stream = $1',
    [stream],
  );
  const cursors = await tx.query<{ consumer: string; partition: number; delivered_seq: number }>(
    'SELECT consumer, partition, delivered_seq FROM ferry_stream_cursors WHERE stream = $1 ORDER BY consumer, partition',
    [stream],
  );
  const consumers = new Map<string, { pending: number; inFlight: number; deliveredSequence: number }>();
  for (const c of cursors) {
    const [ahead] = await tx.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM ferry_stream_events WHERE stream = $1 AND partition = $2 AND seq > $3',
      [stream, c.partition, c.delivered_seq],
    );
    const entry = consumers.get(c.consumer) ?? { pending: 0, inFlight: 0, deliveredSequence: 0 };
    entry.pending += ahead?.n ?? 0;
    entry.deliveredSequence = Math.max(entry.deliveredSequence, c.delivered_seq);
    consumers.set(c.consumer, entry);
  }
  const inflight = await tx.query<{ consumer: string; n: number }>(
    'SELECT consumer, COUNT(*) AS n FROM ferry_stream_inflight WHERE stream = $1 GROUP BY consumer',
    [stream],
  );
  for (const f of inflight) {
    const entry = consumers.get(f.consumer);
    if (entry === undefined) continue;
    entry.inFlight = f.n;
    entry.pending += f.n;
  }
  const events = range?.n ?? 0;
  return {
    name: stream,
    partitions: row.partitions,
    events,
    // As JetStream reports them: 0/0 for a stream never written, first = last + 1 once emptied.
    firstSequence: range?.first ?? (row.last_seq === 0 ? 0 : row.last_seq + 1),
    lastSequence: row.last_seq,
    deadLetters: dead?.n ?? 0,
    consumers: [...consumers].map(([name, c]) => ({ name, ...c })),
  };
}
