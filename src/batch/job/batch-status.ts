import { ErrorCode, FerryError } from '../../core/errors.js';
import type { SqlClient } from '../../ports/sql.js';
import {
  type BatchJobRecord,
  chunkTotals,
  ensureJobTables,
  getJob,
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
