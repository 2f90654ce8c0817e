/**
 * Worker-thread entry of `threadPredictor`: decodes the model from the artifact bytes it is given,
 * then answers `{ id, rows }` with `{ id, predictions }` (or `{ id, error }`), one message at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeModel } from '../../model/codec.js';
import type { TextInput } from '../../model/model.js';

const port = parentPort;
if (port === null) throw new Error('predict-worker runs as a worker thread');
try {
  const model = decodeModel((workerData as { artifact: Uint8Array }).artifact);
  port.on('message', (msg: { id: number; rows: TextInput[] }) => {
    try {
      port.postMessage({ id: msg.id, predictions: model.predictBatch(msg.rows) });
    } catch (e) {
      port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ ready: false, error: e instanceof Error ? e.message : String(e) });
}
