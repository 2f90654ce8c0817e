import { openKeyValueStore } from '../adapters/factory.js';
import { JsonlPredictionLog } from '../adapters/fs/jsonl-prediction-log.js';
import { SqliteClient } from '../adapters/sqlite/sqlite-client.js';
import { PredictionStore } from '../batch/prediction-store.js';
import type { NamedTensors } from '../model/tensor.js';
import type { KeyValueStore } from '../ports/key-value-store.js';
import type { PredictionLogReader } from '../ports/prediction-log-reader.js';
import type { PredictionLogRecord, PredictionLogSink } from '../ports/prediction-log-sink.js';
import type { ServingMetrics } from '../serving/metrics.js';
import { PredictionCache, TENSOR_CODEC } from '../serving/prediction-cache.js';
import { PredictionLogger } from '../serving/prediction-log/prediction-logger.js';
import { SqlPredictionLog } from '../serving/prediction-log/sql-prediction-log.js';
import type { ServingConfig } from '../serving/serving-config.js';
import type { Closers } from './lifecycle.js';
import type { FerryContext } from './open-ferry.js';
import { WorkerPredictionLogSink } from './worker-prediction-log-sink.js';

/** The stores a server reads and writes beside the registry. */
export interface ServingStores {
  /** The prediction store (batch predictions) in the registry's database, served under /v1/predictions. */
  predictionStore: PredictionStore;
  cache: PredictionCache<NamedTensors, NamedTensors> | undefined;
  logger: PredictionLogger | undefined;
  /** The log read back (monitoring), when it is the SQL table; a JSONL log is write-only. */
  logReader: PredictionLogReader | undefined;
  /**
   * The thread that writes to a SQLite file off the event loop (the prediction log's records and the
   * experiments' exposures), when the registry is one: started on the first call (at once when the
   * log is on); undefined when it could not start (the writes then stay on the server's thread).
   */
  sqliteWriter: (() => Promise<WorkerPredictionLogSink | undefined>) | undefined;
}

/**
 * Opens the prediction store, the prediction cache (FERRY_CACHE) and the prediction log
 * (FERRY_PREDICTION_LOG); what needs closing is registered in `closers` as soon as it is open.
 */
export async function openServingStores(deps: {
  ferry: FerryContext;
  sc: ServingConfig;
  metrics: ServingMetrics;
  closers: Closers;
  /** Where a refused prediction-log record is reported (the server's log, once it exists). */
  warn: (obj: object, msg: string) => void;
}): Promise<ServingStores> {
  const { ferry, sc, metrics, closers } = deps;
  const predictionStore = new PredictionStore({ sql: ferry.sql });
  await predictionStore.init();
  let kv: KeyValueStore | undefined;
  if (sc.cache !== 'off') {
    kv = openKeyValueStore(sc.cache, {
      prefix: 'ferry:cache:',
      maxEntries: sc.cacheMaxEntries,
      maxBytes: sc.cacheMaxBytes,
      defaultTtlMs: sc.cacheTtlMs,
      // The cache is an optimisation: a server whose Redis is down starts and serves uncached
      // (lookups count as errors) while the client reconnects in the background.
      failFastAtInit: false,
    });
    await kv.init();
    const store = kv;
    closers.add('prediction cache', () => store.close());
  }
  const cache = kv
    ? new PredictionCache<NamedTensors, NamedTensors>({
        codec: TENSOR_CODEC,
        store: kv,
        ttlMs: sc.cacheTtlMs,
        onWriteError: (_error, entries) => metrics.cacheWriteFailures.inc(entries),
      })
    : undefined;

  // SQLite writes are synchronous: the prediction log's and the exposures' run in a thread of their
  // own, with its own connection (PostgreSQL's are network I/O already). The tables are created
  // first, by the server's own connection (here for the log, by openExperiments for exposures,
  // before the first flush).
  const sqlite = ferry.sql instanceof SqliteClient && ferry.sql.path !== ':memory:' ? ferry.sql : undefined;
  const onRejected = (record: PredictionLogRecord, err: unknown) => {
    metrics.logRejected.inc();
    deps.warn({ err, requestId: record.requestId }, 'prediction log record refused by the database');
  };
  const sqlLog = new SqlPredictionLog(ferry.sql, { onRejected });
  if (sc.predictionLog === 'sql') await sqlLog.init();
  // Started with the server when the log is on; else on the first exposure flush (`sqliteWriter`),
  // so a server that logs nothing and runs no experiment keeps no idle thread.
  let starting: Promise<WorkerPredictionLogSink | undefined> | undefined;
  let startWriter: (() => Promise<WorkerPredictionLogSink | undefined>) | undefined;
  if (sqlite) {
    const threaded = new WorkerPredictionLogSink({
      path: sqlite.path,
      busyTimeoutMs: sqlite.busyTimeoutMs,
      onRejected,
    });
    // Registered before anything that writes through it, so it closes after them; a thread never
    // started closes as a no-op.
    closers.add('SQLite writer thread', () => threaded.close());
    startWriter = () =>
      (starting ??= threaded.init().then(
        () => threaded,
        (err: unknown) => {
          deps.warn({ err }, 'SQLite writes on the server thread (the writer thread could not start)');
          return undefined;
        },
      ));
  }
  const sqliteWriter = sc.predictionLog === 'sql' ? await startWriter?.() : undefined;

  let sink: PredictionLogSink | undefined;
  let logReader: PredictionLogReader | undefined;
  if (sc.predictionLog === 'sql') {
    sink = sqliteWriter ?? sqlLog;
    logReader = sqlLog;
  } else if (sc.predictionLog.startsWith('jsonl:'))
    sink = new JsonlPredictionLog(sc.predictionLog.slice('jsonl:'.length));
  let logger: PredictionLogger | undefined;
  if (sink) {
    await sink.init();
    logger = new PredictionLogger(sink, {
      sampleRate: sc.predictionLogSampleRate,
      maxBuffered: sc.predictionLogMaxBuffered,
      flushIntervalMs: sc.predictionLogFlushMs,
      flushSize: sc.predictionLogFlushSize,
      maxBytesPerRequest: sc.predictionLogMaxBytesPerRequest,
      onTruncated: () => metrics.logTruncated.inc(),
      onDrop: (n) => metrics.logDropped.inc(n),
    });
    logger.start();
    const l = logger;
    const s = sink;
    // The writer thread has its own closer (registered first, so it closes after this one).
    closers.add('prediction log', async () => {
      await l.close();
      if (s !== sqliteWriter) await s.close();
    });
  }
  return { predictionStore, cache, logger, logReader, sqliteWriter: startWriter };
}
