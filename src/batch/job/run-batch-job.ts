import { hostname } from 'node:os';
import { ErrorCode, FerryError, toFerryError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hash.js';
import { type Progress, silentProgress } from '../../core/progress.js';
import { isTextModel, type Model } from '../../model/model.js';
import type { SqlClient } from '../../ports/sql.js';
import { loadModel } from '../../registry/load-model.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import { entityIdProblem, type PredictionStore } from '../prediction-store.js';
import { chunkInput, type InputChunk } from './chunk-input.js';
import {
  type ChunkMode,
  countDoneChunk,
  type DispatchedChunk,
  dispatchedMode,
  emptyTally,
  localMode,
  type RunTally,
  rate,
} from './chunk-modes.js';
import { openBatchInput } from './inputs/open-input.js';
import { isDefaultMapping, mappedColumns, type RowMapping, rowMappingFor } from './inputs/row-mapping.js';
import {
  type BatchJobRecord,
  type ChunkDone,
  type ChunkTotals,
  chunkTotals,
  doneChunks,
  ensureJobTables,
  finishJob,
  setJobTotals,
  startJob,
} from './job-tables.js';
import { type Predictor, threadPredictor } from './predictor.js';
import type { ChunkContext, ChunkJob } from './process-chunk.js';
import { writeRejectsFile } from './rejects-file.js';
import { type BatchInput, type InputSpec, isReject } from './types.js';

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
  /**
   * The model's inputs to read from which columns (`--input-map`), by input name; an input not
   * named reads the column of its own name (the text classifier: title and description).
   */
  inputMap?: Readonly<Record<string, string>>;
  /**
   * Opens the model of a reference; default `loadModel(registry, ref)` (any kind). The job closes
   * the model it opened when it ends.
   */
  openModel?: (ref: string) => Promise<LoadedModel>;
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
   * Text classifier only: predict in a worker thread, overlapping with reading and writing on this
   * one (what the CLI does); default false: in this thread. Other kinds always run in this thread.
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

export type { DispatchedChunk } from './chunk-modes.js';

/** A model opened for a job, and the version it is (its name and number identify the job and the rows). */
export interface LoadedModel {
  version: { name: string; version: number };
  model: Model;
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

/**
 * `name-vN-<16 hex>` from the model version, the input's identity and, when it is not the default,
 * the input mapping: the same command, the same job (and the ids of jobs with the default mapping
 * are what they were before --input-map).
 */
function batchJobId(model: string, version: number, inputIdentity: string, mapping?: RowMapping): string {
  const parts: unknown[] = [model, version, inputIdentity];
  if (mapping !== undefined) parts.push(mappedColumns(mapping));
  return `${model}-v${version}-${sha256Hex(JSON.stringify(parts)).slice(0, 16)}`;
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
  const maxErrors = checkOptions(opts);

  // Everything that can be refused is refused before anything is written.
  const { version, model } = await (opts.openModel ?? ((ref) => loadModel(opts.registry, ref)))(opts.model);
  let mapping: RowMapping;
  let input: BatchInput;
  try {
    mapping = rowMappingFor(model, opts.inputMap);
    input = await openBatchInput({ ...opts.input, mapping });
  } catch (e) {
    await model.close?.();
    throw e;
  }
  let jobId: string | undefined;
  /** Once the job is done (or was before this run), nothing may mark it failed. */
  let committed = false;
  let progressStarted = false;
  let predictor: Predictor | undefined;
  try {
    jobId =
      opts.jobId ??
      batchJobId(
        version.name,
        version.version,
        input.identity,
        isDefaultMapping(mapping, model) ? undefined : mapping,
      );
    const id = jobId;
    const job = await startRun(opts, id, version, input, now());
    const alreadyFinished = job.status === 'done';
    committed = alreadyFinished;
    const run: JobRun = {
      sql: opts.sql,
      id,
      model: `${version.name}/${version.version}`,
      startedAt,
      rejectsPath: typeof opts.rejectsPath === 'function' ? opts.rejectsPath(id) : (opts.rejectsPath ?? null),
    };
    if (alreadyFinished && !opts.recomputeLive) {
      // Nothing to do: the input is not even read again, and --max-errors has nothing to judge.
      const totals = await chunkTotals(opts.sql, id);
      return await summarise(run, totals, { ...emptyTally(), skippedChunks: totals.chunks }, true);
    }
    const done = await doneChunks(opts.sql, id);
    // The worker thread holds a copy of the text classifier; other kinds run here (see predictor.ts).
    if (opts.predictInThread && isTextModel(model)) predictor = await threadPredictor(model.toArtifact());
    const ctx: ChunkContext = {
      sql: opts.sql,
      store: opts.store,
      model,
      ...(predictor ? { predictor } : {}),
      worker: opts.worker ?? `${hostname()}:${process.pid}`,
      clock,
    };
    const chunkJob: ChunkJob = { jobId: id, model: version.name, version: version.version };
    const tally = emptyTally();
    const tick = startProgress(progress, input, tally, startedAt);
    progressStarted = true;
    const mode = opts.dispatch
      ? dispatchedMode(
          { dispatch: opts.dispatch, sql: opts.sql, pollMs: opts.pollMs ?? 500, progress, startedAt, done },
          chunkJob,
          tally,
          tick,
        )
      : localMode(ctx, chunkJob, tally, tick);

    const stopped = await readChunks({
      input,
      chunkSize: job.chunkSize,
      done,
      mode,
      skipDone: async (prior, chunk) => {
        await countDoneChunk(ctx, chunkJob, prior, chunk, opts.recomputeLive === true, tally);
        tick();
      },
      maxErrors: alreadyFinished ? undefined : maxErrors,
    });
    if (stopped) throw await tooManyErrors(run, tally, maxErrors);
    await setJobTotals(opts.sql, id, tally.rows, tally.chunks, now());
    await mode.complete();
    const totals = await chunkTotals(opts.sql, id);
    await finishJob(opts.sql, id, 'done', now());
    committed = true;
    return await summarise(run, totals, tally, alreadyFinished);
  } catch (e) {
    // A job whose chunks are all committed is done, whatever fails after (e.g. the rejects file).
    if (jobId !== undefined && !committed) await markFailed(opts.sql, jobId, e, now());
    throw e;
  } finally {
    if (progressStarted) progress.stop();
    await predictor?.close();
    await input.close();
    await model.close?.();
  }
}

/** What the steps after the job's start share. */
interface JobRun {
  sql: SqlClient;
  id: string;
  /** `name/version`. */
  model: string;
  /** performance.now() when the run started. */
  startedAt: number;
  rejectsPath: string | null;
}

/** Creates the tables if needed and starts the job's row (or finds the job of an earlier run). */
async function startRun(
  opts: RunBatchJobOptions,
  jobId: string,
  version: { name: string; version: number },
  input: BatchInput,
  now: string,
): Promise<BatchJobRecord> {
  await ensureJobTables(opts.sql);
  await opts.store.init();
  return startJob(opts.sql, {
    jobId,
    model: version.name,
    version: version.version,
    input: input.description,
    inputSha256: input.identity,
    chunkSize: opts.chunkSize,
    defaultChunkSize: DEFAULT_CHUNK_SIZE,
    totalRows: input.totalRecords,
    now,
  });
}

/** Validates the options that need no I/O; returns maxErrors with its default. */
function checkOptions(opts: RunBatchJobOptions): number {
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
  return maxErrors;
}

/** Starts the progress bar (KiB read, or rows); returns the function that updates it from the tally. */
function startProgress(
  progress: Progress,
  input: BatchInput,
  tally: RunTally,
  startedAt: number,
): () => void {
  const first = input.progress();
  const inKib = first.unit === 'bytes';
  const scale = (n: number) => (inKib ? Math.ceil(n / 1024) : n);
  progress.start(`batch ${inKib ? '(KiB read)' : '(rows)'}`, scale(first.total ?? 0));
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const n = (x: number) => x.toLocaleString('en-US');
    progress.tick(
      scale(input.progress().done),
      `${n(tally.rows)} rows, ${n(tally.rejects)} rejects, ${n(rate(tally.processedRows, seconds))} rows/s`,
    );
  };
}

/**
 * The shared core of every mode: reads the input chunk by chunk, counts the chunks done before this
 * run (`skipDone`), hands the others to the mode, and stops reading once the rejects exceed
 * `maxErrors` (undefined: no limit). Reject counts are known when a chunk is read, so the stop falls
 * on the same chunk whatever finishes first. Returns true when it stopped there.
 */
async function readChunks(p: {
  input: BatchInput;
  chunkSize: number;
  done: ReadonlyMap<number, ChunkDone>;
  mode: ChunkMode;
  skipDone: (prior: ChunkDone, chunk: InputChunk) => Promise<void>;
  maxErrors: number | undefined;
}): Promise<boolean> {
  let countedRejects = 0;
  let stopped = false;
  try {
    for await (const chunk of chunkInput(p.input, p.chunkSize)) {
      const prior = p.done.get(chunk.index);
      const chunkRejects = prior?.rejects ?? chunk.records.filter(isReject).length;
      if (prior !== undefined) await p.skipDone(prior, chunk);
      else await p.mode.take(chunk, chunkRejects);
      countedRejects += chunkRejects;
      if (p.maxErrors !== undefined && countedRejects > p.maxErrors) {
        stopped = true;
        break;
      }
    }
    await p.mode.drain();
  } finally {
    // On an error, let the chunk still in flight finish (or fail) before the caller closes things.
    await p.mode.settle();
  }
  return stopped;
}

/** FERRY_BATCH_TOO_MANY_ERRORS, once the rejects so far are written to the rejects file. */
async function tooManyErrors(run: JobRun, tally: RunTally, maxErrors: number): Promise<FerryError> {
  const { id } = run;
  const written = run.rejectsPath === null ? null : await writeRejectsFile(run.sql, id, run.rejectsPath);
  return new FerryError(
    ErrorCode.BATCH_TOO_MANY_ERRORS,
    `batch job ${id}: ${tally.rejects} rejected records exceed the limit of ${maxErrors} (--max-errors); ` +
      `stopped after ${tally.chunks} chunks, whose predictions are kept` +
      (written ? `; rejects in ${written.path}` : ''),
    {
      details: {
        jobId: id,
        rejects: tally.rejects,
        maxErrors,
        chunks: tally.chunks,
        rejectsPath: written?.path ?? null,
      },
    },
  );
}

/** Writes the rejects file (when asked) and the summary: the job's totals, this run's counts. */
async function summarise(
  run: JobRun,
  totals: ChunkTotals,
  tally: RunTally,
  alreadyFinished: boolean,
): Promise<BatchJobSummary> {
  const written = run.rejectsPath === null ? null : await writeRejectsFile(run.sql, run.id, run.rejectsPath);
  const seconds = (performance.now() - run.startedAt) / 1000;
  return {
    jobId: run.id,
    model: run.model,
    rows: totals.rows,
    predicted: totals.rows - totals.rejects,
    rejects: totals.rejects,
    chunks: totals.chunks,
    skippedChunks: tally.skippedChunks,
    processedRows: tally.processedRows,
    recomputedRows: tally.recomputedRows,
    alreadyFinished,
    seconds: Math.round(seconds * 1000) / 1000,
    rowsPerSecond: rate(tally.processedRows, seconds),
    rejectsPath: written?.path ?? null,
  };
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
