export { type BatchJobStatus, getBatchJobStatus } from './batch-status.js';
export { chunkInput, type InputChunk } from './chunk-input.js';
export { formatOfPath, openBatchInput } from './inputs/open-input.js';
export { describeDbUrl } from './inputs/sql-input.js';
export {
  BATCH_JOB_SCHEMA,
  type BatchJobRecord,
  ensureJobTables,
  getJob,
  type JobStatus,
  type WorkerTotals,
} from './job-tables.js';
export { type ChunkContext, type ChunkJob, type ChunkResult, processChunk } from './process-chunk.js';
export { writeRejectsFile } from './rejects-file.js';
export {
  type BatchJobSummary,
  batchJobId,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_ERRORS,
  type RunBatchJobOptions,
  runBatchJob,
} from './run-batch-job.js';
export type { BatchInput, InputRecord, InputReject, InputRow, InputSpec } from './types.js';
