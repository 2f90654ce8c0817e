import { Worker } from 'node:worker_threads';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Prediction, TextInput } from '../../model/model.js';

/** Predicts batches of rows, in this thread or another one. */
export interface Predictor {
  predict(rows: readonly TextInput[]): Promise<Prediction[]>;
  close(): Promise<void>;
}

/**
 * The worker's entry: the file beside this one. Built, it is predict-worker.js, plain JavaScript.
 * From source it is the .ts file, which a worker thread can load only with a TypeScript loader
 * registered in it: the tests preload one in every thread (see vitest.config.ts). No
 * dev dependency is named here: the built code runs with production dependencies only.
 */
function workerEntry(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './predict-worker.ts' : './predict-worker.js', here);
}

interface Pending {
  resolve(p: Prediction[]): void;
  reject(e: unknown): void;
}

/**
 * The model in a worker thread (its own copy, decoded from the artifact bytes), so that predicting
 * chunk k+1 overlaps with parsing and writing chunk k on the main thread: on 2 cores the job then
 * runs at about the model's own speed. Requests are answered in order, one at a time.
 */
export async function threadPredictor(artifact: Uint8Array): Promise<Predictor> {
  const worker = new Worker(workerEntry(), { workerData: { artifact } });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failure: unknown;
  const fail = (e: unknown) => {
    failure ??= new FerryError(
      ErrorCode.INTERNAL,
      `the prediction thread failed: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    const onError = (e: unknown) => {
      fail(e);
      reject(failure);
    };
    worker.once('error', onError);
    worker.once('message', (msg: { ready: boolean; error?: string }) => {
      worker.off('error', onError);
      if (msg.ready) resolve();
      else onError(new Error(msg.error ?? 'could not load the model'));
    });
  }).catch(async (e) => {
    await worker.terminate();
    throw e;
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (pending.size > 0) fail(new Error(`the prediction thread exited (${code})`));
  });
  worker.on('message', (msg: { id: number; predictions?: Prediction[]; error?: string }) => {
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if (msg.predictions !== undefined) p.resolve(msg.predictions);
    else p.reject(new FerryError(ErrorCode.INTERNAL, `prediction failed: ${msg.error}`));
  });
  return {
    predict(rows) {
      if (failure !== undefined) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<Prediction[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Only the text crosses the thread boundary.
        worker.postMessage({ id, rows: rows.map((r) => ({ title: r.title, description: r.description })) });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
