/**
 * Worker-thread entry of `WorkerPredictionLogSink`: owns its own connection to the SQLite file and
 * writes the batches the server posts, so the synchronous inserts (and WAL checkpoints) run off the
 * server's event loop: prediction log records (`{ id, records }`) and experiment exposures
 * (`{ id, exposures }`). Announces `{ ready: true }` once the database is open; answers each with
 * `{ id, rejected, error? }`. It yields the CPU to the server's requests where it can
 * (writer-thread-scheduling.ts) and says so once: `{ scheduling }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteClient } from '../adapters/sqlite/sqlite-client.js';
import { ExperimentStore } from '../experiments/experiment-store.js';
import type { Exposure } from '../experiments/experiment-types.js';
import type { PredictionLogRecord } from '../ports/prediction-log-sink.js';
import { SqlPredictionLog } from '../serving/prediction-log/sql-prediction-log.js';
import { YieldingWriterThread } from './writer-thread-scheduling.js';

interface Rejected {
  index: number;
  message: string;
}

const port = parentPort;
if (port === null) throw new Error('prediction-log-worker runs as a worker thread');
const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number };
const client = new SqliteClient({ path, busyTimeoutMs });
let current: Map<PredictionLogRecord, number> = new Map();
let rejected: Rejected[] = [];
const log = new SqlPredictionLog(client, {
  onRejected: (record, error) => {
    rejected.push({
      index: current.get(record) ?? -1,
      message: error instanceof Error ? error.message : String(error),
    });
  },
});

// The server migrated the schema before it started this thread; the store only writes here.
const exposures = new ExperimentStore({ sql: client });

try {
  await client.init();
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ ready: false, error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}

// Settled in the background (it runs `chrt` a few times); writes go on meanwhile.
let yielding: YieldingWriterThread | undefined;
void YieldingWriterThread.start().then((thread) => {
  yielding = thread;
  port.postMessage({ scheduling: thread.state });
});

port.on(
  'message',
  (msg: {
    id: number;
    postedAt?: number;
    records?: PredictionLogRecord[];
    exposures?: Exposure[];
    close?: true;
  }) => {
    if (msg.postedAt !== undefined) yielding?.observe(Date.now() - msg.postedAt);
    if (msg.close) {
      void client.close().finally(() => port.close());
      return;
    }
    if (msg.exposures) {
      exposures.upsertExposures(msg.exposures).then(
        () => port.postMessage({ id: msg.id, rejected: [] }),
        (e: unknown) =>
          port.postMessage({ id: msg.id, rejected: [], error: e instanceof Error ? e.message : String(e) }),
      );
      return;
    }
    const records = msg.records ?? [];
    current = new Map(records.map((r, i) => [r, i]));
    rejected = [];
    log.write(records).then(
      () => port.postMessage({ id: msg.id, rejected }),
      (e: unknown) =>
        port.postMessage({ id: msg.id, rejected, error: e instanceof Error ? e.message : String(e) }),
    );
  },
);
