import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Model, Prediction, TextInput } from '../../model/model.js';

/** Predicts batches of rows, in this thread or another one. */
export interface Predictor {
  predict(rows: readonly TextInput[]): Promise<Prediction[]>;
  close(): Promise<void>;
}

/** `model.predictBatch` in the calling thread. */
export function inlinePredictor(model: Model): Predictor {
  return {
    predict: async (rows) => model.predictBatch(rows),
    close: async () => {},
  };
}

/**
 * The worker's entry. Built, it is predict-worker.js beside this file. From source (tsx, vitest)
 * it is a .ts file, which a worker thread cannot load without a loader: a tiny ES module
 * registers tsx's loader in the worker, then imports it.
 */
function workerEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./predict-worker.js', here);
  const tsxDir = dirname(createRequire(here).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const target = new URL('./predict-worker.ts', here).href;
  const code = `const { register } = await import(${JSON.stringify(tsxApi)}); register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
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
