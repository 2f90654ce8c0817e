import { softmaxInPlace } from './softmax-regression.js';

/**
 * The linear part of a linear text model: logits = bias + Σ value·W[feature]. Kept behind an
 * interface so that the same classifier can hold its weights as dense float32 (training's output),
 * sparse (magnitude-pruned) or int8 with a scale per class (quantized) and still answer through one
 * path. Weights are laid out [feature][class] (a document touches few features, each reads K
 * consecutive values).
 */
export interface LinearHead {
  /** How the weights are held: `dense-f32`, and the optimized storages of src/optimize. */
  readonly storage: string;
  readonly features: number;
  readonly classes: number;
  readonly bias: Float32Array;
  /**
   * Writes the logits (before softmax) of one sparse row, its first `count` (default: all) indices
   * and values, into `out` (length `classes`).
   */
  logits(indices: ArrayLike<number>, values: ArrayLike<number>, out: Float64Array, count?: number): void;
  /** The weights as dense float32 [features × classes], dequantized: for export, pruning and fine-tuning. */
  denseWeights(): Float32Array;
  /** Bytes its arrays hold in memory. */
  readonly byteLength: number;
}

/** Training's head: a dense float32 [features × classes] block. */
export class DenseHead implements LinearHead {
  readonly storage = 'dense-f32';
  readonly features: number;

  constructor(
    readonly weights: Float32Array,
    readonly bias: Float32Array,
  ) {
    this.features = bias.length === 0 ? 0 : weights.length / bias.length;
  }

  get classes(): number {
    return this.bias.length;
  }

  get byteLength(): number {
    return this.weights.byteLength + this.bias.byteLength;
  }

  logits(
    indices: ArrayLike<number>,
    values: ArrayLike<number>,
    out: Float64Array,
    count = indices.length,
  ): void {
    const K = this.bias.length;
    if (K === 4) {
      fourClassLogits(this.weights, this.bias, indices, values, out, count);
      return;
    }
    const w = this.weights;
    for (let c = 0; c < K; c++) out[c] = this.bias[c]!;
    for (let p = 0; p < count; p++) {
      const base = indices[p]! * K;
      const v = values[p]!;
      for (let c = 0; c < K; c++) out[c]! += v * w[base + c]!;
    }
  }

  denseWeights(): Float32Array {
    return this.weights;
  }
}

/**
 * DenseHead.logits for four classes (the built-in classifier's count): the sums live in locals
 * instead of `out`, so each feature costs four loads and four multiply-adds, not twelve memory
 * operations. Every sum adds the same terms in the same order, so the result has the same bits.
 */
function fourClassLogits(
  w: Float32Array,
  bias: Float32Array,
  indices: ArrayLike<number>,
  values: ArrayLike<number>,
  out: Float64Array,
  count: number,
): void {
  let l0 = bias[0]!;
  let l1 = bias[1]!;
  let l2 = bias[2]!;
  let l3 = bias[3]!;
  for (let p = 0; p < count; p++) {
    const base = indices[p]! * 4;
    const v = values[p]!;
    l0 += v * w[base]!;
    l1 += v * w[base + 1]!;
    l2 += v * w[base + 2]!;
    l3 += v * w[base + 3]!;
  }
  out[0] = l0;
  out[1] = l1;
  out[2] = l2;
  out[3] = l3;
}

/** Class probabilities of one sparse row (its first `count` entries) through `head`, written into `out`. */
export function headProbabilities(
  head: LinearHead,
  indices: ArrayLike<number>,
  values: ArrayLike<number>,
  out: Float64Array,
  count = indices.length,
): void {
  head.logits(indices, values, out, count);
  softmaxInPlace(out, head.classes);
}
