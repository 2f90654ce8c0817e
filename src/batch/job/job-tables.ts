import { ErrorCode, FerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../../ports/sql.js';
import type { InputReject } from './types.js';

/**
 * The job tables, in SQL that SQLite and PostgreSQL both accept; every statement is idempotent.
 *
 * - `ferry_batch_jobs`: one row per job. `input` says what was read (a path, or the database and
 *   query, never a password); `input_sha256` is the input's identity, checked when a job resumes.
 *   `total_rows`/`total_chunks` are known once the input has been read to its end (or up front for
 *   a query). `status`: `running`, `done` or `failed` (with `error`).
 * - `ferry_batch_chunks`: one row per chunk done, written in the same transaction as the chunk's
 *   predictions and rejects, so "done" means "everything of it is stored". `rows` counts the
 *   chunk's input records (rejects included), `rejects` its rejects; `worker` is host:pid.
 * - `ferry_batch_rejects`: one row per rejected record; `line` is where it starts in the input
 *   (the row number for a query).
 */
const BATCH_JOB_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ferry_batch_jobs (
    job_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    input TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    chunk_size INTEGER NOT NULL,
    status TEXT NOT NULL,
    total_rows BIGINT NULL,
    total_chunks INTEGER NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT NULL,
    error TEXT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS ferry_batch_chunks (
    job_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    rejects INTEGER NOT NULL,
    done_at TEXT NOT NULL,
    worker TEXT NOT NULL,
    PRIMARY KEY (job_id, chunk_index)
  )`,
  `CREATE TABLE IF NOT EXISTS ferry_batch_rejects (
    job_id TEXT NOT NULL,
    line BIGINT NOT NULL,
    entity_id TEXT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, line)
  )`,
];

/** The store's versioned migrations (`src/core/migrations.ts`); 1 is the DDL of Ferry 0.1.0. */
export const BATCH_JOB_MIGRATIONS = defineSchema('batch-jobs', [
  { version: 1, description: 'tables of Ferry 0.1.0', statements: BATCH_JOB_SCHEMA },
]);

export type JobStatus = 'running' | 'done' | 'failed';

export interface BatchJobRecord {
  jobId: string;
  model: string;
  version: number;
  input: string;
  inputSha256: string;
  chunkSize: number;
  status: JobStatus;
  totalRows: number | null;
  totalChunks: number | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  error: string | null;
}

type JobRow = {
  job_id: string;
  model: string;
  version: unknown;
  input: string;
  input_sha256: string;
  chunk_size: unknown;
  status: string;
  total_rows: unknown;
  total_chunks: unknown;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  error: string | null;
};

const JOB_COLUMNS =
  'job_id, model, version, input, input_sha256, chunk_size, status, total_rows, total_chunks, created_at, updated_at, finished_at, error';

function intOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function toJob(r: JobRow): BatchJobRecord {
  return {
    jobId: r.job_id,
    model: r.model,
    version: Number(r.version),
    input: r.input,
    inputSha256: r.input_sha256,
    chunkSize: Number(r.chunk_size),
    status: r.status as JobStatus,
    totalRows: intOrNull(r.total_rows),
    totalChunks: intOrNull(r.total_chunks),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    error: r.error,
  };
}

/** Creates the job tables if missing; safe from many processes at once. */
export async function ensureJobTables(sql: SqlClient): Promise<void> {
  await migrate(sql, BATCH_JOB_MIGRATIONS);
}

export async function getJob(sql: SqlExecutor, jobId: string): Promise<BatchJobRecord | undefined> {
  const [row] = await sql.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM ferry_batch_jobs WHERE job_id = $1`, [
    jobId,
  ]);
  return row === undefined ? undefined : toJob(row);
}

export interface StartJobSpec {
  jobId: string;
  model: string;
  version: number;
  input: string;
  inputSha256: string;
  /** Undefined: the existing job's chunk size, or `defaultChunkSize` for a new job. */
  chunkSize: number | undefined;
  defaultChunkSize: number;
  totalRows: number | undefined;
  now: string;
}

/**
 * Creates the job, or resumes it: a job with this id must be for the same model version, the same
 * input bytes and the same chunk size (chunk boundaries depend on it), else FERRY_BATCH_JOB_MISMATCH.
 * Returns the job as it now stands: `running`, or `done` when it had finished before.
 */
export async function startJob(sql: SqlClient, spec: StartJobSpec): Promise<BatchJobRecord> {
  return sql.transaction(
    async (tx) => {
      const existing = await getJob(tx, spec.jobId);
      if (existing === undefined) {
        const chunkSize = spec.chunkSize ?? spec.defaultChunkSize;
        const totalChunks = spec.totalRows === undefined ? null : Math.ceil(spec.totalRows / chunkSize);
        await tx.execute(
          `INSERT INTO ferry_batch_jobs (${JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $9, NULL, NULL)`,
          [
            spec.jobId,
            spec.model,
            spec.version,
            spec.input,
            spec.inputSha256,
            chunkSize,
            spec.totalRows ?? null,
            totalChunks,
            spec.now,
          ],
        );
      } else {
        const mismatch: string[] = [];
        if (existing.model !== spec.model || existing.version !== spec.version) {
          mismatch.push(
            `it predicts with ${existing.model}/${existing.version}, not ${spec.model}/${spec.version}`,
          );
        }
        if (existing.inputSha256 !== spec.inputSha256)
          mismatch.push(`its input was ${existing.input}, with other content`);
        if (spec.chunkSize !== undefined && spec.chunkSize !== existing.chunkSize) {
          mismatch.push(`its chunk size is ${existing.chunkSize}, not ${spec.chunkSize}`);
        }
        if (mismatch.length > 0) {
          throw new FerryError(
            ErrorCode.BATCH_JOB_MISMATCH,
            `batch job ${spec.jobId} exists and cannot be resumed with these settings: ${mismatch.join('; ')}. Use another --job-id (or none) to start a new job`,
            { details: { jobId: spec.jobId, mismatch } },
          );
        }
        // A finished job stays finished: a rerun has nothing to do (or only recomputes, see
        // runBatchJob), and must not look unfinished while it runs.
        await tx.execute(
          `UPDATE ferry_batch_jobs SET status = 'running', updated_at = $2, finished_at = NULL, error = NULL WHERE job_id = $1 AND status <> 'done'`,
          [spec.jobId, spec.now],
        );
      }
      return (await getJob(tx, spec.jobId))!;
    },
    { lockKey: `batch:job:${spec.jobId}` },
  );
}

export async function setJobTotals(
  sql: SqlExecutor,
  jobId: string,
  rows: number,
  chunks: number,
  now: string,
) {
  await sql.execute(
    'UPDATE ferry_batch_jobs SET total_rows = $2, total_chunks = $3, updated_at = $4 WHERE job_id = $1',
    [jobId, rows, chunks, now],
  );
}

export async function finishJob(
  sql: SqlExecutor,
  jobId: string,
  status: Exclude<JobStatus, 'running'>,
  now: string,
  error: string | null = null,
): Promise<void> {
  await sql.execute(
    'UPDATE ferry_batch_jobs SET status = $2, updated_at = $3, finished_at = $3, error = $4 WHERE job_id = $1',
    [jobId, status, now, error],
  );
}

export interface ChunkDone {
  rows: number;
  rejects: number;
}

/** The chunks of a job already done, by index. One entry per chunk, so small (1,000 for a million rows). */
export async function doneChunks(sql: SqlExecutor, jobId: string): Promise<Map<number, ChunkDone>> {
  const rows = await sql.query<{ chunk_index: unknown; rows: unknown; rejects: unknown }>(
    'SELECT chunk_index, rows, rejects FROM ferry_batch_chunks WHERE job_id = $1',
    [jobId],
  );
  return new Map(
    rows.map((r) => [Number(r.chunk_index), { rows: Number(r.rows), rejects: Number(r.rejects) }]),
  );
}

export async function chunkDone(
  sql: SqlExecutor,
  jobId: string,
  chunkIndex: number,
): Promise<ChunkDone | undefined> {
  const [row] = await sql.query<{ rows: unknown; rejects: unknown }>(
    'SELECT rows, rejects FROM ferry_batch_chunks WHERE job_id = $1 AND chunk_index = $2',
    [jobId, chunkIndex],
  );
  return row === undefined ? undefined : { rows: Number(row.rows), rejects: Number(row.rejects) };
}

/**
 * Marks a chunk done unless it already is; true when this call did. Run it first in the chunk's
 * transaction: on PostgreSQL a concurrent claim of the same chunk waits for the first to commit,
 * then finds it taken, so a chunk's rows are written by exactly one transaction.
 */
export async function claimChunk(
  tx: SqlExecutor,
  jobId: string,
  chunkIndex: number,
  counts: ChunkDone,
  worker: string,
  now: string,
): Promise<boolean> {
  const changed = await tx.execute(
    `INSERT INTO ferry_batch_chunks (job_id, chunk_index, rows, rejects, done_at, worker)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, chunk_index) DO NOTHING`,
    [jobId, chunkIndex, counts.rows, counts.rejects, now, worker],
  );
  return changed > 0;
}

const REJECTS_PER_STATEMENT = 500;

export async function insertRejects(
  tx: SqlExecutor,
  jobId: string,
  rejects: readonly InputReject[],
): Promise<void> {
  for (let start = 0; start < rejects.length; start += REJECTS_PER_STATEMENT) {
    const part = rejects.slice(start, start + REJECTS_PER_STATEMENT);
    const params: SqlValue[] = [];
    const tuples = part.map((r) => {
      params.push(jobId, r.line, r.id ?? null, r.reason);
      const b = params.length - 4;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4})`;
    });
    await tx.execute(
      `INSERT INTO ferry_batch_rejects (job_id, line, entity_id, reason) VALUES ${tuples.join(', ')}
       ON CONFLICT (job_id, line) DO NOTHING`,
      params,
    );
  }
}

export interface StoredReject {
  line: number;
  id: string | null;
  reason: string;
}

/** A job's rejects in line order, a page at a time (keyset on the primary key). */
export async function* readRejects(
  sql: SqlExecutor,
  jobId: string,
  pageSize = 1000,
): AsyncGenerator<StoredReject[]> {
  let after = -1;
  for (;;) {
    const rows = await sql.query<{ line: unknown; entity_id: string | null; reason: string }>(
      'SELECT line, entity_id, reason FROM ferry_batch_rejects WHERE job_id = $1 AND line > $2 ORDER BY line LIMIT $3',
      [jobId, after, pageSize],
    );
    if (rows.length === 0) return;
    const page = rows.map((r) => ({ line: Number(r.line), id: r.entity_id, reason: r.reason }));
    yield page;
    after = page[page.length - 1]!.line;
    if (rows.length < pageSize) return;
  }
}

export interface ChunkTotals {
  chunks: number;
  rows: number;
  rejects: number;
}

export async function chunkTotals(sql: SqlExecutor, jobId: string): Promise<ChunkTotals> {
  const [row] = await sql.query<{ chunks: unknown; rows: unknown; rejects: unknown }>(
    'SELECT COUNT(*) AS chunks, COALESCE(SUM(rows), 0) AS rows, COALESCE(SUM(rejects), 0) AS rejects FROM ferry_batch_chunks WHERE job_id = $1',
    [jobId],
  );
  return {
    chunks: Number(row?.chunks ?? 0),
    rows: Number(row?.rows ?? 0),
    rejects: Number(row?.rejects ?? 0),
  };
}

export interface WorkerTotals {
  worker: string;
  chunks: number;
  rows: number;
  rejects: number;
}

export async function workerTotals(sql: SqlExecutor, jobId: string): Promise<WorkerTotals[]> {
  const rows = await sql.query<{ worker: string; chunks: unknown; rows: unknown; rejects: unknown }>(
    `SELECT worker, COUNT(*) AS chunks, COALESCE(SUM(rows), 0) AS rows, COALESCE(SUM(rejects), 0) AS rejects
     FROM ferry_batch_chunks WHERE job_id = $1 GROUP BY worker ORDER BY worker`,
    [jobId],
  );
  return rows.map((r) => ({
    worker: r.worker,
    chunks: Number(r.chunks),
    rows: Number(r.rows),
    rejects: Number(r.rejects),
  }));
}
