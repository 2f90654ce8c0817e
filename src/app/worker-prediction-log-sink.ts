import { Worker } from 'node:worker_threads';
import { ErrorCode, FerryError } from '../core/errors.js';
import type { Exposure } from '../experiments/experiment-types.js';
import type { PredictionLogRecord, PredictionLogSink } from '../ports/prediction-log-sink.js';
import type { WriterScheduling } from './writer-thread-scheduling.js';

/**
 * The worker's entry: the file beside this one. Built, it is plain JavaScript; from source it is
 * the .ts file, which a worker loads only with a TypeScript loader registered in it (the tests
 * preload one in every thread); without one the worker cannot start and `start` says so.
 */
function workerEntry(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './prediction-log-worker.ts' : './prediction-log-worker.js', here);
}

type Reply =
  | { ready: boolean; error?: string }
  | { scheduling: WriterScheduling }
  | { id: number; rejected: { index: number; message: string }[]; error?: string };

export interface WorkerPredictionLogSinkOptions {
  /** The SQLite file (the registry's database). */
  path: string;
  busyTimeoutMs: number;
  /** A record the database refused on its own (after the others of its batch were written). */
  onRejected?: (record: PredictionLogRecord, error: Error) => void;
}

/**
 * A PredictionLogSink that writes to SQLite from a worker thread. better-sqlite3 is synchronous:
 * written on the server's thread, every flush (hundreds of rows, sometimes a WAL checkpoint) stalled
 * every request in flight — `bench/serving` measured p99 26 ms at one connection with the log on
 * (docs/benchmarks.md). The thread has its own connection; SQLite's WAL and busy timeout order its
 * writes with the server's. The table is created by the server's SqlPredictionLog (migrations) before
 * this starts. Records cross by structured clone, which costs far less than the inserts.
 * The same thread writes the experiment router's exposures (`writeExposures`): their upserts were
 * ~4 % of a routed request's CPU on the event loop (bench/experiments' profile).
 */
export class WorkerPredictionLogSink implements PredictionLogSink {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { records: readonly PredictionLogRecord[]; resolve: () => void; reject: (e: Error) => void }
  >();

  private schedulingReported: WriterScheduling | undefined;
  private onScheduling: ((s: WriterScheduling) => void)[] = [];

  constructor(private readonly opts: WorkerPredictionLogSinkOptions) {}

  /** How the thread is scheduled (whether it yields the CPU to requests), once it has settled it. */
  scheduling(): Promise<WriterScheduling> {
    const known = this.schedulingReported;
    if (known !== undefined) return Promise.resolve(known);
    // Held while asked: an idle thread is unreferenced, and the answer would never come.
    this.worker?.ref();
    return new Promise((resolve) => this.onScheduling.push(resolve));
  }

  /** Starts the thread and waits until its connection is open; throws when it cannot start. */
  async init(): Promise<void> {
    if (this.worker) return;
    const worker = new Worker(workerEntry(), {
      workerData: { path: this.opts.path, busyTimeoutMs: this.opts.busyTimeoutMs },
    });
    const first = await new Promise<Reply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the thread exited (${code})`)));
    }).catch((e: unknown) => ({ ready: false, error: e instanceof Error ? e.message : String(e) }));
    worker.removeAllListeners('exit');
    if (!('ready' in first) || !first.ready) {
      await worker.terminate();
      throw new FerryError(
        ErrorCode.DB_UNAVAILABLE,
        `the prediction log's writer thread could not start: ${'error' in first ? first.error : 'no answer'}`,
      );
    }
    worker.on('message', (msg: Reply) => this.onReply(msg));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => {
      this.worker = undefined;
      this.failAll(new Error(`the prediction log's writer thread exited (${code})`));
    });
    // An idle thread must not keep the process alive; one with a write in flight must (see write).
    worker.unref();
    this.worker = worker;
  }

  write(records: readonly PredictionLogRecord[]): Promise<void> {
    return this.post(records, { records });
  }

  /** Upserts experiment exposures in the thread (ExperimentStore.upsertExposures there). */
  writeExposures(exposures: readonly Exposure[]): Promise<void> {
    return this.post([], { exposures });
  }

  private post(
    records: readonly PredictionLogRecord[],
    body: { records: readonly PredictionLogRecord[] } | { exposures: readonly Exposure[] },
  ): Promise<void> {
    const worker = this.worker;
    if (!worker)
      return Promise.reject(
        new FerryError(ErrorCode.DB_UNAVAILABLE, "the prediction log's writer thread is not running"),
      );
    const id = this.nextId++;
    // Referenced while records are in flight: else a process with nothing else to do (a server
    // draining) would exit before the thread has written them.
    worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { records, resolve, reject });
      // postedAt: the thread measures how long a write waited for it (writer-thread-scheduling.ts).
      worker.postMessage({ id, postedAt: Date.now(), ...body });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.ref();
    worker.postMessage({ close: true });
    await exited;
  }

  private onReply(msg: Reply): void {
    if ('scheduling' in msg) {
      this.schedulingReported = msg.scheduling;
      for (const resolve of this.onScheduling.splice(0)) resolve(msg.scheduling);
      if (this.waiting.size === 0) this.worker?.unref();
      return;
    }
    if (!('id' in msg)) return;
    const pending = this.waiting.get(msg.id);
    if (!pending) return;
    this.waiting.delete(msg.id);
    if (this.waiting.size === 0 && this.onScheduling.length === 0) this.worker?.unref();
    for (const r of msg.rejected) {
      const record = pending.records[r.index];
      if (record) this.opts.onRejected?.(record, new Error(r.message));
    }
    if (msg.error !== undefined) pending.reject(new FerryError(ErrorCode.DB_ERROR, msg.error));
    else pending.resolve();
  }

  private failAll(e: Error): void {
    for (const [, p] of this.waiting) p.reject(e);
    this.waiting.clear();
  }
}
