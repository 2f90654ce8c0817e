import { HashIndex } from './hash-index.js';
import type { SparseVector } from './sparse.js';
import { scanWords, WordSpans } from './text/clean.js';
import { NgramHashBuffer, type NgramOptions, ngramHashes } from './text/feature-hashing.js';
import { WordFeatureCache } from './text/word-feature-cache.js';

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

/*
 * 1 + ln(tf) for the small counts a document has, so the request path does not call Math.log per
 * feature; the table holds Math.log's own results, so the values are the same bit for bit.
 */
const SUBLINEAR_TABLE = Float64Array.from({ length: 64 }, (_, tf) => (tf === 0 ? 0 : 1 + Math.log(tf)));

function sublinear(tf: number): number {
  return tf < SUBLINEAR_TABLE.length ? SUBLINEAR_TABLE[tf]! : 1 + Math.log(tf);
}

/** Turns token lists into l2-normalised tf-idf vectors. Reuses scratch buffers: not re-entrant. */
export class TfidfTransformer {
  private readonly index: HashIndex;
  /** Term counts by feature, zeroed again after each document; integers, so the tf table reads them directly. */
  private readonly counts: Int32Array;
  private readonly ngrams = new NgramHashBuffer();
  private readonly words = new WordSpans();
  /** Made on the first text: a model that is only fitted or scored in bulk never needs one. */
  private wordCache: WordFeatureCache | undefined;
  /** One word's character n-gram features, as they are looked up before they go to the cache. */
  private wordFeatures = new Int32Array(64);
  /**
   * The last document's features, valid up to the count `vectorizeText` returns: indices in the order
   * the document first touches them, and their values. Overwritten by the next document.
   */
  indices = new Int32Array(256);
  values = new Float64Array(256);

  constructor(readonly state: TfidfState) {
    this.index = new HashIndex(state.hashes);
    this.counts = new Int32Array(state.hashes.length);
  }

  get size(): number {
    return this.state.hashes.length;
  }

  transform(tokens: readonly string[]): SparseVector {
    this.ngrams.fill(tokens, this.state.options);
    return this.copyOut(this.vectorize());
  }

  /** `transform(tokenize(text))`, as a fresh vector. */
  transformText(text: string): SparseVector {
    return this.copyOut(this.vectorizeText(text));
  }

  /**
   * `transform(tokenize(text))` into `indices` and `values`, returning how many there are: the request
   * path's form, with no string per word and no array per document.
   */
  vectorizeText(text: string): number {
    const { words, ngrams } = this;
    const options = this.state.options;
    scanWords(text, words);
    ngrams.fillSpanWords(words, options);
    // fillSpanWords grew `hashes` to the document's n-gram bound, which bounds its features too.
    this.reserveFeatures(ngrams.hashes.length);
    let nnz = this.countNgramHashes(0);
    if (options.charNgrams[1] > 0) nnz = this.countWordsCharNgrams(nnz);
    return this.valuesOf(nnz);
  }

  /** Counts the vocabulary features among `ngrams`' hashes, after the `nnz` already counted. */
  private countNgramHashes(nnz: number): number {
    const { ngrams, counts, index, indices } = this;
    for (let i = 0; i < ngrams.length; i++) {
      const f = index.get(ngrams.hashes[i]!);
      if (f < 0) continue;
      if (counts[f] === 0) indices[nnz++] = f;
      counts[f]! += 1;
    }
    return nnz;
  }

  /**
   * Counts each scanned word's character n-gram features, after the `nnz` already counted: from the
   * word cache, or looked up and then cached.
   */
  private countWordsCharNgrams(nnz: number): number {
    const { words, counts, indices } = this;
    this.wordCache ??= new WordFeatureCache();
    const wordCache = this.wordCache;
    const { starts, ends, hashes: wordHashes, count } = words;
    const lowered = words.text;
    for (let t = 0; t < count; t++) {
      const from = starts[t]!;
      const to = ends[t]!;
      let e = wordCache.find(lowered, from, to, wordHashes[t]!);
      let list = wordCache.features;
      let at = 0;
      let n = 0;
      if (e < 0) {
        n = this.lookUpCharNgrams(lowered, from, to);
        e = wordCache.add(lowered, from, to, wordHashes[t]!, this.wordFeatures, n);
        if (e < 0) list = this.wordFeatures;
      }
      if (e >= 0) {
        at = wordCache.start(e);
        n = wordCache.count(e);
      }
      for (let k = at; k < at + n; k++) {
        const f = list[k]!;
        if (counts[f] === 0) indices[nnz++] = f;
        counts[f]! += 1;
      }
    }
    return nnz;
  }

  /** The vocabulary features of one word's character n-grams, in order, into `wordFeatures`. */
  private lookUpCharNgrams(text: string, from: number, to: number): number {
    const { ngrams, index } = this;
    ngrams.fillCharNgramsOf(text, from, to, this.state.options);
    if (this.wordFeatures.length < ngrams.length) this.wordFeatures = new Int32Array(ngrams.length * 2);
    const out = this.wordFeatures;
    let n = 0;
    for (let i = 0; i < ngrams.length; i++) {
      const f = index.get(ngrams.hashes[i]!);
      if (f >= 0) out[n++] = f;
    }
    return n;
  }

  private reserveFeatures(bound: number): void {
    if (this.indices.length < bound) {
      this.indices = new Int32Array(bound);
      this.values = new Float64Array(bound);
    }
  }

  private copyOut(nnz: number): SparseVector {
    const indices: number[] = new Array(nnz);
    const values: number[] = new Array(nnz);
    for (let k = 0; k < nnz; k++) {
      indices[k] = this.indices[k]!;
      values[k] = this.values[k]!;
    }
    return { indices, values };
  }

  /** The tf-idf vector of the n-grams in `ngrams`, into `indices` and `values`. */
  private vectorize(): number {
    this.reserveFeatures(this.ngrams.length);
    return this.valuesOf(this.countNgramHashes(0));
  }

  /** The tf-idf values of the `nnz` counted features in `indices`, into `values`; zeroes the counts. */
  private valuesOf(nnz: number): number {
    const { counts, indices, values } = this;
    const { sublinearTf, normalizeBlocks } = this.state.options;
    const { idf, wordFeatures } = this.state;
    let wordNorm = 0;
    let charNorm = 0;
    for (let k = 0; k < nnz; k++) {
      const f = indices[k]!;
      const tf = sublinearTf ? sublinear(counts[f]!) : counts[f]!;
      const v = tf * idf[f]!;
      values[k] = v;
      if (normalizeBlocks && f >= wordFeatures) charNorm += v * v;
      else wordNorm += v * v;
      counts[f] = 0;
    }
    const wordScale = wordNorm > 0 ? 1 / Math.sqrt(wordNorm) : 0;
    const charScale = charNorm > 0 ? 1 / Math.sqrt(charNorm) : 0;
    for (let k = 0; k < nnz; k++) {
      values[k]! *= normalizeBlocks && indices[k]! >= wordFeatures ? charScale : wordScale;
    }
    return nnz;
  }
}
