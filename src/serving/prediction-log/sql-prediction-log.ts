import { ErrorCode, isFerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type { PredictionLogRecord, PredictionLogSink } from '../../ports/prediction-log-sink.js';
import type { SqlClient, SqlValue } from '../../ports/sql.js';

const COLUMNS = [
  'request_id',
  'at',
  'model',
  'version',
  'unit',
  'experiment',
  'arm',
  'latency_ms',
  'item_count',
  'truncated',
  'items',
];
const ROWS_PER_INSERT = 200;

const PREDICTION_LOG_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ferry_prediction_log (
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    prediction TEXT NOT NULL,
    probabilities TEXT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL,
    unit TEXT
  )`,
  'CREATE INDEX IF NOT EXISTS ferry_prediction_log_model_at ON ferry_prediction_log (model, at)',
];

/**
 * One row per request: request-level fields once, the items as a JSON array
 * (`[{title, description, prediction, probabilities, source}]`). The same statements on SQLite and
 * PostgreSQL (SQLite accepts DOUBLE PRECISION; `truncated` is 0/1 on both).
 */
const REQUESTS_TABLE: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ferry_prediction_requests (
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    unit TEXT,
    experiment TEXT,
    arm TEXT,
    latency_ms DOUBLE PRECISION NOT NULL,
    item_count INTEGER NOT NULL,
    truncated INTEGER NOT NULL DEFAULT 0,
    items TEXT NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS ferry_prediction_requests_model_at ON ferry_prediction_requests (model, at)',
];

/** The store's versioned migrations (`src/core/migrations.ts`); 1 is the DDL of Ferry 0.1.0. */
export const PREDICTION_LOG_MIGRATIONS = defineSchema('prediction-log', [
  { version: 1, description: 'tables of Ferry 0.1.0', statements: PREDICTION_LOG_SCHEMA },
  {
    version: 2,
    // ferry_prediction_log keeps its rows (readable, no longer written): copying them could take
    // long on a big log and would run at every replica's start under the migrations lock.
    description: 'ferry_prediction_requests: one row per request, items as JSON',
    statements: REQUESTS_TABLE,
  },
]);

export interface SqlPredictionLogOptions {
  /** A record the database refused on its own (after the others of its batch were written). */
  onRejected?: (record: PredictionLogRecord, error: unknown) => void;
}

/**
 * Whether the statement failed for something in its rows (a value the database cannot store) rather
 * than for the database itself: only then is retrying with fewer rows useful.
 */
function isRowError(e: unknown): boolean {
  if (!isFerryError(e, ErrorCode.DB_ERROR)) return false;
  const { pgCode, sqliteCode } = e.details;
  // 22: data exception (NUL, bad encoding, out of range), 23: integrity, 54: program limit (row too big).
  if (typeof pgCode === 'string') return /^(22|23|54)/.test(pgCode);
  if (typeof sqliteCode === 'string') return /^SQLITE_(TOOBIG|CONSTRAINT|MISMATCH)/.test(sqliteCode);
  return false;
}

function rowOf(r: PredictionLogRecord): SqlValue[] {
  return [
    r.requestId,
    r.at,
    r.model,
    r.version,
    r.unit ?? null,
    r.experiment ?? null,
    r.arm ?? null,
    r.latencyMs,
    r.itemCount,
    r.truncated ? 1 : 0,
    JSON.stringify(r.items),
  ];
}

/** The prediction log as a table in the registry's database (SQLite or PostgreSQL). */
export class SqlPredictionLog implements PredictionLogSink {
  constructor(
    private readonly sql: SqlClient,
    private readonly opts: SqlPredictionLogOptions = {},
  ) {}

  async init(): Promise<void> {
    await migrate(this.sql, PREDICTION_LOG_MIGRATIONS);
  }

  async write(records: readonly PredictionLogRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += ROWS_PER_INSERT) {
      await this.insertIsolating(records.slice(start, start + ROWS_PER_INSERT));
    }
  }

  /**
   * One multi-row INSERT; when the database refuses a row, the halves are retried (bisection), so
   * one bad record costs O(log n) extra statements and only itself, never its neighbours.
   */
  private async insertIsolating(chunk: readonly PredictionLogRecord[]): Promise<void> {
    try {
      await this.insert(chunk);
    } catch (e) {
      if (!isRowError(e)) throw e;
      if (chunk.length === 1) {
        this.opts.onRejected?.(chunk[0]!, e);
        return;
      }
      const mid = Math.ceil(chunk.length / 2);
      await this.insertIsolating(chunk.slice(0, mid));
      await this.insertIsolating(chunk.slice(mid));
    }
  }

  private async insert(chunk: readonly PredictionLogRecord[]): Promise<void> {
    const params: SqlValue[] = [];
    const tuples = chunk.map((r) => {
      const placeholders = rowOf(r).map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await this.sql.execute(
      `INSERT INTO ferry_prediction_requests (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
      params,
    );
  }

  async close(): Promise<void> {}
}
