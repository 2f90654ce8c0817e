import { ErrorCode, FerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type { BatchJobRecord, JobListRow, JobStatus, WorkerTotals } from '../../ports/batch-jobs.js';
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
  {
    version: 2,
    description: 'index of the jobs by creation time (ferry batch list, GET /v1/batch/jobs)',
    statements: [
      'CREATE INDEX IF NOT EXISTS ferry_batch_jobs_created ON ferry_batch_jobs (created_at, job_id)',
    ],
  },
]);

export type { BatchJobRecord, JobListRow, JobStatus, WorkerTotals } from '../../ports/batch-jobs.js';

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

/** Records per second between two commits; null when there is nothing to divide by. */
export function rateBetween(rows: number, from: string, to: string): number | null {
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  if (!(seconds > 0) || rows <= 0) return null;
  return Math.round((rows / seconds) * 10) / 10;
}

export async function workerTotals(sql: SqlExecutor, jobId: string): Promise<WorkerTotals[]> {
  // One group per process (host:pid); the first chunk's records come from the row that opened the
  // worker's span (a correlated subquery per worker: a job has few).
  const rows = await sql.query<{
    worker: string;
    chunks: unknown;
    rows: unknown;
    rejects: unknown;
    first_at: string;
    last_at: string;
    first_rows: unknown;
  }>(
    `SELECT c.worker, COUNT(*) AS chunks, COALESCE(SUM(c.rows), 0) AS rows, COALESCE(SUM(c.rejects), 0) AS rejects,
       MIN(c.done_at) AS first_at, MAX(c.done_at) AS last_at,
       (SELECT f.rows FROM ferry_batch_chunks f WHERE f.job_id = $1 AND f.worker = c.worker
         ORDER BY f.done_at, f.chunk_index LIMIT 1) AS first_rows
     FROM ferry_batch_chunks c WHERE c.job_id = $1 GROUP BY c.worker ORDER BY c.worker`,
    [jobId],
  );
  return rows.map((r) => {
    const total = Number(r.rows);
    return {
      worker: r.worker,
      chunks: Number(r.chunks),
      rows: total,
      rejects: Number(r.rejects),
      firstChunkAt: r.first_at,
      lastChunkAt: r.last_at,
      rowsPerSecond: rateBetween(total - Number(r.first_rows ?? 0), r.first_at, r.last_at),
    };
  });
}

export interface JobListFilter {
  status?: JobStatus;
  /** The model's name (every version). */
  model?: string;
}

function filterSql(filter: JobListFilter, params: SqlValue[]): string {
  const where: string[] = [];
  if (filter.status !== undefined) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  if (filter.model !== undefined) {
    params.push(filter.model);
    where.push(`model = $${params.length}`);
  }
  return where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
}

/**
 * A page of jobs, newest first, each with its chunk totals: one query (the page, then the chunks of
 * the page's jobs only, grouped), plus one COUNT for the total.
 */
export async function listJobs(
  sql: SqlExecutor,
  filter: JobListFilter,
  page: { limit: number; offset: number },
): Promise<{ jobs: JobListRow[]; total: number }> {
  const params: SqlValue[] = [];
  const where = filterSql(filter, params);
  params.push(page.limit, page.offset);
  const limitAt = params.length - 1;
  const rows = await sql.query<
    JobRow & {
      chunks_done: unknown;
      rows_done: unknown;
      rejects_done: unknown;
      workers: unknown;
      last_chunk_at: string | null;
    }
  >(
    `WITH page AS (
       SELECT ${JOB_COLUMNS} FROM ferry_batch_jobs ${where}
       ORDER BY created_at DESC, job_id DESC LIMIT $${limitAt} OFFSET $${limitAt + 1}
     ), done AS (
       SELECT job_id, COUNT(*) AS chunks, SUM(rows) AS rows, SUM(rejects) AS rejects,
         COUNT(DISTINCT worker) AS workers, MAX(done_at) AS last_at
       FROM ferry_batch_chunks WHERE job_id IN (SELECT job_id FROM page) GROUP BY job_id
     )
     SELECT page.*, COALESCE(done.chunks, 0) AS chunks_done, COALESCE(done.rows, 0) AS rows_done,
       COALESCE(done.rejects, 0) AS rejects_done, COALESCE(done.workers, 0) AS workers,
       done.last_at AS last_chunk_at
     FROM page LEFT JOIN done ON done.job_id = page.job_id
     ORDER BY page.created_at DESC, page.job_id DESC`,
    params,
  );
  const countParams: SqlValue[] = [];
  const [count] = await sql.query<{ n: unknown }>(
    `SELECT COUNT(*) AS n FROM ferry_batch_jobs ${filterSql(filter, countParams)}`,
    countParams,
  );
  return {
    jobs: rows.map((r) => ({
      ...toJob(r),
      chunksDone: Number(r.chunks_done),
      rowsDone: Number(r.rows_done),
      rejects: Number(r.rejects_done),
      workers: Number(r.workers),
      lastChunkAt: r.last_chunk_at ?? null,
    })),
    total: Number(count?.n ?? 0),
  };
}
