import type { Progress } from '../core/progress.js';
import { silentProgress } from '../core/progress.js';
import type { TextInput } from '../model/model.js';
import { featurize, TextClassifier, type TextClassifierParams } from '../model/text-classifier.js';
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

/**
 * Chooses hyperparameters by stratified k-fold cross-validation on the rows given (the training
 * part of dataset.csv; never the holdout). Scores pooled out-of-fold predictions by weighted F1;
 * ties go to the earlier (simpler, more regularised) candidate. The "other" threshold is then
 * chosen on the winner's out-of-fold probabilities.
 */
export function tune(
  rows: readonly TextInput[],
  labels: readonly string[],
  base: TextClassifierParams,
  grid: TuneGrid,
  opts: { folds: number; seed: number; progress?: Progress },
): TuneResult {
  const progress = opts.progress ?? silentProgress;
  const classes = [...new Set(labels)].sort();
  const folds = stratifiedKFold(labels, opts.folds, opts.seed);
  const candidates: { fs: FeatureSet; cw: TextClassifierParams['classWeight']; C: number }[] = [];
  for (const fs of grid.featureSets)
    for (const cw of grid.classWeight)
      for (const C of [...grid.C].sort((a, b) => a - b)) candidates.push({ fs, cw, C });
  // Out-of-fold probabilities per candidate, row-major [row][class].
  const oof = candidates.map(() => new Float64Array(labels.length * classes.length));
  const total = folds.length * candidates.length;
  let done = 0;
  progress.start('cross-validation', total);
  folds.forEach((fold, f) => {
    for (const fs of grid.featureSets) {
      const params = { ...base, wordNgrams: fs.wordNgrams, charNgrams: fs.charNgrams };
      const feats = featurize(
        fold.train.map((i) => rows[i]!),
        fold.train.map((i) => labels[i]!),
        params,
        classes,
      );
      for (const cw of grid.classWeight) {
        let init: Float64Array | undefined;
        candidates.forEach((cand, ci) => {
          if (cand.fs !== fs || cand.cw !== cw) return;
          const fit = TextClassifier.fitFeatures(
            feats,
            { ...params, C: cand.C, classWeight: cw },
            init ? { init } : {},
          );
          init = fit.theta;
          for (const row of fold.test)
            oof[ci]!.set(fit.model.probabilities(rows[row]!), row * classes.length);
          done++;
          progress.tick(done, `fold ${f + 1}/${folds.length} ${fs.name} C=${cand.C}`);
        });
      }
    }
  });
  progress.stop();

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
    folds: folds.length,
  };
}
