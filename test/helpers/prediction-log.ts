import type { PredictionLogRecord } from '../../src/ports/prediction-log-sink.js';
import type { SqlClient } from '../../src/ports/sql.js';

/** Reads the SQL prediction log back as records, in insertion order. */
export async function readSqlLog(sql: SqlClient): Promise<PredictionLogRecord[]> {
  const rows = await sql.query<Record<string, unknown>>('SELECT * FROM ferry_prediction_log');
  return rows.map((r) => ({
    requestId: String(r.request_id),
    at: String(r.at),
    model: String(r.model),
    version: Number(r.version),
    title: String(r.title),
    description: String(r.description),
    prediction: String(r.prediction),
    probabilities: JSON.parse(String(r.probabilities)) as Record<string, number>,
    latencyMs: Number(r.latency_ms),
    source: r.source as 'model' | 'cache',
    ...(r.unit === null || r.unit === undefined ? {} : { unit: String(r.unit) }),
  }));
}
