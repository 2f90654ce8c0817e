import { createHash } from 'node:crypto';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { generateInputs } from '../../model/generate-inputs.js';
import { type OpenContext, openModel } from '../../model/kinds/index.js';
import type { Model, TextInput } from '../../model/model.js';
import { isBatchable, type NamedTensors } from '../../model/tensor.js';
import type { LabeledProject } from '../../train/dataset.js';
import type { EvalSet, MeasureCandidate, MeasureReport, VariantMeasurement } from '../optimize-types.js';
import { heldBytes, median, nowMs, percentile, settleGc } from './measure-stats.js';
import { agreementWith, scoreF1 } from './score.js';
import { hasTextContract, readTextOutputs, type TextPredictions, textInputs } from './text-contract.js';

export interface MeasureOptions {
  /** Where kinds may unpack files (KindContext.cacheDir). */
  cacheDir: string;
  /** Longest one call into a model may take (KindContext.callTimeoutMs). */
  callTimeoutMs: number;
  /** Opens timed for the load time (median); default 5. */
  loadRuns?: number;
  /** Of those opens, how many are also measured for memory (median); default 3. */
  memoryRuns?: number;
  /** Calls of one row timed for the latency percentiles; default 2000. */
  latencyCalls?: number;
  /** Untimed calls first, so that lazy work (JIT, caches) is not counted; default 50. */
  warmupCalls?: number;
  /** Rows per call for the throughput and the scoring; default 256. */
  batchSize?: number;
  /** Rows pushed through for the throughput; default 16384. */
  throughputRows?: number;
  /** Wall time after which the latency and throughput loops stop early, per model; default 10 s each. */
  timeBudgetMs?: number;
  /** Seed of the generated inputs for a model without the text contract; default 0. */
  seed?: number;
  onProgress?: (step: string, done: number, total: number) => void;
}

type Settings = Required<Omit<MeasureOptions, 'onProgress'>> & Pick<MeasureOptions, 'onProgress'>;

const DEFAULTS = {
  loadRuns: 5,
  memoryRuns: 3,
  latencyCalls: 2000,
  warmupCalls: 50,
  batchSize: 256,
  throughputRows: 16_384,
  timeBudgetMs: 10_000,
  seed: 0,
} as const;

function settingsOf(opts: MeasureOptions): Settings {
  const s = { ...DEFAULTS, ...opts };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const v = s[key];
    const ok = Number.isSafeInteger(v) && (v > 0 || (v === 0 && (key === 'warmupCalls' || key === 'seed')));
    if (!ok)
      throw new FerryError(ErrorCode.OPTIMIZE_INVALID, `measure option ${key} must be a positive integer`);
  }
  if (s.memoryRuns > s.loadRuns) s.memoryRuns = s.loadRuns;
  return s;
}

/** A candidate's figures, and its predictions on the evaluation rows for the agreement (null without the text contract). */
interface Measured {
  row: VariantMeasurement;
  predictions: TextPredictions | null;
  classes: readonly string[];
}

/**
 * The report's measurements: every candidate, the parent first, opened and run the same way on the
 * same rows. Figures are taken, not estimated; a figure that cannot be taken for a model (F1 and
 * agreement without the text contract) is null, never a guess.
 *
 * - load: median wall time of `openModel` over `loadRuns` opens of the stored bytes, after one
 *   untimed open (so the first model measured does not pay for the process's cold start);
 * - memory: median growth of `heapUsed + arrayBuffers` (process.memoryUsage) across one open, read
 *   after forced full GCs before and after (the model still held), so it is what the opened model
 *   retains in JavaScript. Memory a native library allocates outside ArrayBuffers (an ONNX session)
 *   and a remote server's memory are not included; noise below zero is reported as 0;
 * - latency: one row per `infer` call after `warmupCalls` untimed calls, p50 and p99 (nearest rank);
 * - throughput: rows per second of `infer` time with `batchSize` rows per call (1 when the
 *   signature is not batchable), after one untimed batch;
 * - both taken in rounds across all candidates (timeInterleaved), so no model is favoured by its
 *   place in the order;
 * - F1: train/metrics.ts on the evaluation rows; agreement: against the parent's answers.
 *
 * A model without the text contract is timed on inputs generated from its signature (said in `note`).
 */
export function createMeasureReport(opts: MeasureOptions): MeasureReport {
  const s = settingsOf(opts);
  return async (parent, variants, evalSet) => {
    if (evalSet.rows.length === 0) {
      throw new FerryError(ErrorCode.OPTIMIZE_INVALID, `the evaluation set ${evalSet.source} has no rows`);
    }
    const all = [parent, ...variants];
    const opened: Opened[] = [];
    try {
      for (const [i, candidate] of all.entries()) {
        s.onProgress?.(`loading ${candidate.label}`, i, all.length);
        opened.push(await openCandidate(candidate, evalSet, s));
      }
      await timeInterleaved(opened, s);
    } catch (e) {
      await Promise.all(opened.map((o) => o.model.close?.()));
      throw e;
    }
    const measured: Measured[] = [];
    for (const [i, o] of opened.entries()) {
      s.onProgress?.(`scoring ${o.candidate.label}`, i, all.length);
      measured.push(await finish(o, evalSet, s));
    }
    s.onProgress?.('measured', all.length, all.length);
    const [base, ...rest] = measured;
    const agreement = (m: Measured): VariantMeasurement['agreement'] =>
      base!.predictions !== null && m.predictions !== null
        ? agreementWith(base!.predictions, base!.classes, m.predictions)
        : null;
    return {
      evalSet: { source: evalSet.source, rows: evalSet.rows.length, seenInTraining: evalSet.seenInTraining },
      parent: base!.row,
      variants: rest.map((m) => ({ ...m.row, agreement: agreement(m) })),
    };
  };
}

/** A candidate opened for timing: its load figures, the model, and its inputs. */
interface Opened {
  candidate: MeasureCandidate;
  loadMs: number;
  memoryBytes: number;
  model: Model;
  text: boolean;
  inputs: InputsMaker;
  latencies: number[];
  rows: number;
  inferMs: number;
}

async function openCandidate(c: MeasureCandidate, evalSet: EvalSet, s: Settings): Promise<Opened> {
  const ctx: OpenContext = {
    cacheDir: s.cacheDir,
    callTimeoutMs: s.callTimeoutMs,
    signature: c.signature ?? undefined,
    sha256: createHash('sha256').update(c.artifact).digest('hex'),
  };
  const { loadMs, memoryBytes } = await measureLoad(c, ctx, s);
  const model = await openModel(c.kind, c.artifact, ctx);
  const text = hasTextContract(model);
  const inputs = inputsMaker(model, text, evalSet.rows, s.seed);
  return { candidate: c, loadMs, memoryBytes, model, text, inputs, latencies: [], rows: 0, inferMs: 0 };
}

/** Rounds of the latency and throughput loops: each candidate gets a share of every round. */
const TIMING_ROUNDS = 4;

/**
 * Latency and throughput are taken in rounds, each candidate a quarter of its calls per round, the
 * order rotated from round to round. Timing one model after the other favoured whichever came
 * later (the JIT had warmed the shared code on the earlier ones, and the machine's load drifts):
 * the parent, measured first, looked up to 1.5x slower than an identical float16 copy of it.
 */
async function timeInterleaved(opened: readonly Opened[], s: Settings): Promise<void> {
  for (const o of opened) for (let i = 0; i < s.warmupCalls; i++) await o.model.infer(o.inputs(1, i));
  const calls = Math.max(1, Math.ceil(s.latencyCalls / TIMING_ROUNDS));
  const rows = Math.max(1, Math.ceil(s.throughputRows / TIMING_ROUNDS));
  const budget = s.timeBudgetMs / TIMING_ROUNDS;
  for (let round = 0; round < TIMING_ROUNDS; round++) {
    for (let k = 0; k < opened.length; k++) {
      const o = opened[(k + round) % opened.length]!;
      o.latencies.push(...(await timeLatency(o.model, o.inputs, calls, budget, round * calls)));
      const t = await timeThroughput(o.model, o.inputs, s, rows, budget, o.rows);
      o.rows += t.rows;
      o.inferMs += t.inferMs;
    }
  }
}

async function finish(o: Opened, evalSet: EvalSet, s: Settings): Promise<Measured> {
  const { candidate: c, model, text } = o;
  try {
    const predictions = text ? await predictAll(model, evalSet.rows, s) : null;
    const f1 = predictions
      ? scoreF1(
          evalSet.rows.map((r) => r.tag),
          predictions,
          model.classes,
        )
      : null;
    const row: VariantMeasurement = {
      label: c.label,
      ref: c.ref,
      kind: c.kind,
      artifactBytes: c.artifact.byteLength,
      memoryBytes: o.memoryBytes,
      loadMs: o.loadMs,
      latencyP50Ms: percentile(o.latencies, 50),
      latencyP99Ms: percentile(o.latencies, 99),
      predictionsPerSecond: o.rows / (Math.max(o.inferMs, 1e-6) / 1000),
      weightedF1: f1?.weightedF1 ?? null,
      perClassF1: f1?.perClassF1 ?? null,
      agreement: null,
      ...(text
        ? {}
        : {
            note: 'no text contract (title, description -> label/probabilities): timed on inputs generated from the signature; F1 and agreement not measured',
          }),
    };
    return { row, predictions, classes: model.classes };
  } finally {
    await model.close?.();
  }
}

async function measureLoad(
  c: MeasureCandidate,
  ctx: OpenContext,
  s: Settings,
): Promise<{ loadMs: number; memoryBytes: number }> {
  const times: number[] = [];
  const growth: number[] = [];
  // Outside the loop and cleared after each open: an async function keeps a loop's `const` alive in
  // its saved registers until the next assignment, so the previous model would still be held when
  // the next reading starts (and be freed inside it, cancelling the growth).
  let model: Model | undefined;
  // One untimed open first: the first model measured would otherwise pay for the process's cold
  // start (modules, JIT) and look slower than its variants for no reason of its own.
  model = await openModel(c.kind, c.artifact, ctx);
  await model.close?.();
  model = undefined;
  for (let i = 0; i < s.loadRuns; i++) {
    const withMemory = i < s.memoryRuns;
    if (withMemory) await settleGc();
    const before = heldBytes();
    const t0 = nowMs();
    model = await openModel(c.kind, c.artifact, ctx);
    times.push(nowMs() - t0);
    if (withMemory) {
      await settleGc();
      growth.push(heldBytes() - before);
    }
    await model.close?.();
    model = undefined;
  }
  return { loadMs: median(times), memoryBytes: Math.max(0, median(growth)) };
}

/** Inputs of `n` rows starting at row `offset` of the evaluation rows (cycled), or generated ones. */
type InputsMaker = (n: number, offset: number) => NamedTensors;

function inputsMaker(
  model: Model,
  text: boolean,
  rows: readonly LabeledProject[],
  seed: number,
): InputsMaker {
  if (!text) return (n, offset) => generateInputs(model.signature, seed + offset, n);
  return (n, offset) => {
    const picked: TextInput[] = [];
    for (let i = 0; i < n; i++) picked.push(rows[(offset + i) % rows.length]!);
    return textInputs(model.signature, picked);
  };
}

/** `calls` one-row calls (fewer when `budgetMs` runs out), each timed apart from building its request. */
async function timeLatency(
  model: Model,
  inputs: InputsMaker,
  calls: number,
  budgetMs: number,
  offset: number,
): Promise<number[]> {
  const times: number[] = [];
  const start = nowMs();
  for (let i = 0; i < calls && (i === 0 || nowMs() - start < budgetMs); i++) {
    // Built before the clock starts: the figure is the model's, not the report's tensor building.
    const request = inputs(1, offset + i);
    const t0 = nowMs();
    await model.infer(request);
    times.push(nowMs() - t0);
  }
  return times;
}

function rowsPerCall(model: Model, s: Settings): number {
  return isBatchable(model.signature) ? s.batchSize : 1;
}

async function timeThroughput(
  model: Model,
  inputs: InputsMaker,
  s: Settings,
  target: number,
  budgetMs: number,
  offset: number,
): Promise<{ rows: number; inferMs: number }> {
  const batch = rowsPerCall(model, s);
  // One untimed batch first (the warm-up calls were one row each).
  if (offset === 0) await model.infer(inputs(batch, 0));
  let rows = 0;
  let inferMs = 0;
  const start = nowMs();
  while (rows < target && (rows === 0 || nowMs() - start < budgetMs)) {
    const request = inputs(batch, offset + rows);
    const t0 = nowMs();
    await model.infer(request);
    inferMs += nowMs() - t0;
    rows += batch;
  }
  return { rows, inferMs };
}

async function predictAll(
  model: Model,
  rows: readonly LabeledProject[],
  s: Settings,
): Promise<TextPredictions> {
  const batch = rowsPerCall(model, s);
  const labels: string[] = [];
  const probabilities: Record<string, number>[] = [];
  let withProbabilities = true;
  for (let i = 0; i < rows.length; i += batch) {
    const chunk = rows.slice(i, i + batch);
    const out = readTextOutputs(model, await model.infer(textInputs(model.signature, chunk)), chunk.length);
    labels.push(...out.labels);
    if (out.probabilities === null) withProbabilities = false;
    else probabilities.push(...out.probabilities);
  }
  return { labels, probabilities: withProbabilities ? probabilities : null };
}
