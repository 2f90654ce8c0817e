import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ErrorCode, FerryError } from '../core/errors.js';
import { type FoldJob, type FoldResult, runFold } from './cv-fold.js';

/**
 * The worker's entry: the file beside this one. Built, it is cv-worker.js, plain JavaScript. From
 * source it is the .ts file, which a worker can load only with a TypeScript loader registered in it
 * (the tests preload one in every thread, see vitest.config.ts); without one the worker fails to
 * start and the folds run in this thread instead (same results, just slower).
 */
function workerEntry(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './cv-worker.ts' : './cv-worker.js', here);
}

/** Threads worth starting for `folds` folds: one per core, never more than the folds. */
export function foldThreads(folds: number): number {
  return Math.max(1, Math.min(folds, availableParallelism()));
}

type Reply =
  | { ready: true }
  | { id: number; probs?: Float64Array[]; thetas?: Float64Array[]; error?: string };

/**
 * Waits for the worker's next message (or its failure). Only this call's own listeners are removed:
 * `removeAllListeners` would also drop Node's internal ones and the next reply would never arrive.
 */
function nextReply(worker: Worker): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const off = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (msg: Reply) => {
      off();
      resolve(msg);
    };
    const onError = (e: Error) => {
      off();
      reject(e);
    };
    const onExit = (code: number) => {
      off();
      reject(new Error(`its thread exited (${code})`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Starts a worker and waits until it has loaded its modules; null when it cannot start. */
async function startWorker(): Promise<Worker | null> {
  const worker = new Worker(workerEntry());
  const started = await nextReply(worker).then(
    (msg) => 'ready' in msg,
    () => false,
  );
  if (started) return worker;
  await worker.terminate();
  return null;
}

/**
 * Runs the folds on `threads` worker threads, each taking the next fold when it is free; results come
 * back in job order, so nothing downstream depends on which thread finished first. Each fold is
 * independent and deterministic, so the results are bit-identical to `jobs.map(runFold)`. If no
 * worker can start (TypeScript source run without a loader in workers), the folds run here.
 */
export async function runFoldsInWorkers(
  jobs: readonly FoldJob[],
  threads: number,
  onFold: (index: number) => void = () => {},
): Promise<FoldResult[]> {
  const started = await Promise.all(
    Array.from({ length: Math.min(threads, jobs.length) }, () => startWorker()),
  );
  const workers = started.filter((w): w is Worker => w !== null);
  if (workers.length === 0)
    return jobs.map((job, i) => {
      const result = runFold(job);
      onFold(i);
      return result;
    });
  const results: FoldResult[] = new Array(jobs.length);
  let next = 0;
  const drain = async (worker: Worker): Promise<void> => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await askWorker(worker, index, jobs[index]!);
      onFold(index);
    }
  };
  try {
    await Promise.all(workers.map(drain));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

async function askWorker(worker: Worker, id: number, job: FoldJob): Promise<FoldResult> {
  const reply = nextReply(worker);
  worker.postMessage({ id, job });
  const msg = await reply.catch((e: unknown) => {
    throw new FerryError(ErrorCode.INTERNAL, `cross-validation fold ${id + 1} failed: ${String(e)}`, {
      cause: e,
    });
  });
  if ('ready' in msg || msg.id !== id || msg.probs === undefined)
    throw new FerryError(
      ErrorCode.INTERNAL,
      `cross-validation fold ${id + 1} failed: ${('error' in msg && msg.error) || 'no result'}`,
    );
  return msg.thetas ? { probs: msg.probs, thetas: msg.thetas } : { probs: msg.probs };
}
