import { hostname } from 'node:os';
import type { Model } from '../../model/model.js';
import type { JobQueue } from '../../ports/job-queue.js';
import type { SqlClient } from '../../ports/sql.js';
import { loadModel } from '../../registry/load-model.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import { ensureJobTables } from '../job/job-tables.js';
import { type ChunkResult, processChunk } from '../job/process-chunk.js';
import type { LoadedModel } from '../job/run-batch-job.js';
import type { PredictionStore } from '../prediction-store.js';
import type { ChunkMessage } from './chunk-message.js';

export interface BatchWorkerOptions {
  queue: JobQueue<ChunkMessage>;
  registry: ModelRegistry;
  sql: SqlClient;
  store: PredictionStore;
  /** Opens the model of a reference (`name/version`); default `loadModel(registry, ref)`, any kind. */
  openModel?: (ref: string) => Promise<LoadedModel>;
  workerName?: string;
  concurrency?: number;
  onChunk?: (result: ChunkResult & { jobId: string }) => void;
  onError?: (error: unknown, message: ChunkMessage) => void;
}

/**
 * Takes chunk messages off the queue and processes them. processChunk commits a chunk's predictions,
 * rejects and "done" row in one transaction and skips a chunk already done, so a chunk retried after
 * its worker died (BullMQ hands it to another worker once the lock expires) is written exactly once.
 */
export async function startBatchWorker(opts: BatchWorkerOptions): Promise<{ worker: string }> {
  const worker = opts.workerName ?? `${hostname()}:${process.pid}`;
  await ensureJobTables(opts.sql);
  await opts.store.init();
  // Every kind runs in this process's main thread; models are kept for the worker's lifetime.
  const open = opts.openModel ?? ((ref: string) => loadModel(opts.registry, ref));
  const models = new Map<string, Promise<Model>>();
  const modelFor = (name: string, version: number): Promise<Model> => {
    const ref = `${name}/${version}`;
    let m = models.get(ref);
    if (!m) {
      m = open(ref).then((loaded) => loaded.model);
      m.catch(() => models.delete(ref));
      models.set(ref, m);
    }
    return m;
  };
  await opts.queue.work(
    async (message) => {
      try {
        const model = await modelFor(message.model, message.version);
        const result = await processChunk(
          { sql: opts.sql, store: opts.store, model, worker },
          { jobId: message.jobId, model: message.model, version: message.version },
          message.chunkIndex,
          message.records,
        );
        opts.onChunk?.({ ...result, jobId: message.jobId });
      } catch (e) {
        opts.onError?.(e, message);
        throw e;
      }
    },
    { concurrency: opts.concurrency ?? 1, workerName: worker },
  );
  return { worker };
}
