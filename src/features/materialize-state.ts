import type { SqlExecutor } from '../ports/sql.js';

/**
 * Materialization progress in the repository's tables (see repo-schema.ts): runs, the chunks each
 * has written (with the hash of the chunk's source rows), and per-view watermarks.
 */
export interface BadRow {
  readonly line: number;
  readonly reason: string;
}

export interface ChunkRecord {
  readonly chunkNo: number;
  readonly hash: string;
  /** Source records in the chunk. */
  readonly rows: number;
  /** Records inside the run's time range (all of them for a full run). */
  readonly selected: number;
  /** Offline values inserted or changed. */
  readonly written: number;
  readonly bad: number;
  readonly badExamples: readonly BadRow[];
  /** The newest event time among the chunk's selected good rows. */
  readonly maxEventMs: number | null;
}

export type RunMode = 'full' | 'range' | 'incremental';

export async function startRun(
  sql: SqlExecutor,
  run: { key: string; view: string; mode: RunMode; params: Record<string, unknown> },
  at: string,
): Promise<void> {
  await sql.execute(
    `INSERT INTO ferry_feature_runs (run_key, view, mode, params, status, started_at, updated_at, finished_at)
     VALUES ($1, $2, $3, $4, 'running', $5, $5, NULL)
     ON CONFLICT (run_key) DO UPDATE SET status = 'running', updated_at = excluded.updated_at`,
    [run.key, run.view, run.mode, JSON.stringify(run.params), at],
  );
}

export async function finishRun(sql: SqlExecutor, key: string, at: string): Promise<void> {
  await sql.execute(
    `UPDATE ferry_feature_runs SET status = 'done', updated_at = $2, finished_at = $2 WHERE run_key = $1`,
    [key, at],
  );
}

export async function doneChunks(sql: SqlExecutor, key: string): Promise<Map<number, ChunkRecord>> {
  const rows = await sql.query<{
    chunk_no: number;
    chunk_hash: string;
    rows: number;
    selected: number;
    written: number;
    bad: number;
    bad_examples: string;
    max_event_ms: number | null;
  }>(
    'SELECT chunk_no, chunk_hash, rows, selected, written, bad, bad_examples, max_event_ms FROM ferry_feature_run_chunks WHERE run_key = $1',
    [key],
  );
  return new Map(
    rows.map((r) => [
      Number(r.chunk_no),
      {
        chunkNo: Number(r.chunk_no),
        hash: r.chunk_hash,
        rows: Number(r.rows),
        selected: Number(r.selected),
        written: Number(r.written),
        bad: Number(r.bad),
        badExamples: JSON.parse(r.bad_examples) as BadRow[],
        maxEventMs: r.max_event_ms === null ? null : Number(r.max_event_ms),
      },
    ]),
  );
}

export async function recordChunk(
  tx: SqlExecutor,
  key: string,
  view: string,
  chunk: ChunkRecord,
  at: string,
): Promise<void> {
  await tx.execute(
    `INSERT INTO ferry_feature_run_chunks
       (run_key, chunk_no, view, chunk_hash, rows, selected, written, bad, bad_examples, max_event_ms, done_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (run_key, chunk_no) DO UPDATE SET chunk_hash = excluded.chunk_hash, rows = excluded.rows,
       selected = excluded.selected, written = excluded.written, bad = excluded.bad,
       bad_examples = excluded.bad_examples, max_event_ms = excluded.max_event_ms, done_at = excluded.done_at`,
    [
      key,
      chunk.chunkNo,
      view,
      chunk.hash,
      chunk.rows,
      chunk.selected,
      chunk.written,
      chunk.bad,
      JSON.stringify(chunk.badExamples),
      chunk.maxEventMs,
      at,
    ],
  );
  await tx.execute('UPDATE ferry_feature_runs SET updated_at = $2 WHERE run_key = $1', [key, at]);
}

/** Chunks past the end of a source that has shrunk since they were written: no longer part of the run. */
export async function dropChunksFrom(sql: SqlExecutor, key: string, from: number): Promise<void> {
  await sql.execute('DELETE FROM ferry_feature_run_chunks WHERE run_key = $1 AND chunk_no >= $2', [
    key,
    from,
  ]);
}

export async function readWatermark(sql: SqlExecutor, view: string): Promise<number | undefined> {
  const [row] = await sql.query<{ high_water_ms: number }>(
    'SELECT high_water_ms FROM ferry_feature_watermarks WHERE view = $1',
    [view],
  );
  return row === undefined ? undefined : Number(row.high_water_ms);
}

/** Raises the view's watermark to `ms` (never lowers it). */
export async function raiseWatermark(sql: SqlExecutor, view: string, ms: number, at: string): Promise<void> {
  await sql.execute(
    `INSERT INTO ferry_feature_watermarks (view, high_water_ms, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (view) DO UPDATE SET high_water_ms = excluded.high_water_ms, updated_at = excluded.updated_at
       WHERE excluded.high_water_ms > ferry_feature_watermarks.high_water_ms`,
    [view, ms, at],
  );
}
