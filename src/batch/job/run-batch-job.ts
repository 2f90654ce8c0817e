import { hostname } from 'node:os';
import { ErrorCode, FerryError, toFerryError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { type Progress, silentProgress } from '../../core/progress.js';
import { decodeModel } from '../../model/codec.js';
import type { SqlClient } from '../../ports/sql.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import { entityIdProblem, type PredictionStore } from '../prediction-store.js';
import { chunkInput } from './chunk-input.js';
import { openBatchInput } from './inputs/open-input.js';
import { chunkTotals, doneChunks, ensureJobTables, finishJob, setJobTotals, startJob } from './job-tables.js';
import { type Predictor, threadPredictor } from './predictor.js';
import { type ChunkContext, type ChunkJob, processChunk, recomputeLiveRows } from './process-chunk.js';
import { writeRejectsFile } from './rejects-file.js';
import { type BatchInput, type InputRecord, type InputSpec, isReject } from './types.js';

export const DEFAULT_CHUNK_SIZE = 1000;
export const DEFAULT_MAX_ERRORS = 1000;

export interface RunBatchJobOptions {
  registry: ModelRegistry;
  /** The database of the job tables; the prediction store's, normally the registry's. */
  sql: SqlClient;
  store: PredictionStore;
  /** Model reference: `tagifai@production`, `tagifai/3`. Resolved once: the job predicts with one version. */
  model: string;
  input: InputSpec;
  /** Records per chunk. Undefined: the existing job's chunk size, or DEFAULT_CHUNK_SIZE for a new job. */
  chunkSize?: number;
  /**
   * The job fails (FERRY_BATCH_TOO_MANY_ERRORS) once its rejects exceed this. Default 1000. Not
   * applied to a job that had finished: its rerun processes nothing new.
   */
  maxErrors?: number;
  /**
   * For chunks already committed (a resumed or finished job): predict again the entities whose
   * stored prediction was replaced by a live write-back since, and store them as this job's.
   */
  recomputeLive?: boolean;
  /** Where to write the rejects at the end (CSV, or JSONL by extension); a function of the job id. */
  rejectsPath?: string | ((jobId: string) => string);
  /** Overrides the deterministic job id. */
  jobId?: string;
  progress?: Progress;
  /**
   * Predict in a worker thread, overlapping with reading and writing on this one (what the CLI
   * does); default false: in this thread.
   */
  predictInThread?: boolean;
  /**
   * Distributed mode: hand each chunk to this (e.g. a BullMQ queue) instead of processing it here,
   * then wait until workers have committed every chunk. Workers call processChunk, so a chunk is
   * still written exactly once.
   */
  dispatch?: (chunk: DispatchedChunk) => Promise<void>;
  /** Distributed mode: how often the job tables are polled for chunks done by workers (ms). */
  pollMs?: number;
  /** Recorded on each chunk; default host:pid. */
  worker?: string;
  clock?: () => Date;
}

export interface DispatchedChunk {
  jobId: string;
  model: string;
  version: number;
  chunkIndex: number;
  records: InputRecord[];
}

export interface BatchJobSummary {
  jobId: string;
  /** `name/version` of the model that predicted. */
  model: string;
  /** Input records of the whole job (every run), rejects included. */
  rows: number;
  /** Entities predicted and stored by the whole job. */
  predicted: number;
  rejects: number;
  chunks: number;
  /** Chunks found already done when this run started (or done meanwhile by another process). */
  skippedChunks: number;
  /** Input records this run predicted or rejected itself. */
  processedRows: number;
  /** Entities of committed chunks predicted again because a live write-back had replaced them (--recompute-live). */
  recomputedRows: number;
  /** The job had finished before this run: nothing was left to do (apart from --recompute-live). */
  alreadyFinished: boolean;
  seconds: number;
  /** processedRows / seconds: this run's throughput. */
  rowsPerSecond: number;
  rejectsPath: string | null;
}

/** `name-vN-<16 hex>` from the model version and the input's identity: the same command, the same job. */
export function batchJobId(model: string, version: number, inputIdentity: string): string {
  return `${model}-v${version}-${sha256Hex(JSON.stringify([model, version, inputIdentity])).slice(0, 16)}`;
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new FerryError(
      ErrorCode.BATCH_INVALID_OPTIONS,
      `${name} must be an integer >= ${min}, got ${value}`,
      {
        details: { [name]: value },
      },
    );
  }
  return value;
}

function rate(rows: number, seconds: number): number {
  return seconds > 0 ? Math.round(rows / seconds) : 0;
}

/**
 * Runs (or resumes) a batch prediction job in this process: validates the model and the input
 * before writing anything, then streams the input in chunks, skips the chunks already done,
 * predicts the others and commits each one atomically (`processChunk`). The job id is derived from
 * the model version and the input's content, so rerunning the same command after a crash or a
 * kill resumes it; a finished job reruns as a no-op (whatever `maxErrors`: nothing runs) unless
 * `recomputeLive` asks to redo its entities written back live since. Returns the summary; throws
 * FERRY_BATCH_TOO_MANY_ERRORS (job `failed`, committed chunks kept) past `maxErrors` rejects.
 */
export async function runBatchJob(opts: RunBatchJobOptions): Promise<BatchJobSummary> {
  const startedAt = performance.now();
  const clock = opts.clock ?? (() => new Date());
  const now = () => clock().toISOString();
  const progress = opts.progress ?? silentProgress;
  if (opts.chunkSize !== undefined) positiveInt('chunkSize', opts.chunkSize, 1);
  const maxErrors = positiveInt('maxErrors', opts.maxErrors ?? DEFAULT_MAX_ERRORS, 0);
  if (opts.jobId !== undefined) {
    const problem = entityIdProblem(opts.jobId);
    if (problem !== undefined) {
      throw new FerryError(ErrorCode.BATCH_INVALID_ID, `invalid job id: ${problem}`, {
        details: { field: 'jobId' },
      });
    }
  }

  // Everything that can be refused is refused before anything is written.
  const { version, bytes } = await opts.registry.loadArtifact(opts.model);
  const model = decodeModel(bytes);
  const input: BatchInput = await openBatchInput(opts.input);
  let jobId: string | undefined;
  /** Once the job is done (or was before this run), nothing may mark it failed. */
  let committed = false;
  let progressStarted = false;
  let predictor: Predictor | undefined;
  try {
    jobId = opts.jobId ?? batchJobId(version.name, version.version, input.identity);
    const id = jobId;
    await ensureJobTables(opts.sql);
    await opts.store.init();
    const job = await startJob(opts.sql, {
      jobId: id,
      model: version.name,
      version: version.version,
      input: input.description,
      inputSha256: input.identity,
      chunkSize: opts.chunkSize,
      defaultChunkSize: DEFAULT_CHUNK_SIZE,
      totalRows: input.totalRecords,
      now: now(),
    });
    const alreadyFinished = job.status === 'done';
    committed = alreadyFinished;
    const rejectsPath =
      typeof opts.rejectsPath === 'function' ? opts.rejectsPath(id) : (opts.rejectsPath ?? null);
    if (alreadyFinished && !opts.recomputeLive) {
      // Nothing to do: the input is not even read again, and --max-errors has nothing to judge.
      const totals = await chunkTotals(opts.sql, id);
      const written = rejectsPath === null ? null : await writeRejectsFile(opts.sql, id, rejectsPath);
      return {
        jobId: id,
        model: `${version.name}/${version.version}`,
        rows: totals.rows,
        predicted: totals.rows - totals.rejects,
        rejects: totals.rejects,
        chunks: totals.chunks,
        skippedChunks: totals.chunks,
        processedRows: 0,
        recomputedRows: 0,
        alreadyFinished,
        seconds: Math.round(performance.now() - startedAt) / 1000,
        rowsPerSecond: 0,
        rejectsPath: written?.path ?? null,
      };
    }
    const done = await doneChunks(opts.sql, id);
    if (opts.predictInThread) predictor = await threadPredictor(bytes);
    const ctx: ChunkContext = {
      sql: opts.sql,
      store: opts.store,
      model,
      ...(predictor ? { predictor } : {}),
      worker: opts.worker ?? `${hostname()}:${process.pid}`,
      clock,
    };
    const chunkJob: ChunkJob = { jobId: id, model: version.name, version: version.version };

    const first = input.progress();
    const inKib = first.unit === 'bytes';
    const scale = (n: number) => (inKib ? Math.ceil(n / 1024) : n);
    progress.start(`batch ${inKib ? '(KiB read)' : '(rows)'}`, scale(first.total ?? 0));
    progressStarted = true;

    let countedRejects = 0;
    let rows = 0;
    let rejects = 0;
    let chunks = 0;
    let skippedChunks = 0;
    let processedRows = 0;
    let recomputedRows = 0;
    const tick = () => {
      const seconds = (performance.now() - startedAt) / 1000;
      const n = (x: number) => x.toLocaleString('en-US');
      progress.tick(
        scale(input.progress().done),
        `${n(rows)} rows, ${n(rejects)} rejects, ${n(rate(processedRows, seconds))} rows/s`,
      );
    };
    // Two chunks in flight: while one is being written, the next one is predicted (in the
    // prediction thread, when there is one). Reject counts are known when a chunk is read, so the
    // --max-errors stop falls on the same chunk whatever finishes first.
    const inFlight: Promise<void>[] = [];
    let stopAfter: number | undefined;
    try {
      for await (const chunk of chunkInput(input, job.chunkSize)) {
        const prior = done.get(chunk.index);
        const chunkRejects = prior?.rejects ?? chunk.records.filter(isReject).length;
        if (prior !== undefined) {
          if (opts.recomputeLive) recomputedRows += await recomputeLiveRows(ctx, chunkJob, chunk.records);
          skippedChunks++;
          rows += prior.rows;
          rejects += prior.rejects;
          chunks++;
          tick();
        } else if (opts.dispatch) {
          await opts.dispatch({ ...chunkJob, chunkIndex: chunk.index, records: [...chunk.records] });
          rows += chunk.records.length;
          rejects += chunkRejects;
          chunks++;
          tick();
        } else {
          const work = processChunk(ctx, chunkJob, chunk.index, chunk.records).then((result) => {
            if (result.status === 'done') processedRows += result.rows;
            else skippedChunks++;
            rows += result.rows;
            rejects += result.rejects;
            chunks++;
            tick();
          });
          work.catch(() => {}); // awaited below; this only keeps it from counting as unhandled meanwhile
          inFlight.push(work);
          if (inFlight.length >= 2) await inFlight.shift();
        }
        countedRejects += chunkRejects;
        if (!alreadyFinished && countedRejects > maxErrors) {
          stopAfter = chunk.index;
          break;
        }
      }
      await Promise.all(inFlight.splice(0));
    } finally {
      // On an error, let the chunk still in flight finish (or fail) before the caller closes things.
      await Promise.allSettled(inFlight);
    }
    if (stopAfter !== undefined) {
      const written = rejectsPath === null ? null : await writeRejectsFile(opts.sql, id, rejectsPath);
      throw new FerryError(
        ErrorCode.BATCH_TOO_MANY_ERRORS,
        `batch job ${id}: ${rejects} rejected records exceed the limit of ${maxErrors} (--max-errors); ` +
          `stopped after ${chunks} chunks, whose predictions are kept` +
          (written ? `; rejects in ${written.path}` : ''),
        {
          details: { jobId: id, rejects, maxErrors, chunks, rejectsPath: written?.path ?? null },
        },
      );
    }
    await setJobTotals(opts.sql, id, rows, chunks, now());
    if (opts.dispatch) {
      const priorRows = [...done.values()].reduce((sum, c) => sum + c.rows, 0);
      await waitForWorkers(opts.sql, id, chunks, opts.pollMs ?? 500, progress, startedAt, priorRows);
      processedRows = (await chunkTotals(opts.sql, id)).rows - priorRows;
      skippedChunks = done.size;
    }
    const totals = await chunkTotals(opts.sql, id);
    await finishJob(opts.sql, id, 'done', now());
    committed = true;
    const written = rejectsPath === null ? null : await writeRejectsFile(opts.sql, id, rejectsPath);
    const seconds = (performance.now() - startedAt) / 1000;
    return {
      jobId: id,
      model: `${version.name}/${version.version}`,
      rows: totals.rows,
      predicted: totals.rows - totals.rejects,
      rejects: totals.rejects,
      chunks: totals.chunks,
      skippedChunks,
      processedRows,
      recomputedRows,
      alreadyFinished,
      seconds: Math.round(seconds * 1000) / 1000,
      rowsPerSecond: rate(processedRows, seconds),
      rejectsPath: written?.path ?? null,
    };
  } catch (e) {
    // A job whose chunks are all committed is done, whatever fails after (e.g. the rejects file).
    if (jobId !== undefined && !committed) await markFailed(opts.sql, jobId, e, now());
    throw e;
  } finally {
    if (progressStarted) progress.stop();
    await predictor?.close();
    await input.close();
  }
}

/** Distributed mode: waits until every chunk is committed by some worker. */
async function waitForWorkers(
  sql: SqlClient,
  jobId: string,
  totalChunks: number,
  pollMs: number,
  progress: Progress,
  startedAt: number,
  priorRows: number,
): Promise<void> {
  progress.stop();
  progress.start('waiting for workers (chunks)', totalChunks);
  for (;;) {
    const t = await chunkTotals(sql, jobId);
    const seconds = (performance.now() - startedAt) / 1000;
    progress.tick(
      t.chunks,
      `${t.rows.toLocaleString('en-US')} rows, ${rate(t.rows - priorRows, seconds).toLocaleString('en-US')} rows/s`,
    );
    if (t.chunks >= totalChunks) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Best effort: the error that stopped the job goes on its row (a job that cannot be found is left alone). */
async function markFailed(sql: SqlClient, jobId: string, e: unknown, at: string): Promise<void> {
  const err = toFerryError(e);
  if (err.code === ErrorCode.BATCH_JOB_MISMATCH) return; // not this run's job to fail
  try {
    await finishJob(sql, jobId, 'failed', at, `${err.code}: ${err.message}`);
  } catch {
    // the database may be what failed; the job stays `running` and resumes on the next run
  }
}
