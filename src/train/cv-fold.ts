import type { TextInput } from '../model/model.js';
import { featurize, TextClassifier, type TextClassifierParams } from '../model/text-classifier.js';

/** The feature options one fold tries (a TuneGrid's feature set, without its display name). */
interface FoldFeatureSet {
  wordNgrams: [number, number];
  charNgrams: [number, number];
}

/**
 * Work on one cross-validation fold, self-contained so that it can be posted to a worker thread: the
 * rows to fit on, the rows to score, and the candidates (`tune` sends one feature set and one class
 * weight a job, so that jobs spread evenly over the threads). Candidates are enumerated feature set, then class
 * weight, then C ascending: the order of `tune`'s candidate list and of the result's `probs`.
 */
export interface FoldJob {
  train: TextInput[];
  trainLabels: string[];
  test: TextInput[];
  classes: string[];
  base: TextClassifierParams;
  featureSets: FoldFeatureSet[];
  classWeights: TextClassifierParams['classWeight'][];
  /** Sorted ascending: each fit warm-starts from the previous C's solution. */
  C: number[];
  /** The solver's stopping rule, when not the default (bench/train-tolerance.ts compares them). */
  gradientTolerance?: number;
  /** Also return each fit's raw parameters (a final fit run on a worker thread needs them). */
  keepTheta?: boolean;
}

/** Per candidate, the test rows' probabilities, row-major [test row][class]. */
export interface FoldResult {
  probs: Float64Array[];
  /** Per candidate, the fit's raw parameters, when the job asked for them. */
  thetas?: Float64Array[];
}

/**
 * Fits every candidate of one fold: the features are made once per feature set, and the fits over C
 * are warm-started in ascending order. Pure and deterministic (no shared state, fixed order), so the
 * same job gives the same bits in this thread or in a worker.
 */
export function runFold(job: FoldJob, onCandidate: (note: string) => void = () => {}): FoldResult {
  const K = job.classes.length;
  const probs: Float64Array[] = [];
  const thetas: Float64Array[] = [];
  for (const fs of job.featureSets) {
    const params = { ...job.base, wordNgrams: fs.wordNgrams, charNgrams: fs.charNgrams };
    const feats = featurize(job.train, job.trainLabels, params, job.classes);
    for (const cw of job.classWeights) {
      let init: Float64Array | undefined;
      for (const C of job.C) {
        const fit = TextClassifier.fitFeatures(
          feats,
          { ...params, C, classWeight: cw },
          {
            ...(init ? { init } : {}),
            ...(job.gradientTolerance ? { gradientTolerance: job.gradientTolerance } : {}),
          },
        );
        init = fit.theta;
        if (job.keepTheta) thetas.push(fit.theta);
        const out = new Float64Array(job.test.length * K);
        job.test.forEach((row, i) => {
          out.set(fit.model.probabilities(row), i * K);
        });
        probs.push(out);
        onCandidate(`C=${C}`);
      }
    }
  }
  return job.keepTheta ? { probs, thetas } : { probs };
}
