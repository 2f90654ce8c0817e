import { ErrorCode, FerryError } from '../core/errors.js';
import { FLOAT16_MAX } from '../model/float16.js';
import { Float16Head } from '../model/heads/float16-head.js';
import { Int8Head } from '../model/heads/int8-head.js';
import type { TextClassifier } from '../model/text-classifier.js';
import type { QuantizeOptions } from './optimize-types.js';

/**
 * Quantizes the text classifier's head: int8 (one scale per class, the shared rule of
 * model/heads/int8-weights.ts, int8 at inference) or float16 (storage only, float32 at inference).
 * The vocabulary and idf are kept as they are; the bias stays float32.
 */
export function quantizeTextClassifier(
  model: TextClassifier,
  opts: QuantizeOptions,
): { model: TextClassifier; details: Record<string, unknown> } {
  const dense = model.head.denseWeights();
  let maxAbs = 0;
  for (const w of dense) maxAbs = Math.max(maxAbs, Math.abs(w));
  if (opts.dtype === 'int8') {
    const head = Int8Head.quantize(model.head);
    return {
      model: model.withHead(head),
      details: {
        dtype: 'int8',
        storage: head.storage,
        parentStorage: model.head.storage,
        scales: Array.from(head.scales),
        maxAbsError: maxAbsDifference(dense, head.denseWeights()),
        headBytes: head.byteLength,
      },
    };
  }
  if (opts.dtype === 'float16') {
    if (maxAbs > FLOAT16_MAX) {
      throw new FerryError(
        ErrorCode.OPTIMIZE_INVALID,
        `a weight of ${maxAbs} does not fit float16 (at most ${FLOAT16_MAX}); use int8`,
      );
    }
    const head = Float16Head.round(model.head);
    return {
      model: model.withHead(head),
      details: {
        dtype: 'float16',
        storage: head.storage,
        parentStorage: model.head.storage,
        maxAbsError: maxAbsDifference(dense, head.denseWeights()),
        headBytes: head.byteLength,
      },
    };
  }
  throw new FerryError(
    ErrorCode.OPTIMIZE_INVALID,
    `quantize dtype must be "int8" or "float16", got ${JSON.stringify(String((opts as { dtype: unknown }).dtype))}`,
  );
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
