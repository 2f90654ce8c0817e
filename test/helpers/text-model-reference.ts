import { HashIndex } from '../../src/model/hash-index.js';
import type { SparseVector } from '../../src/model/sparse.js';
import type { NgramOptions } from '../../src/model/text/feature-hashing.js';
import { ENGLISH_STOPWORDS } from '../../src/model/text/stopwords.js';
import type { TfidfState } from '../../src/model/tfidf.js';

/*
 * The text model's featurization as it was before the issue-16 speed work (tokenize, FNV n-gram
 * hashes, tf-idf), kept verbatim so that tests and bench/model-speed.ts can check that the fast
 * path gives the same tokens, hashes, features and probabilities. Do not "optimize" this file.
 */
const STOPWORD_SET: ReadonlySet<string> = new Set(ENGLISH_STOPWORDS.filter((w) => !w.includes("'")));
const LINK = /\b(?:https?:\/\/|www\.)\S+/giu;
const NON_ALNUM = /[^\p{L}\p{N}]+/u;

export function referenceTokenize(text: string, stopwords: ReadonlySet<string> = STOPWORD_SET): string[] {
  const lowered = text.toLowerCase().replace(LINK, ' ');
  const out: string[] = [];
  for (const word of lowered.split(NON_ALNUM)) {
    if (word.length > 0 && !stopwords.has(word)) out.push(word);
  }
  return out;
}

const FNV_PRIME = 0x01000193;
const WORD_BASIS = 0x811c9dc5;
const CHAR_BASIS = 0x050c5d1f;

function fnvExtend(h: number, code: number): number {
  return Math.imul(h ^ code, FNV_PRIME);
}

function hashString(s: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) h = fnvExtend(h, s.charCodeAt(i));
  return h | 0;
}

export function referenceNgramHashes(tokens: readonly string[], opts: NgramOptions, out: number[]): number {
  const start = out.length;
  const [wMin, wMax] = opts.wordNgrams;
  if (wMax > 0) {
    const wordHashes = tokens.map((t) => hashString(t, WORD_BASIS));
    for (let n = Math.max(1, wMin); n <= wMax; n++) {
      for (let i = 0; i + n <= wordHashes.length; i++) {
        let h = WORD_BASIS ^ n;
        for (let k = 0; k < n; k++) h = Math.imul(h ^ wordHashes[i + k]!, FNV_PRIME);
        out.push(h | 0);
      }
    }
  }
  const wordCount = out.length - start;
  const [cMin, cMax] = opts.charNgrams;
  if (cMax > 0) {
    for (const token of tokens) charNgramHashes(token, cMin, cMax, out);
  }
  return wordCount;
}

function charNgramHashes(token: string, cMin: number, cMax: number, out: number[]): void {
  const len = token.length + 2;
  if (len < cMin) {
    let h = CHAR_BASIS;
    for (let i = 0; i < len; i++) h = fnvExtend(h, paddedCharAt(token, len, i));
    out.push(h | 0);
    return;
  }
  for (let start = 0; start + cMin <= len; start++) {
    let h = CHAR_BASIS;
    for (let i = start; i < start + cMin - 1; i++) h = fnvExtend(h, paddedCharAt(token, len, i));
    for (let n = cMin; n <= cMax && start + n <= len; n++) {
      h = fnvExtend(h, paddedCharAt(token, len, start + n - 1));
      out.push(Math.imul(h ^ n, FNV_PRIME) | 0);
    }
  }
}

function paddedCharAt(token: string, len: number, i: number): number {
  return i === 0 || i === len - 1 ? 32 : token.charCodeAt(i - 1);
}

/** The old TfidfTransformer.transform, as a closure over one state. */
export function referenceTransformer(state: TfidfState): (tokens: readonly string[]) => SparseVector {
  const index = new HashIndex(state.hashes);
  const counts = new Float64Array(state.hashes.length);
  return (tokens) => {
    const hashScratch: number[] = [];
    const touched: number[] = [];
    referenceNgramHashes(tokens, state.options, hashScratch);
    for (const h of hashScratch) {
      const f = index.get(h);
      if (f < 0) continue;
      if (counts[f] === 0) touched.push(f);
      counts[f]! += 1;
    }
    const { sublinearTf, normalizeBlocks } = state.options;
    const { idf, wordFeatures } = state;
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
  };
}
