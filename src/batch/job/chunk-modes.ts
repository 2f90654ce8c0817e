import type { Progress } from '../../core/progress.js';
import type { SqlClient } from '../../ports/sql.js';
import type { InputChunk } from './chunk-input.js';
import { type ChunkDone, chunkTotals } from './job-tables.js';
import { type ChunkContext, type ChunkJob, processChunk, recomputeLiveRows } from './process-chunk.js';
import type { InputRecord } from './types.js';

/*
 * What `runBatchJob` does with each chunk, per mode: a chunk committed before this run is counted
 * (resumed), one not done yet is predicted and written here (local) or handed to workers
 * (dispatched). The reading loop, the --max-errors stop and the job's bookkeeping are shared, in
 * run-batch-job.ts.
 */

/** A chunk as distributed mode hands it to workers. */
export interface DispatchedChunk {
  jobId: string;
  model: string;
  version: number;
  chunkIndex: number;
  records: InputRecord[];
}

/** This run's counts: what the progress line shows and the summary reports. */
export interface RunTally {
  rows: number;
  rejects: number;
  chunks: number;
  skippedChunks: number;
  processedRows: number;
  recomputedRows: number;
}

export function emptyTally(): RunTally {
  return { rows: 0, rejects: 0, chunks: 0, skippedChunks: 0, processedRows: 0, recomputedRows: 0 };
}

export function rate(rows: number, seconds: number): number {
  return seconds > 0 ? Math.round(rows / seconds) : 0;
}

/** Where the chunks not done yet go. */
export interface ChunkMode {
  /** Takes a chunk not done yet (`rejects`: its rejects, known on reading); resolves when the next may be read. */
  take(chunk: InputChunk, rejects: number): Promise<void>;
  /** Waits until every chunk taken is handled; throws what failed. */
  drain(): Promise<void>;
  /** After an error: lets work still in flight finish (or fail) before the caller closes things. */
  settle(): Promise<void>;
  /** Once the job's totals are recorded: until every chunk is committed. */
  complete(): Promise<void>;
}

/** Resumed: a chunk committed before this run is counted, and its live write-backs redone when asked. */
export async function countDoneChunk(
  ctx: ChunkContext,
  job: ChunkJob,
  prior: ChunkDone,
  chunk: InputChunk,
  recomputeLive: boolean,
  tally: RunTally,
): Promise<void> {
  if (recomputeLive) tally.recomputedRows += await recomputeLiveRows(ctx, job, chunk.records);
  tally.skippedChunks++;
  tally.rows += prior.rows;
  tally.rejects += prior.rejects;
  tally.chunks++;
}

/**
 * Local: each chunk is predicted and committed here (`processChunk`). Two chunks in flight: while
 * one is being written, the next one is predicted (in the prediction thread, when there is one).
 */
export function localMode(ctx: ChunkContext, job: ChunkJob, tally: RunTally, tick: () => void): ChunkMode {
  const inFlight: Promise<void>[] = [];
  return {
    async take(chunk) {
      const work = processChunk(ctx, job, chunk.index, chunk.records).then((result) => {
        if (result.status === 'done') tally.processedRows += result.rows;
        else tally.skippedChunks++;
        tally.rows += result.rows;
        tally.rejects += result.rejects;
        tally.chunks++;
        tick();
      });
      work.catch(() => {}); // awaited later; this only keeps it from counting as unhandled meanwhile
      inFlight.push(work);
      if (inFlight.length >= 2) await inFlight.shift();
    },
    async drain() {
      await Promise.all(inFlight.splice(0));
    },
    async settle() {
      await Promise.allSettled(inFlight);
    },
    async complete() {},
  };
}

export interface DispatchedModeOptions {
  dispatch: (chunk: DispatchedChunk) => Promise<void>;
  sql: SqlClient;
  /** How often the job tables are polled for chunks done by workers (ms). */
  pollMs: number;
  progress: Progress;
  /** performance.now() when the run started (for the rate). */
  startedAt: number;
  /** The chunks committed before this run. */
  done: ReadonlyMap<number, ChunkDone>;
}

/**
 * Dispatched: each chunk is handed to workers (which call processChunk, so it is still written
 * once); completing waits until they have committed every chunk, then counts what they did.
 */
export function dispatchedMode(
  opts: DispatchedModeOptions,
  job: ChunkJob,
  tally: RunTally,
  tick: () => void,
): ChunkMode {
  return {
    async take(chunk, rejects) {
      await opts.dispatch({ ...job, chunkIndex: chunk.index, records: [...chunk.records] });
      tally.rows += chunk.records.length;
      tally.rejects += rejects;
      tally.chunks++;
      tick();
    },
    async drain() {},
    async settle() {},
    async complete() {
      const priorRows = [...opts.done.values()].reduce((sum, c) => sum + c.rows, 0);
      await waitForWorkers(opts, job.jobId, tally.chunks, priorRows);
      tally.processedRows = (await chunkTotals(opts.sql, job.jobId)).rows - priorRows;
      tally.skippedChunks = opts.done.size;
    },
  };
}

/** Waits until every chunk is committed by some worker. */
async function waitForWorkers(
  opts: DispatchedModeOptions,
  jobId: string,
  totalChunks: number,
  priorRows: number,
): Promise<void> {
  const { sql, progress } = opts;
  progress.stop();
  progress.start('waiting for workers (chunks)', totalChunks);
  for (;;) {
    const t = await chunkTotals(sql, jobId);
    const seconds = (performance.now() - opts.startedAt) / 1000;
    progress.tick(
      t.chunks,
      `${t.rows.toLocaleString('en-US')} rows, ${rate(t.rows - priorRows, seconds).toLocaleString('en-US')} rows/s`,
    );
    if (t.chunks >= totalChunks) return;
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
}
