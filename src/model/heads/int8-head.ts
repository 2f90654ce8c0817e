import type { LinearHead } from '../linear-head.js';
import { quantizeWeightsInt8 } from './int8-weights.js';

/**
 * Weights as int8 with one float32 scale per class (w ≈ q · scale[class]), used as int8 at
 * inference: a row's logit for class c is bias[c] + scale[c] · Σ value·q. The scale is applied once
 * per class at the end, so no float copy of the weights is kept (a quarter of the dense memory).
 */
export class Int8Head implements LinearHead {
  readonly storage = 'int8';
  readonly features: number;
  private readonly acc: Float64Array;

  constructor(
    readonly values: Int8Array,
    readonly scales: Float32Array,
    readonly bias: Float32Array,
  ) {
    if (scales.length !== bias.length || (bias.length > 0 && values.length % bias.length !== 0)) {
      throw new RangeError('int8 head: values, scales and bias do not agree');
    }
    this.features = bias.length === 0 ? 0 : values.length / bias.length;
    this.acc = new Float64Array(bias.length);
  }

  /** Quantizes `head`'s weights with the shared int8 rule (int8-weights.ts); the bias stays float32. */
  static quantize(head: LinearHead): Int8Head {
    const { values, scales } = quantizeWeightsInt8(head.denseWeights(), head.classes);
    return new Int8Head(values, scales, Float32Array.from(head.bias));
  }

  get classes(): number {
    return this.bias.length;
  }

  get byteLength(): number {
    return this.values.byteLength + this.scales.byteLength + this.bias.byteLength;
  }

  logits(
    indices: ArrayLike<number>,
    values: ArrayLike<number>,
    out: Float64Array,
    count = indices.length,
  ): void {
    const K = this.bias.length;
    const q = this.values;
    const acc = this.acc;
    acc.fill(0);
    for (let p = 0; p < count; p++) {
      const base = indices[p]! * K;
      const v = values[p]!;
      for (let c = 0; c < K; c++) acc[c]! += v * q[base + c]!;
    }
    for (let c = 0; c < K; c++) out[c] = this.bias[c]! + acc[c]! * this.scales[c]!;
  }

  /** Dequantized float32 weights (a fresh array): for export and fine-tuning, not inference. */
  denseWeights(): Float32Array {
    const K = this.bias.length;
    const out = new Float32Array(this.values.length);
    for (let i = 0; i < out.length; i++) out[i] = this.values[i]! * this.scales[i % K]!;
    return out;
  }
}
