/**
 * A durable work queue: jobs survive the producer, a job whose worker dies is handed to another,
 * and a job id is enqueued at most once (re-enqueueing the same id is a no-op).
 */
export interface EnqueueOptions {
  /** Deduplication key: enqueueing an id that is already queued, running or completed does nothing. */
  jobId: string;
  /** Tries before the job is given up as failed. */
  attempts?: number;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
}

export interface WorkOptions {
  concurrency?: number;
  /** Shown by status commands: which worker took which job. */
  workerName?: string;
}

export type JobHandler<P> = (payload: P, info: { jobId: string; attempt: number }) => Promise<void>;

export interface JobQueue<P> {
  init(): Promise<void>;
  enqueue(payload: P, opts: EnqueueOptions): Promise<void>;
  enqueueMany(jobs: { payload: P; opts: EnqueueOptions }[]): Promise<void>;
  /** Starts taking jobs; resolves once the worker is running. Stop with close(). */
  work(handler: JobHandler<P>, opts?: WorkOptions): Promise<void>;
  counts(): Promise<QueueCounts>;
  /** Stops taking jobs (waiting for the ones running) and closes connections. */
  close(): Promise<void>;
}
