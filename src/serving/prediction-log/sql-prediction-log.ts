import { defineSchema, migrate } from '../../core/migrations.js';
import type { PredictionLogRecord, PredictionLogSink } from '../../ports/prediction-log-sink.js';
import type { SqlClient, SqlValue } from '../../ports/sql.js';

const COLUMNS = [
  'request_id',
  'at',
  'model',
  'version',
  'title',
  'description',
  'prediction',
  'probabilities',
  'latency_ms',
  'source',
  'unit',
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

/** The store's versioned migrations (`src/core/migrations.ts`); 1 is the DDL of Ferry 0.1.0. */
export const PREDICTION_LOG_MIGRATIONS = defineSchema('prediction-log', [
  { version: 1, description: 'tables of Ferry 0.1.0', statements: PREDICTION_LOG_SCHEMA },
]);

/** The prediction log as a table in the registry's database (SQLite or PostgreSQL). */
export class SqlPredictionLog implements PredictionLogSink {
  constructor(private readonly sql: SqlClient) {}

  async init(): Promise<void> {
    await migrate(this.sql, PREDICTION_LOG_MIGRATIONS);
  }

  async write(records: readonly PredictionLogRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += ROWS_PER_INSERT) {
      const chunk = records.slice(start, start + ROWS_PER_INSERT);
      const params: SqlValue[] = [];
      const tuples = chunk.map((r) => {
        const values: SqlValue[] = [
          r.requestId,
          r.at,
          r.model,
          r.version,
          r.title,
          r.description,
          r.prediction,
          JSON.stringify(r.probabilities),
          r.latencyMs,
          r.source,
          r.unit ?? null,
        ];
        const placeholders = values.map((v) => {
          params.push(v);
          return `$${params.length}`;
        });
        return `(${placeholders.join(', ')})`;
      });
      await this.sql.execute(
        `INSERT INTO ferry_prediction_log (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
        params,
      );
    }
  }

  async close(): Promise<void> {}
}
