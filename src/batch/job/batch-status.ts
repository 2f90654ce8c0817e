import { ErrorCode, FerryError } from '../../core/errors.js';
import type { SqlClient } from '../../ports/sql.js';
import {
  type BatchJobRecord,
  chunkTotals,
  ensureJobTables,
  getJob,
  type JobListRow,
  type JobStatus,
  listJobs,
  type WorkerTotals,
  workerTotals,
} from './job-tables.js';

export interface BatchJobStatus extends BatchJobRecord {
  chunksDone: number;
  /** Input records in the chunks done, rejects included. */
  rowsDone: number;
  predicted: number;
  rejects: number;
  /** Who did the chunks done (host:pid), from `ferry_batch_chunks.worker`. */
  workers: WorkerTotals[];
}

/** A job's progress across every process that worked on it; FERRY_BATCH_JOB_NOT_FOUND (404) if unknown. */
export async function getBatchJobStatus(sql: SqlClient, jobId: string): Promise<BatchJobStatus> {
  await ensureJobTables(sql); // a database where no job ever ran answers "not found", not an SQL error
  const job = await getJob(sql, jobId);
  if (job === undefined) {
    throw new FerryError(ErrorCode.BATCH_JOB_NOT_FOUND, `no batch job "${jobId}" in this database`, {
      details: { jobId },
    });
  }
  const totals = await chunkTotals(sql, jobId);
  return {
    ...job,
    chunksDone: totals.chunks,
    rowsDone: totals.rows,
    predicted: totals.rows - totals.rejects,
    rejects: totals.rejects,
    workers: await workerTotals(sql, jobId),
  };
}

export const BATCH_JOB_STATUSES: readonly JobStatus[] = ['running', 'done', 'failed'];
export const MAX_BATCH_LIST_LIMIT = 500;
export const MAX_BATCH_LIST_OFFSET = 1_000_000_000;
export const DEFAULT_BATCH_LIST_LIMIT = 50;

export interface ListBatchJobsOptions {
  /** Jobs per page, 1..500 (default 50). */
  limit?: number;
  /** Jobs skipped, newest first (default 0). */
  offset?: number;
  status?: JobStatus;
  /** A model name: its jobs of every version. */
  model?: string;
}

export interface BatchJobList {
  /** Newest first (by creation), each with its chunk totals. */
  jobs: Array<JobListRow & { predicted: number }>;
  /** Jobs matching the filter, over every page. */
  total: number;
  limit: number;
  offset: number;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new FerryError(
      ErrorCode.BATCH_INVALID_OPTIONS,
      `${name} must be an integer from ${min} to ${max}, not ${value}`,
      { details: { [name]: value } },
    );
  }
  return value;
}

/**
 * A page of the batch jobs of this database, newest first, with their progress (chunks, records,
 * rejects, workers) from one query over the page's jobs; a database where no job ever ran has none.
 */
export async function listBatchJobs(sql: SqlClient, opts: ListBatchJobsOptions = {}): Promise<BatchJobList> {
  const limit = checkInt('limit', opts.limit ?? DEFAULT_BATCH_LIST_LIMIT, 1, MAX_BATCH_LIST_LIMIT);
  const offset = checkInt('offset', opts.offset ?? 0, 0, MAX_BATCH_LIST_OFFSET);
  if (opts.status !== undefined && !BATCH_JOB_STATUSES.includes(opts.status)) {
    throw new FerryError(
      ErrorCode.BATCH_INVALID_OPTIONS,
      `status must be one of ${BATCH_JOB_STATUSES.join(', ')}, not "${String(opts.status)}"`,
      { details: { status: opts.status } },
    );
  }
  await ensureJobTables(sql);
  const { jobs, total } = await listJobs(
    sql,
    {
      ...(opts.status !== undefined ? { status: opts.status } : {}),
      ...(opts.model !== undefined ? { model: opts.model } : {}),
    },
    { limit, offset },
  );
  return { jobs: jobs.map((j) => ({ ...j, predicted: j.rowsDone - j.rejects })), total, limit, offset };
}
