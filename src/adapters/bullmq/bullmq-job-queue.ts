import { ErrorCode, FerryError } from '../../core/errors.js';
import type {
  EnqueueOptions,
  JobHandler,
  JobQueue,
  QueueCounts,
  WorkOptions,
} from '../../ports/job-queue.js';
import { parseServerUrl, safeDecode } from '../server-url.js';

export interface BullmqJobQueueOptions {
  url: string;
  /** Queue name; also the Redis key prefix under `prefix`. */
  name: string;
  prefix?: string;
  /**
   * How long a worker's lock on a job lasts without renewal; a worker killed mid-job loses its job
   * to another worker after about this long (BullMQ's stalled-job check).
   */
  lockDurationMs?: number;
  /** How long a job that failed all its attempts stays in Redis; 0 removes it at once so it can be enqueued again. */
  keepFailedSeconds?: number;
}

// The modules are typed through `typeof import(...)` so that bullmq (and its ioredis) load lazily.
type Bullmq = typeof import('bullmq');
type BullQueue = import('bullmq').Queue;
type BullWorker = import('bullmq').Worker;

/** A JobQueue on BullMQ (Redis). */
export class BullmqJobQueue<P> implements JobQueue<P> {
  private bull: Bullmq | undefined;
  private queue: BullQueue | undefined;
  private readonly workers: BullWorker[] = [];
  private readonly connection: Record<string, unknown>;

  constructor(private readonly opts: BullmqJobQueueOptions) {
    const url = parseServerUrl(opts.url, 'Redis', ['redis:', 'rediss:']);
    this.connection = {
      host: url.hostname || '127.0.0.1',
      port: url.port === '' ? 6379 : Number(url.port),
      ...(url.username ? { username: safeDecode(url.username) } : {}),
      ...(url.password ? { password: safeDecode(url.password) } : {}),
      ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
      // BullMQ's blocking commands need unlimited retries per request on worker connections.
      maxRetriesPerRequest: null,
    };
  }

  private get where(): string {
    return `${String(this.connection.host)}:${String(this.connection.port)}`;
  }

  async init(): Promise<void> {
    if (this.queue) return;
    this.bull = await import('bullmq');
    const queue = new this.bull.Queue(this.opts.name, {
      connection: this.connection,
      prefix: this.opts.prefix ?? 'ferry',
    });
    try {
      await Promise.race([
        queue.waitUntilReady(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 5 s')), 5000).unref()),
      ]);
    } catch (cause) {
      await queue.close().catch(() => {});
      throw new FerryError(
        ErrorCode.KV_UNAVAILABLE,
        `cannot reach the job queue's Redis at ${this.where}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    this.queue = queue;
  }

  private ready(): BullQueue {
    if (!this.queue) throw new FerryError(ErrorCode.INTERNAL, 'job queue used before init()');
    return this.queue;
  }

  async enqueue(payload: P, opts: EnqueueOptions): Promise<void> {
    await this.enqueueMany([{ payload, opts }]);
  }

  async enqueueMany(jobs: { payload: P; opts: EnqueueOptions }[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.ready().addBulk(
      jobs.map(({ payload, opts }) => ({
        name: 'job',
        data: payload,
        opts: {
          jobId: opts.jobId,
          attempts: opts.attempts ?? 5,
          backoff: { type: 'exponential', delay: 500 },
          removeOnComplete: { age: 3600, count: 100_000 },
          removeOnFail:
            this.opts.keepFailedSeconds === 0 ? true : { age: this.opts.keepFailedSeconds ?? 86_400 },
        },
      })),
    );
  }

  async work(handler: JobHandler<P>, opts: WorkOptions = {}): Promise<void> {
    if (!this.bull) await this.init();
    const lockDuration = this.opts.lockDurationMs ?? 30_000;
    const worker = new this.bull!.Worker(
      this.opts.name,
      async (job) => {
        await handler(job.data as P, { jobId: String(job.id), attempt: job.attemptsMade + 1 });
      },
      {
        connection: this.connection,
        prefix: this.opts.prefix ?? 'ferry',
        concurrency: opts.concurrency ?? 1,
        lockDuration,
        stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
        maxStalledCount: 5,
        ...(opts.workerName ? { name: opts.workerName } : {}),
      },
    );
    await worker.waitUntilReady();
    this.workers.push(worker);
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.ready().getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
    return {
      waiting: c.waiting ?? 0,
      active: c.active ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      delayed: c.delayed ?? 0,
    };
  }

  /** Removes the queue and all its jobs from Redis (tests and finished jobs). */
  async obliterate(): Promise<void> {
    await this.ready().obliterate({ force: true });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.close()));
    await this.queue?.close();
    this.queue = undefined;
  }
}
