import type { Progress } from '../core/progress.js';
import { silentProgress } from '../core/progress.js';
import type { TextInput } from '../model/model.js';
import type { TextClassifierParams } from '../model/text-classifier.js';
import { type FoldJob, type FoldResult, runFold } from './cv-fold.js';
import { foldThreads, runFoldsInWorkers } from './cv-pool.js';
import { weightedMetrics } from './metrics.js';
import { stratifiedKFold } from './split.js';

export interface FeatureSet {
  name: string;
  wordNgrams: [number, number];
  charNgrams: [number, number];
}

export interface TuneGrid {
  featureSets: FeatureSet[];
  /** Tried in ascending order, each fit warm-started from the previous one. */
  C: number[];
  classWeight: TextClassifierParams['classWeight'][];
  otherThresholds: number[];
}

const WORD: FeatureSet = { name: 'word 1-2', wordNgrams: [1, 2], charNgrams: [0, 0] };
const WORD_CHAR: FeatureSet = { name: 'word 1-2 + char 3-5', wordNgrams: [1, 2], charNgrams: [3, 5] };

/** What `ferry train` searches by default (~8 s on 2 cores); word-only features lost every CV run. */
export const DEFAULT_GRID: TuneGrid = {
  featureSets: [WORD_CHAR],
  C: [3, 10, 30, 100],
  classWeight: ['none', 'balanced'],
  otherThresholds: [0, 0.3, 0.4, 0.5, 0.6],
};

/** `--grid full`: also word-only features and a wider range of C. */
const FULL_GRID: TuneGrid = {
  featureSets: [WORD, WORD_CHAR],
  C: [1, 3, 10, 30, 100, 300],
  classWeight: ['none', 'balanced'],
  otherThresholds: [0, 0.3, 0.4, 0.5, 0.6],
};

/** `--grid quick`: one candidate per fold, for smoke runs and tests. */
export const QUICK_GRID: TuneGrid = {
  featureSets: [WORD_CHAR],
  C: [30],
  classWeight: ['balanced'],
  otherThresholds: [0, 0.4],
};

export const GRIDS: Record<string, TuneGrid> = { default: DEFAULT_GRID, full: FULL_GRID, quick: QUICK_GRID };

export interface Trial {
  features: string;
  C: number;
  classWeight: TextClassifierParams['classWeight'];
  cvF1: number;
}

export interface TuneResult {
  params: TextClassifierParams;
  cvF1: number;
  trials: Trial[];
  folds: number;
}

interface Candidate {
  fs: FeatureSet;
  cw: TextClassifierParams['classWeight'];
  C: number;
}

interface TunePlan {
  classes: string[];
  candidates: Candidate[];
  /** Row indices of each fold's test part. */
  folds: { test: number[] }[];
  /**
   * The self-contained jobs: one per fold, feature set and class weight (a warm-started chain over
   * C), so that the work spreads evenly over the threads; `candidates` maps each of a job's results
   * to its index in `candidates`.
   */
  jobs: { fold: number; job: FoldJob; candidates: number[] }[];
}

type TuneOptions = { folds: number; seed: number; progress?: Progress; gradientTolerance?: number };

/** The folds and candidates; candidates in the order `runFold` returns them (see FoldJob). */
function planTune(
  rows: readonly TextInput[],
  labels: readonly string[],
  base: TextClassifierParams,
  grid: TuneGrid,
  opts: TuneOptions,
): TunePlan {
  const classes = [...new Set(labels)].sort();
  const Cs = [...grid.C].sort((a, b) => a - b);
  const candidates: Candidate[] = [];
  for (const fs of grid.featureSets)
    for (const cw of grid.classWeight) for (const C of Cs) candidates.push({ fs, cw, C });
  const splits = stratifiedKFold(labels, opts.folds, opts.seed);
  const jobs: TunePlan['jobs'] = [];
  splits.forEach((fold, f) => {
    const train = fold.train.map((i) => rows[i]!);
    const trainLabels = fold.train.map((i) => labels[i]!);
    const test = fold.test.map((i) => rows[i]!);
    grid.featureSets.forEach((fs, fi) => {
      grid.classWeight.forEach((cw, wi) => {
        const first = (fi * grid.classWeight.length + wi) * Cs.length;
        jobs.push({
          fold: f,
          candidates: Cs.map((_, k) => first + k),
          job: {
            train,
            trainLabels,
            test,
            classes,
            base,
            featureSets: [{ wordNgrams: fs.wordNgrams, charNgrams: fs.charNgrams }],
            classWeights: [cw],
            C: Cs,
            ...(opts.gradientTolerance ? { gradientTolerance: opts.gradientTolerance } : {}),
          },
        });
      });
    });
  });
  return { classes, candidates, folds: splits.map((fold) => ({ test: fold.test })), jobs };
}

/** Per fold, per candidate, the test rows' probabilities: the jobs' results put back in place. */
function byFold(plan: TunePlan, results: readonly FoldResult[]): Float64Array[][] {
  const out = plan.folds.map(() => new Array<Float64Array>(plan.candidates.length));
  plan.jobs.forEach(({ fold, candidates }, j) => {
    candidates.forEach((ci, k) => {
      out[fold]![ci] = results[j]!.probs[k]!;
    });
  });
  return out;
}

/**
 * Chooses hyperparameters by stratified k-fold cross-validation on the rows given (the training
 * part of dataset.csv; never the holdout). Scores pooled out-of-fold predictions by weighted F1;
 * ties go to the earlier (simpler, more regularised) candidate. The "other" threshold is then
 * chosen on the winner's out-of-fold probabilities. Runs every fold in this thread; `tuneInWorkers`
 * gives the same result with the folds on worker threads.
 */
export function tune(
  rows: readonly TextInput[],
  labels: readonly string[],
  base: TextClassifierParams,
  grid: TuneGrid,
  opts: TuneOptions,
): TuneResult {
  const progress = opts.progress ?? silentProgress;
  const plan = planTune(rows, labels, base, grid, opts);
  const total = plan.folds.length * plan.candidates.length;
  let done = 0;
  progress.start('cross-validation', total);
  const results = plan.jobs.map(({ job, fold }) =>
    runFold(job, (note) => {
      done++;
      progress.tick(done, `fold ${fold + 1}/${plan.folds.length} ${note}`);
    }),
  );
  progress.stop();
  return chooseParams(plan, byFold(plan, results), labels, base, grid);
}

/**
 * `tune` with its jobs (one per fold, feature set and class weight) spread over `threads` worker
 * threads (default: one per core). Each job's fits are independent and run in the same order as in
 * `tune`, and the out-of-fold probabilities are placed by row, so the result is bit-identical to
 * `tune`'s. Five folds as five jobs left one of two threads idle for a fifth of the time.
 */
export async function tuneInWorkers(
  rows: readonly TextInput[],
  labels: readonly string[],
  base: TextClassifierParams,
  grid: TuneGrid,
  opts: TuneOptions & { threads?: number },
): Promise<TuneResult> {
  const progress = opts.progress ?? silentProgress;
  const plan = planTune(rows, labels, base, grid, opts);
  let done = 0;
  const perJob = plan.jobs[0]?.candidates.length ?? 0;
  progress.start('cross-validation', plan.jobs.length * perJob);
  const results = await runFoldsInWorkers(
    plan.jobs.map((j) => j.job),
    opts.threads ?? foldThreads(plan.jobs.length),
    (j) => {
      done += perJob;
      progress.tick(done, `fold ${plan.jobs[j]!.fold + 1}/${plan.folds.length}`);
    },
  );
  progress.stop();
  return chooseParams(plan, byFold(plan, results), labels, base, grid);
}

/** Scores every candidate on the pooled out-of-fold probabilities and picks the winner. */
function chooseParams(
  plan: TunePlan,
  probsByFold: readonly Float64Array[][],
  labels: readonly string[],
  base: TextClassifierParams,
  grid: TuneGrid,
): TuneResult {
  const { classes, candidates } = plan;
  const K = classes.length;
  // Out-of-fold probabilities per candidate, row-major [row][class].
  const oof = candidates.map(() => new Float64Array(labels.length * K));
  plan.folds.forEach((fold, f) => {
    candidates.forEach((_, ci) => {
      const probs = probsByFold[f]![ci]!;
      fold.test.forEach((row, i) => {
        oof[ci]!.set(probs.subarray(i * K, (i + 1) * K), row * K);
      });
    });
  });

  const argmaxLabels = (probs: Float64Array, threshold: number, otherLabel: string): string[] =>
    labels.map((_, r) => {
      let best = 0;
      for (let c = 1; c < classes.length; c++)
        if (probs[r * classes.length + c]! > probs[r * classes.length + best]!) best = c;
      return probs[r * classes.length + best]! < threshold && classes.includes(otherLabel)
        ? otherLabel
        : classes[best]!;
    });
  const trials: Trial[] = candidates.map((cand, ci) => ({
    features: cand.fs.name,
    C: cand.C,
    classWeight: cand.cw,
    cvF1: weightedMetrics(labels, argmaxLabels(oof[ci]!, 0, base.otherLabel), classes).f1,
  }));
  let bestIdx = 0;
  trials.forEach((t, i) => {
    if (t.cvF1 > trials[bestIdx]!.cvF1 + 1e-12) bestIdx = i;
  });
  const best = candidates[bestIdx]!;
  let bestThreshold = 0;
  let bestF1 = -1;
  for (const t of [...grid.otherThresholds].sort((a, b) => a - b)) {
    const f1 = weightedMetrics(labels, argmaxLabels(oof[bestIdx]!, t, base.otherLabel), classes).f1;
    if (f1 > bestF1 + 1e-12) {
      bestF1 = f1;
      bestThreshold = t;
    }
  }
  return {
    params: {
      ...base,
      wordNgrams: best.fs.wordNgrams,
      charNgrams: best.fs.charNgrams,
      C: best.C,
      classWeight: best.cw,
      otherThreshold: bestThreshold,
    },
    cvF1: bestF1,
    trials,
    folds: plan.folds.length,
  };
}
