import { ErrorCode, FerryError } from '../../core/errors.js';
import { onFirstUse } from '../../core/on-first-use.js';
import {
  BATCH_JOB_STATUSES,
  type BatchJobList,
  type BatchJobReader,
  type BatchJobStatus,
  DEFAULT_BATCH_LIST_LIMIT,
  type ListBatchJobsOptions,
  MAX_BATCH_LIST_LIMIT,
  MAX_BATCH_LIST_OFFSET,
} from '../../ports/batch-jobs.js';
import type { SqlClient } from '../../ports/sql.js';
import { chunkTotals, ensureJobTables, getJob, listJobs, workerTotals } from './job-tables.js';

export {
  BATCH_JOB_STATUSES,
  type BatchJobList,
  type BatchJobStatus,
  DEFAULT_BATCH_LIST_LIMIT,
  type ListBatchJobsOptions,
  MAX_BATCH_LIST_LIMIT,
  MAX_BATCH_LIST_OFFSET,
} from '../../ports/batch-jobs.js';

export interface TablesOption {
  /** Create or migrate the job tables first (default true); false once the caller has. */
  ensureTables?: boolean;
}

/** A job's progress across every process that worked on it; FERRY_BATCH_JOB_NOT_FOUND (404) if unknown. */
export async function getBatchJobStatus(
  sql: SqlClient,
  jobId: string,
  opts: TablesOption = {},
): Promise<BatchJobStatus> {
  // A database where no job ever ran answers "not found", not an SQL error.
  if (opts.ensureTables !== false) await ensureJobTables(sql);
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
export async function listBatchJobs(
  sql: SqlClient,
  opts: ListBatchJobsOptions = {},
  tables: TablesOption = {},
): Promise<BatchJobList> {
  const limit = checkInt('limit', opts.limit ?? DEFAULT_BATCH_LIST_LIMIT, 1, MAX_BATCH_LIST_LIMIT);
  const offset = checkInt('offset', opts.offset ?? 0, 0, MAX_BATCH_LIST_OFFSET);
  if (opts.status !== undefined && !BATCH_JOB_STATUSES.includes(opts.status)) {
    throw new FerryError(
      ErrorCode.BATCH_INVALID_OPTIONS,
      `status must be one of ${BATCH_JOB_STATUSES.join(', ')}, not "${String(opts.status)}"`,
      { details: { status: opts.status } },
    );
  }
  if (tables.ensureTables !== false) await ensureJobTables(sql);
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

/**
 * The jobs of a database for a long-lived reader (the server): the tables are created or migrated
 * once, on the first call (a migration is a write transaction: not one per dashboard poll), and
 * again after a failed attempt.
 */
export function batchJobReader(sql: SqlClient): BatchJobReader {
  const ready = onFirstUse(() => ensureJobTables(sql));
  const tables = () => ready.get();
  return {
    list: async (opts) => {
      await tables();
      return listBatchJobs(sql, opts, { ensureTables: false });
    },
    status: async (jobId) => {
      await tables();
      return getBatchJobStatus(sql, jobId, { ensureTables: false });
    },
  };
}
