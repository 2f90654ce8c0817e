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
  /** Writes the logits (before softmax) of one sparse row into `out` (length `classes`). */
  logits(indices: readonly number[], values: readonly number[], out: Float64Array): void;
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

  logits(indices: readonly number[], values: readonly number[], out: Float64Array): void {
    const K = this.bias.length;
    const w = this.weights;
    for (let c = 0; c < K; c++) out[c] = this.bias[c]!;
    for (let p = 0; p < indices.length; p++) {
      const base = indices[p]! * K;
      const v = values[p]!;
      for (let c = 0; c < K; c++) out[c]! += v * w[base + c]!;
    }
  }

  denseWeights(): Float32Array {
    return this.weights;
  }
}

/** Class probabilities of one sparse row through `head`, written into `out`. */
export function headProbabilities(
  head: LinearHead,
  indices: readonly number[],
  values: readonly number[],
  out: Float64Array,
): void {
  head.logits(indices, values, out);
  softmaxInPlace(out, head.classes);
}
