import { roundToFloat16 } from '../float16.js';
import { DenseHead, type LinearHead } from '../linear-head.js';

/**
 * Weights stored as float16 in the artifact (half its weight bytes) and widened to float32 when the
 * model loads: inference is the dense float32 path. The head remembers its storage so that writing
 * the model again writes float16 again, and its values are exactly the float16 ones (rounded once).
 */
export class Float16Head implements LinearHead {
  readonly storage = 'float16';
  private readonly dense: DenseHead;

  /** `weights` must already be float16 values (see `round`); the bias stays float32. */
  constructor(weights: Float32Array, bias: Float32Array) {
    this.dense = new DenseHead(weights, bias);
  }

  /** `head`'s weights rounded to the nearest float16 (out of range: FERRY_OPTIMIZE_INVALID, by the caller). */
  static round(head: LinearHead): Float16Head {
    const weights = Float32Array.from(head.denseWeights(), roundToFloat16);
    return new Float16Head(weights, Float32Array.from(head.bias));
  }

  get features(): number {
    return this.dense.features;
  }

  get classes(): number {
    return this.dense.classes;
  }

  get bias(): Float32Array {
    return this.dense.bias;
  }

  get byteLength(): number {
    return this.dense.byteLength;
  }

  logits(
    indices: ArrayLike<number>,
    values: ArrayLike<number>,
    out: Float64Array,
    count = indices.length,
  ): void {
    this.dense.logits(indices, values, out, count);
  }

  denseWeights(): Float32Array {
    return this.dense.weights;
  }
}
