import { ErrorCode, isFerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type {
  PredictionLogCursor,
  PredictionLogPage,
  PredictionLogQuery,
  PredictionLogReader,
} from '../../ports/prediction-log-reader.js';
import type {
  PredictionLogItem,
  PredictionLogRecord,
  PredictionLogSink,
} from '../../ports/prediction-log-sink.js';
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
  {
    version: 3,
    description: 'ferry_prediction_requests by request id: feedback labels join to their prediction',
    statements: [
      'CREATE INDEX IF NOT EXISTS ferry_prediction_requests_request_id ON ferry_prediction_requests (request_id)',
    ],
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

/** A page is capped so one read never holds an unbounded result in memory. */
const MAX_PAGE = 10_000;
/** Ids per lookup statement (well under SQLite's and PostgreSQL's parameter limits). */
const IDS_PER_LOOKUP = 500;

interface RequestRow {
  request_id: unknown;
  at: unknown;
  model: unknown;
  version: unknown;
  unit: unknown;
  experiment: unknown;
  arm: unknown;
  latency_ms: unknown;
  item_count: unknown;
  truncated: unknown;
  items: unknown;
  [key: string]: unknown;
}

function recordOf(row: RequestRow): PredictionLogRecord {
  const record: PredictionLogRecord = {
    requestId: String(row.request_id),
    at: String(row.at),
    model: String(row.model),
    version: Number(row.version),
    latencyMs: Number(row.latency_ms),
    itemCount: Number(row.item_count),
    items: JSON.parse(String(row.items)) as PredictionLogItem[],
  };
  if (row.unit != null) record.unit = String(row.unit);
  if (row.experiment != null) record.experiment = String(row.experiment);
  if (row.arm != null) record.arm = String(row.arm);
  if (Number(row.truncated) === 1) record.truncated = true;
  return record;
}

/** WHERE clause of a range query; `params` is appended to. */
function rangeFilter(q: Omit<PredictionLogQuery, 'limit'>, params: SqlValue[]): string {
  const where = ['model = $1'];
  params.push(q.model);
  const add = (clause: (n: string) => string, value: SqlValue) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (q.version !== undefined) add((n) => `version = ${n}`, q.version);
  if (q.since !== undefined) add((n) => `at >= ${n}`, q.since);
  if (q.until !== undefined) add((n) => `at < ${n}`, q.until);
  if (q.after) {
    params.push(q.after.at, q.after.requestId);
    const a = params.length - 1;
    where.push(`(at > $${a} OR (at = $${a} AND request_id > $${a + 1}))`);
  }
  return where.join(' AND ');
}

/**
 * The prediction log as a table in the registry's database (SQLite or PostgreSQL): written by the
 * server, read back by monitoring and feedback. Times are ISO 8601 strings of one width (UTC, ms),
 * so text order is time order on both engines.
 */
export class SqlPredictionLog implements PredictionLogSink, PredictionLogReader {
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

  async read(q: PredictionLogQuery): Promise<PredictionLogPage> {
    const limit = Math.max(1, Math.min(MAX_PAGE, Math.floor(q.limit)));
    const params: SqlValue[] = [];
    const where = rangeFilter(q, params);
    params.push(limit + 1);
    const rows = await this.sql.query<RequestRow>(
      `SELECT ${COLUMNS.join(', ')} FROM ferry_prediction_requests WHERE ${where}
       ORDER BY at, request_id LIMIT $${params.length}`,
      params,
    );
    const records = rows.slice(0, limit).map(recordOf);
    const last = records.at(-1);
    const next: PredictionLogCursor | null =
      rows.length > limit && last ? { at: last.at, requestId: last.requestId } : null;
    return { records, next };
  }

  async count(q: Omit<PredictionLogQuery, 'after' | 'limit'>): Promise<number> {
    const params: SqlValue[] = [];
    const where = rangeFilter(q, params);
    const [row] = await this.sql.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM ferry_prediction_requests WHERE ${where}`,
      params,
    );
    return Number(row?.n ?? 0);
  }

  async findByRequestIds(requestIds: readonly string[]): Promise<PredictionLogRecord[]> {
    const unique = [...new Set(requestIds)];
    const found: PredictionLogRecord[] = [];
    for (let i = 0; i < unique.length; i += IDS_PER_LOOKUP) {
      const ids = unique.slice(i, i + IDS_PER_LOOKUP);
      const rows = await this.sql.query<RequestRow>(
        `SELECT ${COLUMNS.join(', ')} FROM ferry_prediction_requests
         WHERE request_id IN (${ids.map((_, k) => `$${k + 1}`).join(', ')})`,
        ids,
      );
      found.push(...rows.map(recordOf));
    }
    return found;
  }

  async close(): Promise<void> {}
}
