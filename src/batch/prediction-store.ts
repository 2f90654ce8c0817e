import { assertEntityId } from '../core/entity-id.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { defineSchema, migrate } from '../core/migrations.js';
import type {
  PredictionSource,
  StoredPrediction,
  StoredPredictionStore,
  StoredTensor,
} from '../ports/prediction-store.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../ports/sql.js';
import {
  COLUMNS,
  PREDICTION_STORE_TABLE,
  UNNEST_ROWS_PER_STATEMENT,
  UNNEST_UPSERT_SQL,
  unnestParams,
  valuesUpsertSql,
} from './prediction-upsert.js';

// The row type and the id rule live with the port and in core (serving uses them without the store);
// re-exported so that batch code and its callers keep one import.
export { entityIdProblem, MAX_ENTITY_ID_LENGTH } from '../core/entity-id.js';
export type { StoredPrediction } from '../ports/prediction-store.js';

export interface PredictionStoreOptions {
  sql: SqlClient;
  /** Time source of `now()` and `ageMs()`; tests pass a manual clock. */
  clock?: () => Date;
  /**
   * How rows are written. `auto` (default): one `INSERT … SELECT FROM unnest(…)` per chunk on
   * PostgreSQL, multi-row VALUES on SQLite. `values`: multi-row VALUES on both (the portable
   * path; tests compare the two).
   */
  upsert?: 'auto' | 'values';
}

/**
 * Rows per INSERT statement: 10 parameters each, 5000 a statement, far under SQLite's 32766 and
 * PostgreSQL's 65535 bind parameters. Larger statements are not measurably faster.
 */
export const UPSERT_ROWS_PER_STATEMENT = 500;
const IDS_PER_LOOKUP = 500;
/** The largest PostgreSQL INTEGER: both engines refuse the same versions. */
const MAX_VERSION = 2_147_483_647;

/**
 * Idempotent DDL accepted by SQLite and PostgreSQL alike. JSON (probabilities) is TEXT, times are
 * ISO 8601 TEXT (so they order as strings). The (model, version) index keeps the staleness count
 * ("rows not from version v") a scan of the stale rows only; (model, computed_at) makes the oldest
 * row a single index probe.
 */
const PREDICTION_STORE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${PREDICTION_STORE_TABLE} (
    model TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    input_sha256 TEXT NOT NULL,
    prediction TEXT NOT NULL,
    probabilities TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    job_id TEXT NULL,
    PRIMARY KEY (model, entity_id)
  )`,
  `CREATE INDEX IF NOT EXISTS ${PREDICTION_STORE_TABLE}_model_version ON ${PREDICTION_STORE_TABLE} (model, version)`,
  `CREATE INDEX IF NOT EXISTS ${PREDICTION_STORE_TABLE}_model_computed_at ON ${PREDICTION_STORE_TABLE} (model, computed_at)`,
];

/** The store's versioned migrations (`src/core/migrations.ts`); 1 is the DDL of Ferry 0.1.0. */
export const PREDICTION_STORE_MIGRATIONS = defineSchema('prediction-store', [
  { version: 1, description: 'tables of Ferry 0.1.0', statements: PREDICTION_STORE_SCHEMA },
  {
    version: 2,
    description: 'source of each stored prediction (batch or live write-back)',
    // Same SQL on both engines. Existing rows get their source from job_id (a live write-back has
    // none); the index makes "the live rows of these entities" (batch --recompute-live) a probe.
    statements: [
      `ALTER TABLE ${PREDICTION_STORE_TABLE} ADD COLUMN source TEXT NULL`,
      `UPDATE ${PREDICTION_STORE_TABLE} SET source = CASE WHEN job_id IS NULL THEN 'live' ELSE 'batch' END WHERE source IS NULL`,
      `CREATE INDEX IF NOT EXISTS ${PREDICTION_STORE_TABLE}_model_source ON ${PREDICTION_STORE_TABLE} (model, source)`,
    ],
  },
  {
    version: 3,
    description: 'outputs of any model kind (JSON tensors); text rows keep prediction and probabilities',
    // Rows of other models than the text classifier hold their outputs here, with prediction ''
    // and probabilities 'null' (both columns are NOT NULL since migration 1, and SQLite cannot
    // drop that without rebuilding the table). Text rows, and every row written before this
    // migration, leave it NULL: their outputs are derived from prediction and probabilities.
    statements: [`ALTER TABLE ${PREDICTION_STORE_TABLE} ADD COLUMN outputs TEXT NULL`],
  },
]);

type Row = {
  model: string;
  entity_id: string;
  version: unknown;
  input_sha256: string;
  prediction: string;
  probabilities: string;
  computed_at: string;
  job_id: string | null;
  source: string | null;
  outputs: string | null;
};

const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The prediction store: the latest prediction per (model, entity) computed ahead of time by batch
 * jobs (or written back by the server), in the `ferry_batch_predictions` table of any SqlClient.
 * Statements use parameters only: entity ids never reach SQL text, whatever characters they hold.
 */
// One string for every lookup: the SQL clients cache prepared statements by their text, and a
// template built per call would be joined and hashed again on every request.
const GET_SQL = `SELECT ${COLUMNS} FROM ${PREDICTION_STORE_TABLE} WHERE model = $1 AND entity_id = $2`;

export class PredictionStore implements StoredPredictionStore {
  private readonly sql: SqlClient;
  private readonly clock: () => Date;
  private readonly upsertSql = new Map<number, string>();
  private readonly unnest: boolean;

  constructor(opts: PredictionStoreOptions) {
    this.sql = opts.sql;
    this.clock = opts.clock ?? (() => new Date());
    this.unnest = opts.sql.dialect === 'postgres' && (opts.upsert ?? 'auto') === 'auto';
  }

  /** Creates the table and its indexes if missing; safe to call on every start and from many processes. */
  async init(): Promise<void> {
    await migrate(this.sql, PREDICTION_STORE_MIGRATIONS);
  }

  /** The store's clock. */
  now(): Date {
    return this.clock();
  }

  /** How old a stored prediction is by the store's clock (ms, never negative). */
  ageMs(stored: Pick<StoredPrediction, 'computedAt'>): number {
    return Math.max(0, this.clock().getTime() - Date.parse(stored.computedAt));
  }

  /**
   * Inserts or replaces the rows (one per model and entity: running twice leaves one row each), in
   * multi-row statements: VALUES of UPSERT_ROWS_PER_STATEMENT rows, or on PostgreSQL one unnest
   * statement per UNNEST_ROWS_PER_STATEMENT rows (see prediction-upsert.ts). Last writer wins: a row replaces the
   * stored one whatever their computedAt; within one call the last row for an entity wins.
   *
   * With `tx` every statement runs on that executor, inside the caller's transaction (so a job can
   * commit its predictions and its progress together). Without it, one chunk runs as one statement
   * and several chunks run in one transaction of their own: all or nothing.
   */
  async upsertMany(rows: readonly StoredPrediction[], tx?: SqlExecutor): Promise<void> {
    if (rows.length === 0) return;
    const statements = this.unnest ? unnestStatements(rows) : this.valuesStatements(rows);
    const write = async (executor: SqlExecutor) => {
      for (const s of statements) await executor.execute(s.sql, s.params);
    };
    if (tx !== undefined) await write(tx);
    else if (statements.length === 1) await write(this.sql);
    else await this.sql.transaction(write);
  }

  private valuesStatements(rows: readonly StoredPrediction[]): Statement[] {
    const statements: Statement[] = [];
    for (let start = 0; start < rows.length; start += UPSERT_ROWS_PER_STATEMENT) {
      const chunk = lastPerEntity(rows.slice(start, start + UPSERT_ROWS_PER_STATEMENT));
      statements.push({ sql: this.upsertStatement(chunk.length), params: chunk.flatMap(encodeRow) });
    }
    return statements;
  }

  async get(model: string, entityId: string, tx?: SqlExecutor): Promise<StoredPrediction | undefined> {
    assertEntityId(model, 'model');
    assertEntityId(entityId);
    const [row] = await (tx ?? this.sql).query<Row>(GET_SQL, [model, entityId]);
    return row === undefined ? undefined : fromRow(row);
  }

  /** One entry per id, in the order given (duplicates repeat); undefined where nothing is stored. */
  async getMany(
    model: string,
    entityIds: readonly string[],
    tx?: SqlExecutor,
  ): Promise<(StoredPrediction | undefined)[]> {
    assertEntityId(model, 'model');
    for (const id of entityIds) assertEntityId(id);
    const found = new Map<string, StoredPrediction>();
    const unique = [...new Set(entityIds)];
    const executor = tx ?? this.sql;
    for (let start = 0; start < unique.length; start += IDS_PER_LOOKUP) {
      const ids = unique.slice(start, start + IDS_PER_LOOKUP);
      const placeholders = ids.map((_, i) => `$${i + 2}`).join(', ');
      const rows = await executor.query<Row>(
        `SELECT ${COLUMNS} FROM ${PREDICTION_STORE_TABLE} WHERE model = $1 AND entity_id IN (${placeholders})`,
        [model, ...ids],
      );
      for (const row of rows) found.set(row.entity_id, fromRow(row));
    }
    return entityIds.map((id) => found.get(id));
  }

  /**
   * A page of `model`'s stored predictions in entity-id order, starting after `after` (keyset
   * pagination: stable under concurrent writes, each page one index range scan). For candidate
   * generation (recommendations) and exports.
   */
  async list(model: string, opts: { after?: string; limit: number }): Promise<StoredPrediction[]> {
    assertEntityId(model, 'model');
    if (opts.after !== undefined) assertEntityId(opts.after);
    const limit = Math.max(1, Math.min(10_000, Math.trunc(opts.limit)));
    const rows = await this.sql.query<Row>(
      opts.after === undefined
        ? `SELECT ${COLUMNS} FROM ${PREDICTION_STORE_TABLE} WHERE model = $1 ORDER BY entity_id LIMIT ${limit}`
        : `SELECT ${COLUMNS} FROM ${PREDICTION_STORE_TABLE} WHERE model = $1 AND entity_id > $2 ORDER BY entity_id LIMIT ${limit}`,
      opts.after === undefined ? [model] : [model, opts.after],
    );
    return rows.map(fromRow);
  }

  /** Entities with a stored prediction of `model`. */
  async count(model: string): Promise<number> {
    assertEntityId(model, 'model');
    const [row] = await this.sql.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM ${PREDICTION_STORE_TABLE} WHERE model = $1`,
      [model],
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Entities whose stored prediction of `model` came from a version other than `version` (e.g. the
   * current production). Two range scans of the (model, version) index: cost grows with the stale
   * rows, not with the table.
   */
  async countNotFromVersion(model: string, version: number): Promise<number> {
    assertEntityId(model, 'model');
    const [row] = await this.sql.query<{ below: unknown; above: unknown }>(
      `SELECT
         (SELECT COUNT(*) FROM ${PREDICTION_STORE_TABLE} WHERE model = $1 AND version < $2) AS below,
         (SELECT COUNT(*) FROM ${PREDICTION_STORE_TABLE} WHERE model = $1 AND version > $2) AS above`,
      [model, version],
    );
    return Number(row?.below ?? 0) + Number(row?.above ?? 0);
  }

  /** computedAt of the oldest stored prediction of `model`; undefined when none is stored. */
  async oldestComputedAt(model: string): Promise<string | undefined> {
    assertEntityId(model, 'model');
    const [row] = await this.sql.query<{ oldest: string | null }>(
      `SELECT MIN(computed_at) AS oldest FROM ${PREDICTION_STORE_TABLE} WHERE model = $1`,
      [model],
    );
    return row?.oldest ?? undefined;
  }

  private upsertStatement(rowCount: number): string {
    let sql = this.upsertSql.get(rowCount);
    if (sql === undefined) {
      sql = valuesUpsertSql(rowCount);
      this.upsertSql.set(rowCount, sql);
    }
    return sql;
  }
}

interface Statement {
  sql: string;
  params: SqlValue[];
}

/**
 * The unnest statements of a call: duplicates resolved over the whole call first (the last row per
 * entity wins, as when VALUES statements run in order), so the split into statements cannot put
 * one entity in two of them.
 */
function unnestStatements(rows: readonly StoredPrediction[]): Statement[] {
  const unique = lastPerEntity(rows);
  const statements: Statement[] = [];
  for (let start = 0; start < unique.length; start += UNNEST_ROWS_PER_STATEMENT) {
    const encoded = unique.slice(start, start + UNNEST_ROWS_PER_STATEMENT).map(encodeRow);
    statements.push({ sql: UNNEST_UPSERT_SQL, params: unnestParams(encoded) });
  }
  return statements;
}

/** A validated row as its column values, in COLUMNS order. */
function encodeRow(row: StoredPrediction): SqlValue[] {
  const text = row.prediction !== undefined;
  return [
    row.model,
    row.entityId,
    row.version,
    row.inputSha256,
    text ? row.prediction! : '',
    text ? encodeProbabilities(row) : 'null',
    canonicalTime(row),
    row.jobId ?? null,
    sourceOf(row.source, row.jobId),
    text ? null : encodeOutputs(row),
  ];
}

/**
 * Validates a chunk and keeps the last row per (model, entity): PostgreSQL refuses an
 * INSERT … ON CONFLICT DO UPDATE that touches the same row twice, SQLite would keep the last.
 */
function lastPerEntity(chunk: readonly StoredPrediction[]): readonly StoredPrediction[] {
  const keys = new Set<string>();
  for (const row of chunk) {
    assertRow(row);
    keys.add(`${row.model}\u0000${row.entityId}`);
  }
  if (keys.size === chunk.length) return chunk;
  const last = new Map<string, StoredPrediction>();
  for (const row of chunk) {
    const key = `${row.model}\u0000${row.entityId}`;
    last.delete(key);
    last.set(key, row);
  }
  return [...last.values()];
}

function invalid(row: StoredPrediction, message: string): FerryError {
  return new FerryError(
    ErrorCode.BATCH_INVALID_PREDICTION,
    `invalid stored prediction for entity ${JSON.stringify(row.entityId)}: ${message}`,
    { details: { model: row.model, entityId: row.entityId } },
  );
}

function assertRow(row: StoredPrediction): void {
  assertEntityId(row.model, 'model');
  assertEntityId(row.entityId);
  if (!Number.isInteger(row.version) || row.version < 1 || row.version > MAX_VERSION) {
    throw invalid(row, `version must be an integer in [1, ${MAX_VERSION}]`);
  }
  if (typeof row.inputSha256 !== 'string' || row.inputSha256 === '')
    throw invalid(row, 'inputSha256 is empty');
  if (row.prediction !== undefined && typeof row.prediction !== 'string') {
    throw invalid(row, 'prediction must be a string');
  }
  if ((row.prediction === undefined) !== (row.probabilities === undefined)) {
    throw invalid(row, 'prediction and probabilities go together (a text classifier row) or are both absent');
  }
  if (row.jobId !== undefined && row.jobId !== null && typeof row.jobId !== 'string') {
    throw invalid(row, 'jobId must be a string or null');
  }
  if (row.source !== undefined && row.source !== 'batch' && row.source !== 'live') {
    throw invalid(row, 'source must be batch or live');
  }
}

function encodeProbabilities(row: StoredPrediction): string {
  const p = row.probabilities;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    throw invalid(row, 'probabilities must be an object of numbers');
  }
  for (const key in p) {
    if (!Number.isFinite(p[key])) throw invalid(row, `probability of ${JSON.stringify(key)} is not finite`);
  }
  return JSON.stringify(p);
}

/** ISO strings from toISOString() order as text; anything else parseable is normalised to that form. */
function canonicalTime(row: StoredPrediction): string {
  if (typeof row.computedAt === 'string' && CANONICAL_ISO.test(row.computedAt)) return row.computedAt;
  const ms = typeof row.computedAt === 'string' ? Date.parse(row.computedAt) : Number.NaN;
  if (Number.isNaN(ms)) throw invalid(row, `computedAt ${JSON.stringify(row.computedAt)} is not a date`);
  return new Date(ms).toISOString();
}

function fromRow(row: Row): StoredPrediction {
  const probabilities = JSON.parse(row.probabilities) as Record<string, number> | null;
  // One literal, the text fields added after: not `{ ...common, outputs }`, since a spread followed
  // by new keys leaves V8's fast path on Node 20 (about 1 µs a key) and every lookup comes here.
  const stored: StoredPrediction = {
    model: row.model,
    entityId: row.entity_id,
    version: Number(row.version),
    inputSha256: row.input_sha256,
    computedAt: row.computed_at,
    jobId: row.job_id ?? null,
    source: sourceOf(row.source, row.job_id),
    outputs:
      probabilities === null
        ? (JSON.parse(row.outputs ?? '{}') as Record<string, StoredTensor>)
        : textOutputs(row.prediction, probabilities),
  };
  if (probabilities !== null) {
    stored.prediction = row.prediction;
    stored.probabilities = probabilities;
  }
  return stored;
}

/**
 * A text classifier row's outputs as its model's `infer` gives them for one row: `label` [] and
 * `probabilities` [classes] in the stored order (the model's class order, which JSON keeps).
 */
function textOutputs(
  prediction: string,
  probabilities: Record<string, number>,
): Record<string, StoredTensor> {
  const values = Object.values(probabilities);
  return {
    label: { datatype: 'BYTES', shape: [], data: [prediction] },
    probabilities: { datatype: 'FP32', shape: [values.length], data: values },
  };
}

/** A non-text row's outputs as JSON: tensors whose data fill their shape, numbers finite (JSON has no NaN). */
function encodeOutputs(row: StoredPrediction): string {
  const outputs = row.outputs;
  if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)) {
    throw invalid(row, 'outputs must be an object of tensors');
  }
  for (const [name, t] of Object.entries(outputs)) {
    const ok =
      typeof t === 'object' &&
      t !== null &&
      typeof t.datatype === 'string' &&
      Array.isArray(t.shape) &&
      t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
      Array.isArray(t.data) &&
      t.data.length === t.shape.reduce((a, b) => a * b, 1);
    if (!ok) throw invalid(row, `output ${JSON.stringify(name)} is not a tensor whose data fill its shape`);
    for (const v of t.data) {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw invalid(
          row,
          `output ${JSON.stringify(name)} holds a non-finite number, which JSON cannot keep`,
        );
      }
    }
  }
  return JSON.stringify(outputs);
}

/** The recorded source, or the one implied by the job id (rows older than the column, writes without it). */
function sourceOf(source: string | null | undefined, jobId: string | null | undefined): PredictionSource {
  if (source === 'batch' || source === 'live') return source;
  return jobId === undefined || jobId === null ? 'live' : 'batch';
}
