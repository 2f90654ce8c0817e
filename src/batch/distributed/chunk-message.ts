import type { DispatchedChunk } from '../job/run-batch-job.js';

/** What travels through the queue for one chunk: workers need no access to the input. */
export type ChunkMessage = DispatchedChunk;

/** BullMQ refuses ':' in custom job ids; '.' keeps "<job>.<chunk>" readable and unique. */
export function chunkMessageId(jobId: string, chunkIndex: number): string {
  return `${jobId.replaceAll(':', '_')}.${chunkIndex}`;
}

export const BATCH_QUEUE_NAME = 'batch-chunks';
