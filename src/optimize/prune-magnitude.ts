import { SparseHead } from '../model/heads/sparse-head.js';
import type { TextClassifier } from '../model/text-classifier.js';
import type { TfidfState } from '../model/tfidf.js';
import { checkSparsity, zeroSmallest } from './magnitude.js';

/**
 * Magnitude pruning of the text classifier's head: the `sparsity` share of its weights with the
 * smallest |w| (over all features and classes at once) become zero, the bias is untouched, and the
 * result is held sparse (SparseHead, artifact format 2).
 *
 * Vocabulary features whose weights are all zero after pruning are KEPT (`dropEmptyFeatures`
 * false, the default). Dropping them halves the artifact again (0.09 × the parent's bytes instead
 * of 0.18 × at 90 %), but they then leave each document's tf-idf l2 norm, so the surviving values
 * grow and the probabilities move: the model is no longer the parent with weights removed, it is a
 * different featurization (what structured pruning does on purpose). Measured on the course data
 * (default params, stratified 20 % validation split of dataset.csv, 90 % sparsity, 8 seeds): mean
 * weighted F1 0.8871 kept vs 0.8893 dropped (parent 0.8812), top-1 agreement with the parent 0.962
 * vs 0.959, mean |Δp| 0.025 vs 0.027: a tie within one validation row (153 rows), so the variant
 * closer to the parent, which already meets the 0.2 × size target, is the default.
 */
export function pruneMagnitude(
  model: TextClassifier,
  sparsity: number,
  opts: { dropEmptyFeatures?: boolean } = {},
): { model: TextClassifier; details: Record<string, unknown> } {
  checkSparsity(sparsity);
  const weights = Float32Array.from(model.head.denseWeights());
  zeroSmallest([weights], sparsity);
  const K = model.head.classes;
  let tfidf = model.tfidf;
  let kept: Float32Array = weights;
  if (opts.dropEmptyFeatures === true)
    ({ tfidf, weights: kept } = dropEmptyFeatures(model.tfidf, weights, K));
  const head = SparseHead.fromDense(kept, model.head.bias);
  return {
    model: model.withHead(head, tfidf),
    details: {
      method: 'magnitude',
      sparsityRequested: sparsity,
      sparsity: weights.length === 0 ? 0 : 1 - head.nonzeros / weights.length,
      weightsKept: head.nonzeros,
      weights: weights.length,
      features: tfidf.hashes.length,
      featuresDropped: model.tfidf.hashes.length - tfidf.hashes.length,
      emptyFeatures: countEmptyFeatures(kept, K),
    },
  };
}

function countEmptyFeatures(weights: Float32Array, K: number): number {
  let empty = 0;
  for (let f = 0; f * K < weights.length; f++) {
    let any = false;
    for (let c = 0; c < K && !any; c++) any = weights[f * K + c] !== 0;
    if (!any) empty++;
  }
  return empty;
}

/** The vocabulary without features whose weights are all zero (block order and sorting kept). */
function dropEmptyFeatures(
  tfidf: TfidfState,
  weights: Float32Array,
  K: number,
): { tfidf: TfidfState; weights: Float32Array } {
  const keep: number[] = [];
  for (let f = 0; f < tfidf.hashes.length; f++) {
    for (let c = 0; c < K; c++) {
      if (weights[f * K + c] !== 0) {
        keep.push(f);
        break;
      }
    }
  }
  const out = new Float32Array(keep.length * K);
  keep.forEach((f, i) => {
    out.set(weights.subarray(f * K, (f + 1) * K), i * K);
  });
  return {
    tfidf: {
      options: tfidf.options,
      hashes: Int32Array.from(keep, (f) => tfidf.hashes[f]!),
      wordFeatures: keep.filter((f) => f < tfidf.wordFeatures).length,
      idf: Float32Array.from(keep, (f) => tfidf.idf[f]!),
    },
    weights: out,
  };
}
