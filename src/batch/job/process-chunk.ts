import { ErrorCode, FerryError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { inputFingerprint } from '../../model/input-fingerprint.js';
import { isTextModel, type Model } from '../../model/model.js';
import { canonicalTensors } from '../../model/tensor.js';
import { predictionRows } from '../../model/text-tensors.js';
import type { SqlClient } from '../../ports/sql.js';
import type { PredictionStore, StoredPrediction } from '../prediction-store.js';
import { inferRows } from './infer-rows.js';
import { chunkDone, claimChunk, insertRejects } from './job-tables.js';
import type { Predictor } from './predictor.js';
import {
  type InputRecord,
  type InputReject,
  type InputRow,
  isReject,
  isTensorRow,
  type TensorRow,
  type TextRow,
} from './types.js';

/** What a chunk needs to be processed: the job database, the store and the loaded model. */
export interface ChunkContext {
  /** The database holding the job tables (and, usually, the prediction store). */
  sql: SqlClient;
  store: PredictionStore;
  /** Any kind: the text classifier takes its fast path (`predictBatch`), other kinds `infer`. */
  model: Model;
  /** Text classifier only: predicts in place of `model.predictBatch` (e.g. `threadPredictor`, off the main thread). */
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
  const now = (ctx.clock?.() ?? new Date()).toISOString();
  const predicted = await predictRows(ctx, job, rows, now);
  rejects.push(...predicted.rejects);
  const stored = predicted.stored;
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
    predicted: stored.length,
    rejects: rejects.length,
  };
}

/** A chunk's rows as stored predictions, and the rows the model refused (other kinds only). */
async function predictRows(
  ctx: ChunkContext,
  job: ChunkJob,
  rows: readonly InputRow[],
  computedAt: string,
): Promise<{ stored: StoredPrediction[]; rejects: InputReject[] }> {
  if (rows.length === 0) return { stored: [], rejects: [] };
  // Rows are built as plain literals, not `{ ...base, entityId, … }`: on Node 20 a spread followed
  // by new keys costs about 1 µs a key (V8 leaves its fast path), 5 µs a row here, a quarter of
  // the model's own time per row (docs/benchmarks.md, "Spreads on the hot paths").
  const { model: name, version, jobId } = job;
  const { model } = ctx;
  if (isTextModel(model)) {
    const textRows = rows.map(asTextRow);
    const predictions = ctx.predictor ? await ctx.predictor.predict(textRows) : model.predictBatch(textRows);
    const stored = textRows.map((row, i): StoredPrediction => {
      const p = predictions[i]!;
      return {
        model: name,
        version,
        computedAt,
        jobId,
        entityId: row.id,
        inputSha256: inputFingerprint(row),
        outputs: predictionRows(model.classes, [p])[0]!,
        prediction: p.prediction,
        probabilities: p.probabilities as Record<string, number>,
      };
    });
    return { stored, rejects: [] };
  }
  const tensorRows = rows.map(asTensorRow);
  const outcomes = await inferRows(
    model,
    tensorRows.map((r) => r.tensors),
  );
  const stored: StoredPrediction[] = [];
  const rejects: InputReject[] = [];
  tensorRows.forEach((row, i) => {
    const outcome = outcomes[i]!;
    if (!outcome.ok) {
      rejects.push({
        line: row.line,
        ...(row.endLine ? { endLine: row.endLine } : {}),
        id: row.id,
        reason: outcome.reason,
      });
      return;
    }
    stored.push({
      model: name,
      version,
      computedAt,
      jobId,
      entityId: row.id,
      inputSha256: tensorFingerprint(row),
      outputs: outcome.outputs as StoredPrediction['outputs'],
    });
  });
  return { stored, rejects };
}

/** sha256 of the canonical text of a row's input tensors (what a lookup compares inputs by). */
export function tensorFingerprint(row: Pick<TensorRow, 'tensors'>): string {
  return sha256Hex(canonicalTensors(row.tensors));
}

// A job reads its rows with the mapping of its model, so a row of the other form is a bug.
function asTextRow(row: InputRow): TextRow {
  if (isTensorRow(row)) throw new FerryError(ErrorCode.INTERNAL, 'a tensor row reached the text classifier');
  return row;
}

function asTensorRow(row: InputRow): TensorRow {
  if (!isTensorRow(row)) throw new FerryError(ErrorCode.INTERNAL, 'a text row reached a model of tensors');
  return row;
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
  const now = (ctx.clock?.() ?? new Date()).toISOString();
  // Rows the model refuses now are left as they are: the live write-back stays.
  const { stored: again } = await predictRows(ctx, job, live, now);
  for (const p of again) p.source = 'batch';
  await ctx.store.upsertMany(again);
  return again.length;
}
