/**
 * The batch jobs' read contract (`ferry batch list|status`, GET /v1/batch/jobs…): the vocabulary,
 * the page limits and the answers. The job tables (batch/job/) implement it; serving/http depends
 * on this file only, so that the request side never imports batch/.
 */

export const BATCH_JOB_STATUSES = ['running', 'done', 'failed'] as const;
/** `running` (or its process died: see `lastChunkAt`), `done`, or `failed` with `error`. */
export type JobStatus = (typeof BATCH_JOB_STATUSES)[number];

export const DEFAULT_BATCH_LIST_LIMIT = 50;
export const MAX_BATCH_LIST_LIMIT = 500;
export const MAX_BATCH_LIST_OFFSET = 1_000_000_000;

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

export interface WorkerTotals {
  worker: string;
  chunks: number;
  rows: number;
  rejects: number;
  /** When the worker committed its first and its last chunk of the job (ISO 8601). */
  firstChunkAt: string;
  lastChunkAt: string;
  /**
   * The worker's throughput in input records per second: the records of its chunks after the
   * first, over the time from its first commit to its last (a chunk's start is not recorded, so the
   * first chunk only marks when the clock starts). Null with a single chunk or no time between.
   */
  rowsPerSecond: number | null;
}

export interface BatchJobStatus extends BatchJobRecord {
  chunksDone: number;
  /** Input records in the chunks done, rejects included. */
  rowsDone: number;
  predicted: number;
  rejects: number;
  /** Who did the chunks done (host:pid), from `ferry_batch_chunks.worker`. */
  workers: WorkerTotals[];
}

/** A job with its chunk totals, as one row of a list. */
export interface JobListRow extends BatchJobRecord {
  chunksDone: number;
  rowsDone: number;
  rejects: number;
  /** Distinct processes (host:pid) that committed chunks. */
  workers: number;
  /** When the last chunk was committed; null before the first. */
  lastChunkAt: string | null;
}

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

/** What a reader of the jobs offers (the server's routes). */
export interface BatchJobReader {
  list(opts: ListBatchJobsOptions): Promise<BatchJobList>;
  /** FERRY_BATCH_JOB_NOT_FOUND (404) for an unknown id. */
  status(jobId: string): Promise<BatchJobStatus>;
}
