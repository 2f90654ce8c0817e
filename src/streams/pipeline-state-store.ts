import { defineSchema, migrate } from '../core/migrations.js';
import type { StoredWindow } from '../features/windows/window-state.js';
import type { FeatureValue } from '../ports/online-feature-store.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../ports/sql.js';

/*
 * A pipeline's state in SQL (any SqlClient), written in ONE transaction per fetched batch:
 * - ferry_pipeline_state: per (pipeline, view, entity, window) the window's accumulators (row views:
 *   one row per entity, window_start 0, holding the newest values);
 * - ferry_pipeline_events: every event id processed and its outcome (the dedupe table);
 * - ferry_pipeline_partitions: per partition the newest event time seen (the watermark's base) and
 *   the counters (processed, late, dead-lettered, duplicates);
 * - ferry_pipeline_instances: each running process's heartbeat and rates (for `ferry stream status`).
 */
export const PIPELINE_STATE_MIGRATIONS = defineSchema('stream-pipelines', [
  {
    version: 1,
    description: 'stream pipelines: window state, processed event ids, partition watermarks, instances',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_pipeline_state (
        pipeline TEXT NOT NULL,
        view TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        window_end BIGINT NOT NULL,
        part INTEGER NOT NULL,
        last_event_ms BIGINT NOT NULL,
        events BIGINT NOT NULL,
        state TEXT NOT NULL,
        definition TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        PRIMARY KEY (pipeline, view, entity_key, window_start)
      )`,
      'CREATE INDEX IF NOT EXISTS ferry_pipeline_state_end ON ferry_pipeline_state (pipeline, view, part, window_end)',
      `CREATE TABLE IF NOT EXISTS ferry_pipeline_events (
        pipeline TEXT NOT NULL,
        event_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT NULL,
        part INTEGER NOT NULL,
        event_time_ms BIGINT NULL,
        processed_at_ms BIGINT NOT NULL,
        PRIMARY KEY (pipeline, event_id)
      )`,
      'CREATE INDEX IF NOT EXISTS ferry_pipeline_events_time ON ferry_pipeline_events (pipeline, part, event_time_ms)',
      `CREATE TABLE IF NOT EXISTS ferry_pipeline_partitions (
        pipeline TEXT NOT NULL,
        part INTEGER NOT NULL,
        max_event_ms BIGINT NULL,
        processed BIGINT NOT NULL,
        late BIGINT NOT NULL,
        dead_lettered BIGINT NOT NULL,
        duplicates BIGINT NOT NULL,
        last_sequence BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        PRIMARY KEY (pipeline, part)
      )`,
      `CREATE TABLE IF NOT EXISTS ferry_pipeline_instances (
        pipeline TEXT NOT NULL,
        instance TEXT NOT NULL,
        stream TEXT NOT NULL,
        stats TEXT NOT NULL,
        started_at_ms BIGINT NOT NULL,
        heartbeat_at_ms BIGINT NOT NULL,
        PRIMARY KEY (pipeline, instance)
      )`,
    ],
  },
]);

/** What the dedupe table says about an event id processed before. */
export interface ProcessedEvent {
  readonly outcome: EventOutcome;
  readonly reason: string | null;
}
/** ok: counted; late: every window was final (side output); dead: refused (dead letter). */
export type EventOutcome = 'ok' | 'late' | 'dead';

export interface PartitionState {
  readonly part: number;
  /** The newest event time accepted in the partition; undefined before the first. */
  maxEventMs: number | undefined;
  processed: number;
  late: number;
  deadLettered: number;
  duplicates: number;
  lastSequence: number;
}

/** A stored row of a row view: the newest event's values. */
export interface RowViewState {
  readonly eventTimeMs: number;
  readonly id: string;
  readonly values: Record<string, FeatureValue>;
}

/** The stored state of one (view, entity): its windows, or a row view's newest values. */
export interface LoadedEntity {
  readonly windows: StoredWindow[];
  readonly row: RowViewState | undefined;
  /** Window starts stored under another definition of the view: to delete. */
  readonly stale: number[];
}

export interface StateWrite {
  readonly view: string;
  readonly entityKey: string;
  readonly part: number;
  readonly definition: string;
  readonly window?: StoredWindow;
  readonly row?: RowViewState;
}

export interface EventRecord {
  readonly id: string;
  readonly outcome: EventOutcome;
  readonly reason: string | null;
  readonly part: number;
  readonly eventTimeMs: number | null;
}

const KEYS_PER_QUERY = 500;
const STATE_COLUMNS = 11;
const EVENT_COLUMNS = 7;
/** Rows per multi-row INSERT: 11 × 500 parameters, under SQLite's 32766 and PostgreSQL's 65535. */
const ROWS_PER_STATEMENT = 500;

const num = (v: unknown): number => Number(v);

export class PipelineStateStore {
  private readonly statements = new Map<string, string>();

  constructor(private readonly sql: SqlClient) {}

  async init(): Promise<void> {
    await migrate(this.sql, PIPELINE_STATE_MIGRATIONS);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, pipeline: string): Promise<T> {
    // The lock serialises writers of one pipeline (several instances on one database): they take
    // disjoint partitions, so it costs little, and keeps PostgreSQL from deadlocking on shared rows.
    return this.sql.transaction(fn, { lockKey: `ferry:pipeline:${pipeline}` });
  }

  async processed(
    tx: SqlExecutor,
    pipeline: string,
    ids: readonly string[],
  ): Promise<Map<string, ProcessedEvent>> {
    const out = new Map<string, ProcessedEvent>();
    for (let at = 0; at < ids.length; at += KEYS_PER_QUERY) {
      const chunk = ids.slice(at, at + KEYS_PER_QUERY);
      const rows = await tx.query<{ event_id: string; outcome: EventOutcome; reason: string | null }>(
        `SELECT event_id, outcome, reason FROM ferry_pipeline_events WHERE pipeline = $1 AND event_id IN (${placeholders(chunk.length, 2)})`,
        [pipeline, ...chunk],
      );
      for (const r of rows) out.set(r.event_id, { outcome: r.outcome, reason: r.reason });
    }
    return out;
  }

  async partitions(
    tx: SqlExecutor,
    pipeline: string,
    parts: readonly number[],
  ): Promise<Map<number, PartitionState>> {
    const out = new Map<number, PartitionState>();
    if (parts.length > 0) {
      const rows = await tx.query<Record<string, unknown>>(
        `SELECT part, max_event_ms, processed, late, dead_lettered, duplicates, last_sequence FROM ferry_pipeline_partitions WHERE pipeline = $1 AND part IN (${placeholders(parts.length, 2)})`,
        [pipeline, ...parts],
      );
      for (const r of rows) {
        out.set(num(r.part), {
          part: num(r.part),
          maxEventMs: r.max_event_ms === null ? undefined : num(r.max_event_ms),
          processed: num(r.processed),
          late: num(r.late),
          deadLettered: num(r.dead_lettered),
          duplicates: num(r.duplicates),
          lastSequence: num(r.last_sequence),
        });
      }
    }
    for (const part of parts) {
      if (!out.has(part)) {
        out.set(part, {
          part,
          maxEventMs: undefined,
          processed: 0,
          late: 0,
          deadLettered: 0,
          duplicates: 0,
          lastSequence: 0,
        });
      }
    }
    return out;
  }

  async entities(
    tx: SqlExecutor,
    pipeline: string,
    view: string,
    definition: string,
    keys: readonly string[],
  ): Promise<Map<string, LoadedEntity>> {
    const out = new Map<string, LoadedEntity>();
    for (let at = 0; at < keys.length; at += KEYS_PER_QUERY) {
      const chunk = keys.slice(at, at + KEYS_PER_QUERY);
      const rows = await tx.query<Record<string, unknown>>(
        `SELECT entity_key, window_start, window_end, last_event_ms, events, state, definition FROM ferry_pipeline_state WHERE pipeline = $1 AND view = $2 AND entity_key IN (${placeholders(chunk.length, 3)})`,
        [pipeline, view, ...chunk],
      );
      for (const r of rows) {
        const key = r.entity_key as string;
        let entity = out.get(key);
        if (entity === undefined) {
          entity = { windows: [], row: undefined, stale: [] };
          out.set(key, entity);
        }
        const start = num(r.window_start);
        if (r.definition !== definition) {
          entity.stale.push(start);
          continue;
        }
        const state = JSON.parse(r.state as string) as {
          accs?: unknown[];
          id?: string;
          values?: Record<string, FeatureValue>;
        };
        if (state.accs !== undefined) {
          entity.windows.push({
            start,
            end: num(r.window_end),
            lastEventMs: num(r.last_event_ms),
            events: num(r.events),
            accs: state.accs,
          });
        } else {
          (entity as { row: RowViewState | undefined }).row = {
            eventTimeMs: num(r.last_event_ms),
            id: state.id ?? '',
            values: state.values ?? {},
          };
        }
      }
    }
    return out;
  }

  async writeState(
    tx: SqlExecutor,
    pipeline: string,
    writes: readonly StateWrite[],
    nowMs: number,
  ): Promise<void> {
    for (let at = 0; at < writes.length; at += ROWS_PER_STATEMENT) {
      const chunk = writes.slice(at, at + ROWS_PER_STATEMENT);
      const params: SqlValue[] = [];
      for (const w of chunk) {
        const win = w.window;
        params.push(
          pipeline,
          w.view,
          w.entityKey,
          win?.start ?? 0,
          win?.end ?? 0,
          w.part,
          win?.lastEventMs ?? w.row!.eventTimeMs,
          win?.events ?? 1,
          JSON.stringify(win !== undefined ? { accs: win.accs } : { id: w.row!.id, values: w.row!.values }),
          w.definition,
          nowMs,
        );
      }
      await tx.execute(this.upsertState(chunk.length), params);
    }
  }

  async deleteState(
    tx: SqlExecutor,
    pipeline: string,
    deletes: ReadonlyArray<{ view: string; entityKey: string; start: number }>,
  ): Promise<void> {
    for (const d of deletes) {
      await tx.execute(
        'DELETE FROM ferry_pipeline_state WHERE pipeline = $1 AND view = $2 AND entity_key = $3 AND window_start = $4',
        [pipeline, d.view, d.entityKey, d.start],
      );
    }
  }

  async recordEvents(
    tx: SqlExecutor,
    pipeline: string,
    records: readonly EventRecord[],
    nowMs: number,
  ): Promise<void> {
    // PostgreSQL refuses an upsert that touches one row twice: the last record of an id wins.
    const last = new Map<string, EventRecord>();
    for (const r of records) {
      last.delete(r.id);
      last.set(r.id, r);
    }
    const events = [...last.values()];
    for (let at = 0; at < events.length; at += ROWS_PER_STATEMENT) {
      const chunk = events.slice(at, at + ROWS_PER_STATEMENT);
      const params: SqlValue[] = [];
      for (const e of chunk) params.push(pipeline, e.id, e.outcome, e.reason, e.part, e.eventTimeMs, nowMs);
      await tx.execute(this.insertEvents(chunk.length), params);
    }
  }

  async writePartitions(
    tx: SqlExecutor,
    pipeline: string,
    parts: Iterable<PartitionState>,
    nowMs: number,
  ): Promise<void> {
    for (const p of parts) {
      await tx.execute(
        `INSERT INTO ferry_pipeline_partitions (pipeline, part, max_event_ms, processed, late, dead_lettered, duplicates, last_sequence, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (pipeline, part) DO UPDATE SET max_event_ms = excluded.max_event_ms, processed = excluded.processed,
           late = excluded.late, dead_lettered = excluded.dead_lettered, duplicates = excluded.duplicates,
           last_sequence = excluded.last_sequence, updated_at_ms = excluded.updated_at_ms`,
        [
          pipeline,
          p.part,
          p.maxEventMs ?? null,
          p.processed,
          p.late,
          p.deadLettered,
          p.duplicates,
          p.lastSequence,
          nowMs,
        ],
      );
    }
  }

  /** Every partition's row of a pipeline (status). */
  async allPartitions(pipeline: string): Promise<PartitionState[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      'SELECT part FROM ferry_pipeline_partitions WHERE pipeline = $1 ORDER BY part',
      [pipeline],
    );
    const parts = rows.map((r) => num(r.part));
    return [...(await this.partitions(this.sql, pipeline, parts)).values()].sort((a, b) => a.part - b.part);
  }

  /** Pipelines with state in this database (status of a stream lists those reading it). */
  async pipelinesOfStream(stream: string): Promise<string[]> {
    const rows = await this.sql.query<{ pipeline: string }>(
      'SELECT DISTINCT pipeline FROM ferry_pipeline_instances WHERE stream = $1 ORDER BY pipeline',
      [stream],
    );
    return rows.map((r) => r.pipeline);
  }

  async heartbeat(
    pipeline: string,
    instance: string,
    stream: string,
    stats: unknown,
    startedAtMs: number,
    nowMs: number,
  ): Promise<void> {
    await this.sql.execute(
      `INSERT INTO ferry_pipeline_instances (pipeline, instance, stream, stats, started_at_ms, heartbeat_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (pipeline, instance) DO UPDATE SET stream = excluded.stream, stats = excluded.stats,
         started_at_ms = excluded.started_at_ms, heartbeat_at_ms = excluded.heartbeat_at_ms`,
      [pipeline, instance, stream, JSON.stringify(stats), startedAtMs, nowMs],
    );
  }

  async instances(
    pipeline: string,
  ): Promise<Array<{ instance: string; stats: unknown; startedAtMs: number; heartbeatAtMs: number }>> {
    const rows = await this.sql.query<Record<string, unknown>>(
      'SELECT instance, stats, started_at_ms, heartbeat_at_ms FROM ferry_pipeline_instances WHERE pipeline = $1 ORDER BY instance',
      [pipeline],
    );
    return rows.map((r) => ({
      instance: r.instance as string,
      stats: JSON.parse(r.stats as string) as unknown,
      startedAtMs: num(r.started_at_ms),
      heartbeatAtMs: num(r.heartbeat_at_ms),
    }));
  }

  /**
   * Drops what can no longer matter: windows (of the window `views` given) the partition's watermark
   * passed more than the view's retention ago (an event for them would be late anyway), and dedupe rows of events older than
   * the pipeline's maxAge behind the newest event (a copy of one would be refused as ancient, so
   * it could not be counted twice). Returns the rows removed.
   */
  async sweep(
    pipeline: string,
    part: number,
    views: ReadonlyArray<{ name: string; horizonMs: number }>,
    ancientBeforeMs: number,
    deadBeforeMs: number,
  ): Promise<number> {
    let removed = 0;
    for (const v of views) {
      removed += await this.sql.execute(
        'DELETE FROM ferry_pipeline_state WHERE pipeline = $1 AND view = $2 AND part = $3 AND window_end <= $4',
        [pipeline, v.name, part, v.horizonMs],
      );
    }
    removed += await this.sql.execute(
      'DELETE FROM ferry_pipeline_events WHERE pipeline = $1 AND part = $2 AND event_time_ms < $3',
      [pipeline, part, ancientBeforeMs],
    );
    removed += await this.sql.execute(
      'DELETE FROM ferry_pipeline_events WHERE pipeline = $1 AND part = $2 AND event_time_ms IS NULL AND processed_at_ms < $3',
      [pipeline, part, deadBeforeMs],
    );
    return removed;
  }

  private upsertState(rows: number): string {
    return this.cached(`state:${rows}`, () => {
      const tuples = Array.from({ length: rows }, (_, r) => tuple(r * STATE_COLUMNS, STATE_COLUMNS)).join(
        ', ',
      );
      return `INSERT INTO ferry_pipeline_state (pipeline, view, entity_key, window_start, window_end, part, last_event_ms, events, state, definition, updated_at_ms)
        VALUES ${tuples}
        ON CONFLICT (pipeline, view, entity_key, window_start) DO UPDATE SET window_end = excluded.window_end,
          part = excluded.part, last_event_ms = excluded.last_event_ms, events = excluded.events, state = excluded.state,
          definition = excluded.definition, updated_at_ms = excluded.updated_at_ms`;
    });
  }

  private insertEvents(rows: number): string {
    return this.cached(`events:${rows}`, () => {
      const tuples = Array.from({ length: rows }, (_, r) => tuple(r * EVENT_COLUMNS, EVENT_COLUMNS)).join(
        ', ',
      );
      // An id keeps its first counted outcome; only a refusal ('dead') is replaced, by the event
      // published again under that id once corrected.
      return `INSERT INTO ferry_pipeline_events (pipeline, event_id, outcome, reason, part, event_time_ms, processed_at_ms)
        VALUES ${tuples} ON CONFLICT (pipeline, event_id) DO UPDATE SET outcome = excluded.outcome,
          reason = excluded.reason, part = excluded.part, event_time_ms = excluded.event_time_ms,
          processed_at_ms = excluded.processed_at_ms
        WHERE ferry_pipeline_events.outcome = 'dead'`;
    });
  }

  private cached(key: string, build: () => string): string {
    let s = this.statements.get(key);
    if (s === undefined) {
      s = build();
      this.statements.set(key, s);
    }
    return s;
  }
}

function placeholders(count: number, from: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}

function tuple(base: number, columns: number): string {
  return `(${Array.from({ length: columns }, (_, c) => `$${base + c + 1}`).join(', ')})`;
}
