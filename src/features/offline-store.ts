import { defineSchema, migrate } from '../core/migrations.js';
import type { FeatureValue, OnlineFeatureRow } from '../ports/online-feature-store.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../ports/sql.js';

/**
 * The offline store: every value a feature view ever had, per entity and event time, in the
 * Ferry database (SQLite or PostgreSQL, the same SQL on both). It is what point-in-time training
 * sets read. Written by `ferry features materialize` and by stream pipelines (their offline sink
 * calls `writeOfflineRows`).
 *
 * One row per (view, entity, event time): writing a row again is an upsert that changes nothing
 * when the values are the same (not even `written_at_ms`), so replays and resumed runs are
 * idempotent. Rows of one call with the same key: the last one wins.
 */
export const OFFLINE_STORE_MIGRATIONS = defineSchema('feature_values', [
  {
    version: 1,
    description: 'ferry_feature_values: feature values per view, entity and event time',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_feature_values (
        view TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        event_time_ms BIGINT NOT NULL,
        values_json TEXT NOT NULL,
        written_at_ms BIGINT NOT NULL,
        PRIMARY KEY (view, entity_key, event_time_ms)
      )`,
    ],
  },
]);

/** Creates the table (migrations); safe to call again. */
export async function initOfflineStore(sql: SqlClient): Promise<void> {
  await migrate(sql, OFFLINE_STORE_MIGRATIONS);
}

/** Rows per INSERT: 5 parameters each stays far below SQLite's and PostgreSQL's limits. */
const ROWS_PER_STATEMENT = 500;

/**
 * Upserts the rows; returns how many were inserted or changed. Accepts any executor, so a caller
 * can write inside its own transaction (materialize writes a chunk and its progress in one).
 */
export async function writeOfflineRows(
  sql: SqlExecutor,
  rows: readonly OnlineFeatureRow[],
  nowMs: number = Date.now(),
): Promise<number> {
  // PostgreSQL refuses one INSERT … ON CONFLICT that touches a row twice: keep the last per key.
  const last = new Map<string, OnlineFeatureRow>();
  for (const row of rows) last.set(`${row.view}\u0000${row.entityKey}\u0000${row.eventTimeMs}`, row);
  const unique = [...last.values()];
  let changed = 0;
  for (let at = 0; at < unique.length; at += ROWS_PER_STATEMENT) {
    const batch = unique.slice(at, at + ROWS_PER_STATEMENT);
    const params: SqlValue[] = [];
    const tuples = batch.map((row) => {
      const n = params.length;
      params.push(row.view, row.entityKey, row.eventTimeMs, JSON.stringify(row.values), nowMs);
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`;
    });
    changed += await sql.execute(
      `INSERT INTO ferry_feature_values (view, entity_key, event_time_ms, values_json, written_at_ms)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (view, entity_key, event_time_ms) DO UPDATE
         SET values_json = excluded.values_json, written_at_ms = excluded.written_at_ms
         WHERE ferry_feature_values.values_json <> excluded.values_json`,
      params,
    );
  }
  return changed;
}

/** Deletes every value of the view (apply, when the view is removed or redefined). */
export function deleteOfflineView(sql: SqlExecutor, view: string): Promise<number> {
  return sql.execute('DELETE FROM ferry_feature_values WHERE view = $1', [view]);
}

export interface OfflineValues {
  /** Entity keys, in the database's order; `start[i]..start[i+1]` are the rows of `keys[i]`. */
  readonly keys: readonly string[];
  readonly start: Int32Array;
  /** Event times, ascending within each entity. */
  readonly times: Float64Array;
  /** The values at each time, parsed. */
  readonly values: readonly Readonly<Record<string, FeatureValue>>[];
}

/**
 * Every value of a view, grouped by entity and ordered by event time within each, in arrays a
 * point-in-time join can binary-search; `maxEventTimeMs` leaves out what no row can see.
 */
export async function readOfflineView(
  sql: SqlExecutor,
  view: string,
  opts: { maxEventTimeMs?: number } = {},
): Promise<OfflineValues> {
  const rows = await sql.query<{ entity_key: string; event_time_ms: number; values_json: string }>(
    opts.maxEventTimeMs === undefined
      ? 'SELECT entity_key, event_time_ms, values_json FROM ferry_feature_values WHERE view = $1 ORDER BY entity_key, event_time_ms'
      : 'SELECT entity_key, event_time_ms, values_json FROM ferry_feature_values WHERE view = $1 AND event_time_ms <= $2 ORDER BY entity_key, event_time_ms',
    opts.maxEventTimeMs === undefined ? [view] : [view, opts.maxEventTimeMs],
  );
  const keys: string[] = [];
  const starts: number[] = [];
  const times = new Float64Array(rows.length);
  const values: Record<string, FeatureValue>[] = new Array(rows.length);
  let previous: string | undefined;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    // The databases' collations may differ from JavaScript's order; only grouping matters here.
    if (row.entity_key !== previous) {
      keys.push(row.entity_key);
      starts.push(i);
      previous = row.entity_key;
    }
    times[i] = Number(row.event_time_ms);
    values[i] = JSON.parse(row.values_json) as Record<string, FeatureValue>;
  }
  starts.push(rows.length);
  return { keys, start: Int32Array.from(starts), times, values };
}
