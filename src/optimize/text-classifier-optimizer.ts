import { ErrorCode, FerryError } from '../core/errors.js';
import { decodeModel } from '../model/codec.js';
import { compactHead } from '../model/heads/sparse-head.js';
import { TEXT_CLASSIFIER_KIND, TextClassifier } from '../model/text-classifier.js';
import { fineTune } from './fine-tune.js';
import type { KindOptimizer, OptimizeContext, PruneOptions, TrainingRows } from './optimize-types.js';
import { pruneMagnitude } from './prune-magnitude.js';
import { pruneStructured } from './prune-structured.js';
import { quantizeTextClassifier } from './quantize.js';

function textClassifierOf(artifact: Uint8Array): TextClassifier {
  const model = decodeModel(artifact);
  if (!(model instanceof TextClassifier)) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_UNSUPPORTED,
      `this artifact is a ${model.kind}, not the built-in text classifier`,
    );
  }
  return model;
}

function trainingFor(ctx: OptimizeContext): TrainingRows {
  if (ctx.training === null || ctx.training.rows.length === 0) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_INVALID,
      'fine-tuning needs training rows: the parent has no dataset record to read them from; give --data-loc',
    );
  }
  return ctx.training;
}

function prune(parent: TextClassifier, opts: PruneOptions, ctx: OptimizeContext) {
  if (opts.method === 'magnitude') {
    const pruned = pruneMagnitude(parent, opts.sparsity);
    if (!opts.fineTune) return pruned;
    ctx.onProgress?.('fine-tuning', 0, 1);
    // The zeros stay zero (a gradient mask), so the tuned head is as sparse as the pruned one.
    const tuned = fineTune(pruned.model, trainingFor(ctx), { keepZeros: true });
    ctx.onProgress?.('fine-tuning', 1, 1);
    return {
      model: tuned.withHead(compactHead(tuned.head)),
      details: { ...pruned.details, fineTuned: true },
    };
  }
  const pruned = pruneStructured(parent, opts.keepFeatures);
  if (!opts.fineTune) return pruned;
  ctx.onProgress?.('fine-tuning', 0, 1);
  const tuned = fineTune(pruned.model, trainingFor(ctx), { keepZeros: false });
  ctx.onProgress?.('fine-tuning', 1, 1);
  return { model: tuned, details: { ...pruned.details, fineTuned: true } };
}

/** Pruning (magnitude, structured, optional fine-tune) and quantization of the built-in text classifier. */
export const textClassifierOptimizer: KindOptimizer = {
  kind: TEXT_CLASSIFIER_KIND,
  async prune(artifact, opts, ctx) {
    const { model, details } = prune(textClassifierOf(artifact), opts, ctx);
    return { kind: TEXT_CLASSIFIER_KIND, artifact: model.toArtifact(), details };
  },
  async quantize(artifact, opts) {
    const { model, details } = quantizeTextClassifier(textClassifierOf(artifact), opts);
    return { kind: TEXT_CLASSIFIER_KIND, artifact: model.toArtifact(), details };
  },
};
