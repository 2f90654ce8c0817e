import type {
  EnqueueOptions,
  JobHandler,
  JobQueue,
  QueueCounts,
  WorkOptions,
} from '../../ports/job-queue.js';

interface Entry<P> {
  jobId: string;
  payload: P;
  attempts: number;
  made: number;
}

/** An in-process JobQueue with the same contract as BullMQ's (dedupe by id, retries): for one machine and tests. */
export class MemoryJobQueue<P> implements JobQueue<P> {
  private readonly seen = new Set<string>();
  private readonly waiting: Entry<P>[] = [];
  private readonly counters: QueueCounts = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 };
  private handler: JobHandler<P> | undefined;
  private concurrency = 1;
  private running = new Set<Promise<void>>();
  private closed = false;

  async init(): Promise<void> {}

  async enqueue(payload: P, opts: EnqueueOptions): Promise<void> {
    await this.enqueueMany([{ payload, opts }]);
  }

  async enqueueMany(jobs: { payload: P; opts: EnqueueOptions }[]): Promise<void> {
    for (const { payload, opts } of jobs) {
      if (this.seen.has(opts.jobId)) continue;
      this.seen.add(opts.jobId);
      this.waiting.push({ jobId: opts.jobId, payload, attempts: opts.attempts ?? 5, made: 0 });
    }
    this.pump();
  }

  async work(handler: JobHandler<P>, opts: WorkOptions = {}): Promise<void> {
    this.handler = handler;
    this.concurrency = opts.concurrency ?? 1;
    this.pump();
  }

  async counts(): Promise<QueueCounts> {
    return { ...this.counters, waiting: this.waiting.length, active: this.running.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.running]);
  }

  private pump(): void {
    while (!this.closed && this.handler && this.running.size < this.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      const handler = this.handler;
      const run: Promise<void> = (async () => {
        entry.made++;
        try {
          await handler(entry.payload, { jobId: entry.jobId, attempt: entry.made });
          this.counters.completed++;
        } catch {
          if (entry.made < entry.attempts) this.waiting.push(entry);
          else this.counters.failed++;
        }
      })().finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }
}
