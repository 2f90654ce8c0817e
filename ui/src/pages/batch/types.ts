/** The answers of GET /v1/batch/jobs and /v1/batch/jobs/{jobId} (src/ports/batch-jobs.ts). */

export const JOB_STATUSES = ['running', 'done', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

interface JobRecord {
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
  chunksDone: number;
  /** Input records of the chunks done, rejects included. */
  rowsDone: number;
  predicted: number;
  rejects: number;
}

export interface JobListRow extends JobRecord {
  workers: number;
  lastChunkAt: string | null;
}

export interface JobList {
  jobs: JobListRow[];
  total: number;
  limit: number;
  offset: number;
}

export interface WorkerRow {
  worker: string;
  chunks: number;
  rows: number;
  rejects: number;
  firstChunkAt: string;
  lastChunkAt: string;
  rowsPerSecond: number | null;
}

export interface JobStatusAnswer extends JobRecord {
  workers: WorkerRow[];
}
