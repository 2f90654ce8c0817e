import { inputFingerprint } from '../../model/input-fingerprint.js';
import type { TextModel } from '../../model/model.js';
import type { SqlClient } from '../../ports/sql.js';
import type { PredictionStore, StoredPrediction } from '../prediction-store.js';
import { chunkDone, claimChunk, insertRejects } from './job-tables.js';
import type { Predictor } from './predictor.js';
import { type InputRecord, type InputReject, type InputRow, isReject } from './types.js';

/** What a chunk needs to be processed: the job database, the store and the loaded model. */
export interface ChunkContext {
  /** The database holding the job tables (and, usually, the prediction store). */
  sql: SqlClient;
  store: PredictionStore;
  model: TextModel;
  /** Predicts in place of `model.predictBatch` when given (e.g. `threadPredictor`, off the main thread). */
  predictor?: Predictor;
  /** Written to `ferry_batch_chunks.worker`; host:pid by convention. */
  worker: string;
  clock?: () => Date;
}

/** The job a chunk belongs to: its id and the model version that predicts it. */
export interface ChunkJob {
  jobId: string;
  model: string;
  version: number;
}

export interface ChunkResult {
  chunkIndex: number;
  /** `already-done`: another run (or worker) committed this chunk first; nothing was written. */
  status: 'done' | 'already-done';
  /** Input records in the chunk, rejects included. */
  rows: number;
  predicted: number;
  rejects: number;
}

/**
 * Predicts one chunk and commits, in ONE transaction, its predictions (upserted into the store),
 * its rejects and the chunk's "done" row. A kill at any point leaves either all of it or none of
 * it, and the "done" row is claimed first (INSERT … ON CONFLICT DO NOTHING), so processing a chunk
 * twice, in sequence or concurrently in two workers, writes it once: idempotent.
 *
 * `records` must be the chunk's records exactly as the input yields them, duplicates already turned
 * into rejects by the reader of the whole input (see `chunkInput`): a worker sees one chunk only.
 */
export async function processChunk(
  ctx: ChunkContext,
  job: ChunkJob,
  chunkIndex: number,
  records: readonly InputRecord[],
): Promise<ChunkResult> {
  const already = await chunkDone(ctx.sql, job.jobId, chunkIndex);
  if (already !== undefined) {
    return {
      chunkIndex,
      status: 'already-done',
      rows: already.rows,
      predicted: already.rows - already.rejects,
      rejects: already.rejects,
    };
  }
  const rows: InputRow[] = [];
  const rejects: InputReject[] = [];
  for (const record of records) {
    if (isReject(record)) rejects.push(record);
    else rows.push(record);
  }
  const predictions =
    rows.length === 0 ? [] : ctx.predictor ? await ctx.predictor.predict(rows) : ctx.model.predictBatch(rows);
  const now = (ctx.clock?.() ?? new Date()).toISOString();
  const stored: StoredPrediction[] = rows.map((row, i) => {
    const p = predictions[i]!;
    return {
      model: job.model,
      entityId: row.id,
      version: job.version,
      inputSha256: inputFingerprint(row),
      prediction: p.prediction,
      probabilities: p.probabilities as Record<string, number>,
      computedAt: now,
      jobId: job.jobId,
    };
  });
  const counts = { rows: records.length, rejects: rejects.length };
  const claimed = await ctx.sql.transaction(async (tx) => {
    if (!(await claimChunk(tx, job.jobId, chunkIndex, counts, ctx.worker, now))) return false;
    await ctx.store.upsertMany(stored, tx);
    await insertRejects(tx, job.jobId, rejects);
    return true;
  });
  if (!claimed) {
    const done = await chunkDone(ctx.sql, job.jobId, chunkIndex);
    const r = done ?? counts;
    return {
      chunkIndex,
      status: 'already-done',
      rows: r.rows,
      predicted: r.rows - r.rejects,
      rejects: r.rejects,
    };
  }
  return {
    chunkIndex,
    status: 'done',
    rows: records.length,
    predicted: rows.length,
    rejects: rejects.length,
  };
}

/**
 * `--recompute-live` for a chunk committed earlier: the chunk's entities whose stored prediction
 * was since replaced by a live write-back (`source = live`) are predicted again from this input and
 * stored as this job's. Returns how many were. Idempotent: a second run finds none.
 */
export async function recomputeLiveRows(
  ctx: ChunkContext,
  job: ChunkJob,
  records: readonly InputRecord[],
): Promise<number> {
  const rows = records.filter((r): r is InputRow => !isReject(r));
  if (rows.length === 0) return 0;
  const stored = await ctx.store.getMany(
    job.model,
    rows.map((r) => r.id),
  );
  const live = rows.filter((_, i) => stored[i]?.source === 'live');
  if (live.length === 0) return 0;
  const predictions = ctx.predictor ? await ctx.predictor.predict(live) : ctx.model.predictBatch(live);
  const now = (ctx.clock?.() ?? new Date()).toISOString();
  await ctx.store.upsertMany(
    live.map((row, i) => ({
      model: job.model,
      entityId: row.id,
      version: job.version,
      inputSha256: inputFingerprint(row),
      prediction: predictions[i]!.prediction,
      probabilities: predictions[i]!.probabilities as Record<string, number>,
      computedAt: now,
      jobId: job.jobId,
      source: 'batch' as const,
    })),
  );
  return live.length;
}
