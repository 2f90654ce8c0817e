import type { PredictionLogItem, PredictionLogRecord } from '../../src/ports/prediction-log-sink.js';
import type { SqlClient } from '../../src/ports/sql.js';

/** Reads the SQL prediction log (ferry_prediction_requests) back as records, in insertion order. */
export async function readSqlLog(sql: SqlClient): Promise<PredictionLogRecord[]> {
  const rows = await sql.query<Record<string, unknown>>('SELECT * FROM ferry_prediction_requests');
  return rows.map((r) => ({
    requestId: String(r.request_id),
    at: String(r.at),
    model: String(r.model),
    version: Number(r.version),
    ...(r.unit === null || r.unit === undefined ? {} : { unit: String(r.unit) }),
    ...(r.experiment === null || r.experiment === undefined ? {} : { experiment: String(r.experiment) }),
    ...(r.arm === null || r.arm === undefined ? {} : { arm: String(r.arm) }),
    latencyMs: Number(r.latency_ms),
    items: JSON.parse(String(r.items)) as PredictionLogItem[],
    itemCount: Number(r.item_count),
    ...(Number(r.truncated) === 1 ? { truncated: true as const } : {}),
  }));
}
