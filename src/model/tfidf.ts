import { HashIndex } from './hash-index.js';
import type { SparseVector } from './sparse.js';
import { type NgramOptions, ngramHashes } from './text/feature-hashing.js';

export interface TfidfOptions extends NgramOptions {
  /** Keep n-grams seen in at least this many training documents. */
  minDf: number;
  /** Use 1 + ln(tf) instead of tf. */
  sublinearTf: boolean;
  /**
   * l2-normalise the word block and the character block separately (scikit-learn's FeatureUnion of
   * two vectorizers), so the many character n-grams do not drown the few word n-grams.
   */
  normalizeBlocks: boolean;
}

export interface TfidfState {
  readonly options: TfidfOptions;
  /**
   * Feature hashes: the word n-grams in ascending order, then the character n-grams in ascending
   * order. A feature's index is its position here.
   */
  readonly hashes: Int32Array;
  /** How many of `hashes` are word n-grams (they come first). */
  readonly wordFeatures: number;
  readonly idf: Float32Array;
}

/** Learns the vocabulary and smoothed idf (scikit-learn's: ln((1 + n) / (1 + df)) + 1). */
export function fitTfidf(docs: readonly (readonly string[])[], options: TfidfOptions): TfidfState {
  const df = new Map<number, number>();
  const wordHashes = new Set<number>();
  const scratch: number[] = [];
  for (const tokens of docs) {
    scratch.length = 0;
    const words = ngramHashes(tokens, options, scratch);
    for (let i = 0; i < words; i++) wordHashes.add(scratch[i]!);
    for (const h of new Set(scratch)) df.set(h, (df.get(h) ?? 0) + 1);
  }
  const kept = [...df].filter(([, count]) => count >= options.minDf).map(([h]) => h);
  const words = Int32Array.from(kept.filter((h) => wordHashes.has(h))).sort();
  const chars = Int32Array.from(kept.filter((h) => !wordHashes.has(h))).sort();
  const hashes = new Int32Array(words.length + chars.length);
  hashes.set(words);
  hashes.set(chars, words.length);
  const n = docs.length;
  const idf = new Float32Array(hashes.length);
  hashes.forEach((h, i) => {
    idf[i] = Math.log((1 + n) / (1 + (df.get(h) ?? 0))) + 1;
  });
  return { options, hashes, wordFeatures: words.length, idf };
}

/** Turns token lists into l2-normalised tf-idf vectors. Reuses scratch buffers: not re-entrant. */
export class TfidfTransformer {
  private readonly index: HashIndex;
  private readonly counts: Float64Array;
  private readonly hashScratch: number[] = [];
  private readonly touched: number[] = [];

  constructor(readonly state: TfidfState) {
    this.index = new HashIndex(state.hashes);
    this.counts = new Float64Array(state.hashes.length);
  }

  get size(): number {
    return this.state.hashes.length;
  }

  transform(tokens: readonly string[]): SparseVector {
    const { hashScratch, touched, counts, index } = this;
    hashScratch.length = 0;
    touched.length = 0;
    ngramHashes(tokens, this.state.options, hashScratch);
    for (const h of hashScratch) {
      const f = index.get(h);
      if (f < 0) continue;
      if (counts[f] === 0) touched.push(f);
      counts[f]! += 1;
    }
    const { sublinearTf, normalizeBlocks } = this.state.options;
    const { idf, wordFeatures } = this.state;
    const values: number[] = new Array(touched.length);
    let wordNorm = 0;
    let charNorm = 0;
    for (let k = 0; k < touched.length; k++) {
      const f = touched[k]!;
      const tf = sublinearTf ? 1 + Math.log(counts[f]!) : counts[f]!;
      const v = tf * idf[f]!;
      values[k] = v;
      if (normalizeBlocks && f >= wordFeatures) charNorm += v * v;
      else wordNorm += v * v;
      counts[f] = 0;
    }
    const wordScale = wordNorm > 0 ? 1 / Math.sqrt(wordNorm) : 0;
    const charScale = charNorm > 0 ? 1 / Math.sqrt(charNorm) : 0;
    for (let k = 0; k < values.length; k++) {
      values[k]! *= normalizeBlocks && touched[k]! >= wordFeatures ? charScale : wordScale;
    }
    return { indices: touched.slice(), values };
  }
}
