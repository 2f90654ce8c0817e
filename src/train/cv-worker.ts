/**
 * Worker-thread entry of `runFoldsInWorkers`: answers `{ id, job }` with `{ id, probs, thetas? }` (or
 * `{ id, error }`), one fold at a time. Announces `{ ready: true }` once its modules are loaded.
 */
import { parentPort } from 'node:worker_threads';
import { type FoldJob, runFold } from './cv-fold.js';

const port = parentPort;
if (port === null) throw new Error('cv-worker runs as a worker thread');
port.on('message', (msg: { id: number; job: FoldJob }) => {
  try {
    const { probs, thetas } = runFold(msg.job);
    port.postMessage(
      { id: msg.id, probs, ...(thetas ? { thetas } : {}) },
      [...probs, ...(thetas ?? [])].map((p) => p.buffer as ArrayBuffer),
    );
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
port.postMessage({ ready: true });
