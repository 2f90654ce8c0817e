import { defineSchema } from '../core/migrations.js';

/**
 * The feature repository's own tables (SQLite and PostgreSQL alike):
 *
 * - `ferry_feature_objects`: the applied definitions, one row per object (kind, name), its
 *   canonical JSON and hash, and the apply that wrote it;
 * - `ferry_feature_applies`: every apply (id allocated under the apply lock), the file, the hash of
 *   the whole repository and the plan it carried out;
 * - `ferry_feature_watermarks`: per view, the newest event time materialized by a full or
 *   incremental run (`--incremental` reads rows newer than it);
 * - `ferry_feature_runs` and `ferry_feature_run_chunks`: materialization progress. A run's key
 *   binds the view's definition, the source and the time range; each chunk of source rows done is
 *   recorded with the hash of its rows in the transaction that writes its offline values, so a
 *   rerun skips exactly the chunks whose rows are unchanged.
 */
export const FEATURE_REPO_MIGRATIONS = defineSchema('features', [
  {
    version: 1,
    description: 'feature repository: applied objects, applies, watermarks, materialization runs and chunks',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_feature_objects (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        hash TEXT NOT NULL,
        apply_id INTEGER NOT NULL,
        applied_at TEXT NOT NULL,
        PRIMARY KEY (kind, name)
      )`,
      `CREATE TABLE IF NOT EXISTS ferry_feature_applies (
        id INTEGER NOT NULL PRIMARY KEY,
        applied_at TEXT NOT NULL,
        file TEXT NOT NULL,
        repo_hash TEXT NOT NULL,
        plan TEXT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS ferry_feature_watermarks (
        view TEXT NOT NULL PRIMARY KEY,
        high_water_ms BIGINT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS ferry_feature_runs (
        run_key TEXT NOT NULL PRIMARY KEY,
        view TEXT NOT NULL,
        mode TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS ferry_feature_run_chunks (
        run_key TEXT NOT NULL,
        chunk_no INTEGER NOT NULL,
        view TEXT NOT NULL,
        chunk_hash TEXT NOT NULL,
        rows INTEGER NOT NULL,
        selected INTEGER NOT NULL,
        written INTEGER NOT NULL,
        bad INTEGER NOT NULL,
        bad_examples TEXT NOT NULL,
        max_event_ms BIGINT NULL,
        done_at TEXT NOT NULL,
        PRIMARY KEY (run_key, chunk_no)
      )`,
      'CREATE INDEX IF NOT EXISTS ferry_feature_run_chunks_view ON ferry_feature_run_chunks (view)',
      'CREATE INDEX IF NOT EXISTS ferry_feature_runs_view ON ferry_feature_runs (view)',
    ],
  },
]);
