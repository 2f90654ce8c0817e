import { type NgramOptions, ngramHashes } from '../../text/feature-hashing.js';

/**
 * A document as a sparse vector over `2^bits` buckets: the hashes of its word and character
 * n-grams (model/text/feature-hashing.ts) folded into the buckets, counted, then scaled to unit L2
 * norm so that long and short texts move the weights alike. Duplicates are merged (one entry per
 * bucket), so AdaGrad sees each coordinate's true gradient once.
 */
export interface SparseVector {
  readonly indices: Int32Array;
  readonly values: Float64Array;
  readonly length: number;
}

export class HashedFeaturizer {
  private readonly mask: number;
  private readonly counts: Float64Array;
  private readonly hashes: number[] = [];
  private readonly touched: Int32Array;
  private readonly values: Float64Array;

  constructor(
    readonly bits: number,
    private readonly ngrams: NgramOptions,
    /** The most distinct buckets one document keeps (a bound on the scratch arrays). */
    maxFeatures = 1 << 16,
  ) {
    this.mask = (1 << bits) - 1;
    this.counts = new Float64Array(1 << bits);
    this.touched = new Int32Array(maxFeatures);
    this.values = new Float64Array(maxFeatures);
  }

  /**
   * The vector of `tokens`. It views scratch arrays reused by the next call: read it before
   * featurising again (the learner and the model use it at once).
   */
  vectorize(tokens: readonly string[]): SparseVector {
    const hashes = this.hashes;
    hashes.length = 0;
    ngramHashes(tokens, this.ngrams, hashes);
    const { counts, touched, values, mask } = this;
    let n = 0;
    for (let i = 0; i < hashes.length; i++) {
      const b = hashes[i]! & mask;
      if (counts[b] === 0) {
        if (n === touched.length) continue;
        touched[n++] = b;
      }
      counts[b]! += 1;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) {
      const c = counts[touched[i]!]!;
      norm += c * c;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < n; i++) {
      const b = touched[i]!;
      values[i] = counts[b]! * scale;
      counts[b] = 0;
    }
    return { indices: touched, values, length: n };
  }
}
