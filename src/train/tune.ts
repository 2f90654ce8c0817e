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

/** What `ferry train` searches by default (about 20 s here); word-only features lost every CV run. */
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
  /** Row indices of each fold's test part, and the self-contained job that fits the fold. */
  folds: { test: number[]; job: FoldJob }[];
}

type TuneOptions = { folds: number; seed: number; progress?: Progress };

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
  const folds = stratifiedKFold(labels, opts.folds, opts.seed).map((fold) => ({
    test: fold.test,
    job: {
      train: fold.train.map((i) => rows[i]!),
      trainLabels: fold.train.map((i) => labels[i]!),
      test: fold.test.map((i) => rows[i]!),
      classes,
      base,
      featureSets: grid.featureSets.map((fs) => ({ wordNgrams: fs.wordNgrams, charNgrams: fs.charNgrams })),
      classWeights: [...grid.classWeight],
      C: Cs,
    },
  }));
  return { classes, candidates, folds };
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
  const results = plan.folds.map(({ job }, f) =>
    runFold(job, (note) => {
      done++;
      progress.tick(done, `fold ${f + 1}/${plan.folds.length} ${note}`);
    }),
  );
  progress.stop();
  return chooseParams(plan, results, labels, base, grid);
}

/**
 * `tune` with the folds spread over `threads` worker threads (default: one per core). Each fold's
 * fits are independent and run in the same order as in `tune`, and the out-of-fold probabilities
 * are placed by row, so the result is bit-identical to `tune`'s.
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
  progress.start('cross-validation', plan.folds.length);
  const results = await runFoldsInWorkers(
    plan.folds.map((f) => f.job),
    opts.threads ?? foldThreads(plan.folds.length),
    (f) => progress.tick(++done, `fold ${f + 1}/${plan.folds.length}`),
  );
  progress.stop();
  return chooseParams(plan, results, labels, base, grid);
}

/** Scores every candidate on the pooled out-of-fold probabilities and picks the winner. */
function chooseParams(
  plan: TunePlan,
  results: readonly FoldResult[],
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
      const probs = results[f]!.probs[ci]!;
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
