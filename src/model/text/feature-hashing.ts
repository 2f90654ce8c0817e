/*
 * Features are n-grams identified by a 32-bit FNV-1a hash instead of by string, so that the request
 * path allocates no substrings: a few thousand integer operations per document. Word and character
 * features hash with different offset bases so they never share an id by construction.
 * The hash values are a contract: artifacts store them, so any change here must keep them bit-identical
 * (test/unit/model/text-speed-exactness.test.ts checks them against the original code on the course data).
 */
import type { WordSpans } from './clean.js';
import { CHAR_BASIS, FNV_PRIME, WORD_BASIS } from './fnv.js';

const SPACE = 32;

export interface NgramOptions {
  /** Word n-gram range, inclusive; [0, 0] turns word features off. */
  wordNgrams: readonly [number, number];
  /** Character n-gram range inside space-padded words (scikit-learn's `char_wb`); [0, 0] turns them off. */
  charNgrams: readonly [number, number];
}

/**
 * The n-gram hashes of one document in reusable typed arrays: the request path fills it once per
 * prediction without allocating (the arrays only grow, to the largest document seen). Not re-entrant.
 */
export class NgramHashBuffer {
  /** The hashes, valid up to `length`: word n-grams first, then character n-grams. */
  hashes = new Int32Array(1024);
  length = 0;
  /** How many of the first hashes are word n-grams. */
  wordCount = 0;
  private tokenHashes = new Int32Array(64);
  /** " token " as code units, so the inner loops read an array instead of testing for the padding. */
  private padded = new Int32Array(64);

  fill(tokens: readonly string[], opts: NgramOptions): void {
    const [wMin, wMax] = opts.wordNgrams;
    const [cMin, cMax] = opts.charNgrams;
    let longest = 0;
    let chars = 0;
    for (let t = 0; t < tokens.length; t++) {
      const len = tokens[t]!.length;
      if (len > longest) longest = len;
      chars += len + 3;
    }
    this.reserve(tokens.length, longest, chars, wMin, wMax, cMin, cMax);
    this.length = 0;
    if (wMax > 0) {
      const { tokenHashes } = this;
      for (let t = 0; t < tokens.length; t++) {
        const s = tokens[t]!;
        let h = WORD_BASIS;
        for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
        tokenHashes[t] = h;
      }
      this.wordNgrams(tokenHashes, tokens.length, Math.max(1, wMin), wMax);
    }
    this.wordCount = this.length;
    if (cMax > 0) {
      for (let t = 0; t < tokens.length; t++) this.charNgrams(tokens[t]!, 0, tokens[t]!.length, cMin, cMax);
    }
  }

  /**
   * The word n-grams of the words `spans` holds (scanWords' output), the same hashes as `fill` makes
   * of their tokens (`length` = `wordCount`), with `hashes` grown for the whole document: the request
   * path then takes each word's character n-grams from its word cache, or from `fillCharNgramsOf`.
   */
  fillSpanWords(spans: WordSpans, opts: NgramOptions): void {
    const [wMin, wMax] = opts.wordNgrams;
    const [cMin, cMax] = opts.charNgrams;
    const { count, starts, ends } = spans;
    let longest = 0;
    let chars = 0;
    for (let t = 0; t < count; t++) {
      const len = ends[t]! - starts[t]!;
      if (len > longest) longest = len;
      chars += len + 3;
    }
    this.reserve(count, longest, chars, wMin, wMax, cMin, cMax);
    this.length = 0;
    if (wMax > 0) this.wordNgrams(spans.hashes, count, Math.max(1, wMin), wMax);
    this.wordCount = this.length;
  }

  /**
   * The character n-grams of one word, `source[from, to)`, alone in `hashes` (from 0 to `length`);
   * the same hashes `fill` gives that word. `fillSpanWords` must have grown the arrays for it.
   */
  fillCharNgramsOf(source: string, from: number, to: number, opts: NgramOptions): void {
    this.length = 0;
    this.wordCount = 0;
    const [cMin, cMax] = opts.charNgrams;
    if (cMax > 0) this.charNgrams(source, from, to, cMin, cMax);
  }

  /** Grows the arrays once to an upper bound of this document's n-grams, so the loops need no checks. */
  private reserve(
    tokens: number,
    longest: number,
    chars: number,
    wMin: number,
    wMax: number,
    cMin: number,
    cMax: number,
  ): void {
    const wordRange = wMax > 0 ? wMax - Math.max(1, wMin) + 1 : 0;
    const charRange = cMax > 0 ? Math.max(1, cMax - cMin + 1) : 0;
    const bound = tokens * wordRange + chars * charRange;
    if (this.hashes.length < bound) this.hashes = new Int32Array(Math.max(bound, this.hashes.length * 2));
    if (this.tokenHashes.length < tokens) this.tokenHashes = new Int32Array(tokens * 2);
    if (this.padded.length < longest + 2) this.padded = new Int32Array((longest + 2) * 2);
  }

  /** Word n-grams over the first `count` word hashes. */
  private wordNgrams(tokenHashes: Int32Array, count: number, nMin: number, nMax: number): void {
    const { hashes } = this;
    let at = this.length;
    for (let n = nMin; n <= nMax; n++) {
      for (let i = 0; i + n <= count; i++) {
        let h = WORD_BASIS ^ n;
        for (let k = 0; k < n; k++) h = Math.imul(h ^ tokenHashes[i + k]!, FNV_PRIME);
        hashes[at++] = h;
      }
    }
    this.length = at;
  }

  /**
   * N-grams of " token " (the token is `source` from `from` to `to`), each n from cMin to cMax; a
   * padded word shorter than cMin counts once, whole.
   */
  private charNgrams(source: string, from: number, to: number, cMin: number, cMax: number): void {
    const { padded, hashes } = this;
    const len = to - from + 2;
    padded[0] = SPACE;
    for (let i = from; i < to; i++) padded[i - from + 1] = source.charCodeAt(i);
    padded[len - 1] = SPACE;
    let at = this.length;
    if (len < cMin) {
      let h = CHAR_BASIS;
      for (let i = 0; i < len; i++) h = Math.imul(h ^ padded[i]!, FNV_PRIME);
      hashes[at++] = h;
      this.length = at;
      return;
    }
    for (let start = 0; start + cMin <= len; start++) {
      // FNV cannot roll a window, so each start re-hashes its first cMin - 1 characters.
      let h = CHAR_BASIS;
      for (let i = start; i < start + cMin - 1; i++) h = Math.imul(h ^ padded[i]!, FNV_PRIME);
      const last = Math.min(cMax, len - start);
      for (let n = cMin; n <= last; n++) {
        h = Math.imul(h ^ padded[start + n - 1]!, FNV_PRIME);
        // Mixing the length in keeps "abc" as a 3-gram apart from a 4-gram whose prefix hashes alike.
        hashes[at++] = Math.imul(h ^ n, FNV_PRIME);
      }
    }
    this.length = at;
  }
}

const shared = new NgramHashBuffer();

/**
 * Appends the hash of every n-gram of `tokens` to `out` (with repetition: counts are term
 * frequencies), word n-grams first. Returns how many word n-grams it appended.
 */
export function ngramHashes(tokens: readonly string[], opts: NgramOptions, out: number[]): number {
  shared.fill(tokens, opts);
  for (let i = 0; i < shared.length; i++) out.push(shared.hashes[i]!);
  return shared.wordCount;
}
