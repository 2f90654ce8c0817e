import type { LinearHead } from '../linear-head.js';

/**
 * Magnitude-pruned weights held sparse, CSR by feature: feature f's nonzero weights are
 * `values[rowStart[f] .. rowStart[f+1])`, for the classes `classIndex[...]`. A document touches few
 * features and each now reads only its surviving weights; the logits are those of the dense
 * computation on the kept weights (float32 values, the same sums).
 */
export class SparseHead implements LinearHead {
  readonly storage = 'sparse-f32';

  constructor(
    readonly rowStart: Int32Array,
    readonly classIndex: Uint16Array,
    readonly values: Float32Array,
    readonly bias: Float32Array,
  ) {
    const nnz = rowStart.length === 0 ? -1 : rowStart[rowStart.length - 1];
    if (rowStart[0] !== 0 || nnz !== values.length || classIndex.length !== values.length) {
      throw new RangeError('sparse head: rowStart, classIndex and values do not agree');
    }
  }

  /** The nonzero weights of a dense [features × classes] block. */
  static fromDense(weights: Float32Array, bias: Float32Array): SparseHead {
    const K = bias.length;
    const features = K === 0 ? 0 : weights.length / K;
    let nnz = 0;
    for (const w of weights) if (w !== 0) nnz++;
    const rowStart = new Int32Array(features + 1);
    const classIndex = new Uint16Array(nnz);
    const values = new Float32Array(nnz);
    let at = 0;
    for (let f = 0; f < features; f++) {
      for (let c = 0; c < K; c++) {
        const w = weights[f * K + c]!;
        if (w === 0) continue;
        classIndex[at] = c;
        values[at++] = w;
      }
      rowStart[f + 1] = at;
    }
    return new SparseHead(rowStart, classIndex, values, Float32Array.from(bias));
  }

  get features(): number {
    return this.rowStart.length - 1;
  }

  get classes(): number {
    return this.bias.length;
  }

  /** Weights held (nonzero). */
  get nonzeros(): number {
    return this.values.length;
  }

  get byteLength(): number {
    return (
      this.rowStart.byteLength + this.classIndex.byteLength + this.values.byteLength + this.bias.byteLength
    );
  }

  logits(
    indices: ArrayLike<number>,
    values: ArrayLike<number>,
    out: Float64Array,
    count = indices.length,
  ): void {
    const K = this.bias.length;
    for (let c = 0; c < K; c++) out[c] = this.bias[c]!;
    const { rowStart, classIndex } = this;
    const w = this.values;
    for (let p = 0; p < count; p++) {
      const f = indices[p]!;
      const v = values[p]!;
      for (let i = rowStart[f]!, end = rowStart[f + 1]!; i < end; i++) out[classIndex[i]!]! += v * w[i]!;
    }
  }

  denseWeights(): Float32Array {
    const K = this.bias.length;
    const out = new Float32Array(this.features * K);
    for (let f = 0; f < this.features; f++) {
      for (let i = this.rowStart[f]!; i < this.rowStart[f + 1]!; i++)
        out[f * K + this.classIndex[i]!] = this.values[i]!;
    }
    return out;
  }
}

/** A SparseHead when at least half of `head`'s weights are zero (it then holds less), else `head`. */
export function compactHead(head: LinearHead): LinearHead {
  if (head instanceof SparseHead) return head;
  const weights = head.denseWeights();
  let zeros = 0;
  for (const w of weights) if (w === 0) zeros++;
  return weights.length > 0 && zeros * 2 >= weights.length ? SparseHead.fromDense(weights, head.bias) : head;
}
