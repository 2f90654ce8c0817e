import { ErrorCode, FerryError } from '../core/errors.js';
import { DenseHead } from '../model/linear-head.js';
import { fitSoftmaxRegression } from '../model/softmax-regression.js';
import { csrFromRows } from '../model/sparse.js';
import { TextClassifier } from '../model/text-classifier.js';
import type { TrainingRows } from './optimize-types.js';

export interface FineTuneOptions {
  /** Weights that are zero stay zero (a magnitude-pruned head keeps its sparsity). */
  keepZeros: boolean;
  /** L-BFGS iterations; the warm start usually needs far fewer than a fit from scratch. */
  maxIterations?: number;
}

/**
 * Refits a text classifier's head on `training` with its vocabulary unchanged (same features, same
 * idf), warm-started from its current weights, with its own C and class weighting. After pruning,
 * the surviving weights take over the work of the removed ones. Returns a model with a dense head
 * (a pruned model's storage is chosen afterwards by the caller).
 */
export function fineTune(
  model: TextClassifier,
  training: TrainingRows,
  opts: FineTuneOptions,
): TextClassifier {
  const K = model.classes.length;
  const unknown = [...new Set(training.rows.map((r) => r.tag))].filter((t) => !model.classes.includes(t));
  if (unknown.length > 0) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_INVALID,
      `fine-tuning rows from ${training.source} have labels the model does not know: ${unknown.slice(0, 5).join(', ')} (the model's classes: ${model.classes.join(', ')})`,
    );
  }
  if (training.rows.length === 0) {
    throw new FerryError(ErrorCode.OPTIMIZE_INVALID, `no rows to fine-tune on in ${training.source}`);
  }
  const X = csrFromRows(
    training.rows.map((r) => model.features(r)),
    model.featureCount,
  );
  const y = Int32Array.from(training.rows, (r) => model.classes.indexOf(r.tag));
  const weights = model.head.denseWeights();
  const init = new Float64Array(weights.length + K);
  init.set(weights);
  init.set(model.head.bias, weights.length);
  const fit = fitSoftmaxRegression(X, y, K, {
    C: model.params.C,
    classWeights: balancedWeights(y, K, model.params.classWeight === 'balanced'),
    init,
    ...(opts.keepZeros ? { gradientMask: Uint8Array.from(weights, (w) => (w === 0 ? 0 : 1)) } : {}),
    ...(opts.maxIterations !== undefined ? { maxIterations: opts.maxIterations } : {}),
  });
  const head = new DenseHead(
    Float32Array.from(fit.theta.subarray(0, weights.length)),
    Float32Array.from(fit.theta.subarray(weights.length)),
  );
  return new TextClassifier(model.params, model.classes, model.tfidf, head);
}

/** scikit-learn's "balanced" class weights (n / (K · count)), as training uses; 1 otherwise. */
export function balancedWeights(y: Int32Array, K: number, balanced: boolean): Float64Array {
  const weights = new Float64Array(K).fill(1);
  if (!balanced) return weights;
  const counts = new Float64Array(K);
  let n = 0;
  for (const label of y) {
    if (label < 0) continue;
    counts[label]! += 1;
    n++;
  }
  for (let c = 0; c < K; c++) weights[c] = counts[c]! > 0 ? n / (K * counts[c]!) : 0;
  return weights;
}
