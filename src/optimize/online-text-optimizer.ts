import { ErrorCode, FerryError } from '../core/errors.js';
import { decodeModel } from '../model/codec.js';
import { ONLINE_TEXT_KIND, OnlineTextClassifier } from '../model/kinds/online-text/online-text-classifier.js';
import { checkSparsity, zeroSmallest } from './magnitude.js';
import type { KindOptimizer } from './optimize-types.js';

/**
 * The online (hashed) text model: magnitude pruning only. Its artifact stores the buckets where some
 * class has a weight, so zeroing the smallest weights really shrinks it; its memory does not (the
 * model holds every bucket, to keep learning). Quantization would need a format of its own: it is
 * refused by the orchestration, which lists the kinds that have it.
 */
export const onlineTextOptimizer: KindOptimizer = {
  kind: ONLINE_TEXT_KIND,
  async prune(artifact, opts) {
    if (opts.method !== 'magnitude') {
      throw new FerryError(
        ErrorCode.OPTIMIZE_UNSUPPORTED,
        'structured pruning removes vocabulary features, which only the built-in text classifier has: prune an online model with --method magnitude',
      );
    }
    if (opts.fineTune) {
      throw new FerryError(
        ErrorCode.OPTIMIZE_UNSUPPORTED,
        'an online model is not fine-tuned here: keep learning on the pruned version with `ferry learn`',
      );
    }
    checkSparsity(opts.sparsity);
    const model = decodeModel(artifact);
    if (!(model instanceof OnlineTextClassifier)) {
      throw new FerryError(
        ErrorCode.OPTIMIZE_UNSUPPORTED,
        `this artifact is a ${model.kind}, not an online model`,
      );
    }
    const stored = model.storedWeights();
    const weights = Float32Array.from(stored.weights);
    zeroSmallest([weights], opts.sparsity);
    const pruned = OnlineTextClassifier.fromWeights(model.params, model.classes, { ...stored, weights });
    const after = pruned.storedWeights();
    return {
      kind: ONLINE_TEXT_KIND,
      artifact: pruned.toArtifact(),
      details: {
        method: 'magnitude',
        sparsityRequested: opts.sparsity,
        weights: weights.length,
        weightsKept: after.weights.filter((w) => w !== 0).length,
        buckets: stored.buckets.length,
        bucketsKept: after.buckets.length,
      },
    };
  },
};
