/*
 * Features are n-grams identified by a 32-bit FNV-1a hash instead of by string, so that the request
 * path allocates no substrings: a few thousand integer operations per document. Word and character
 * features hash with different offset bases so they never share an id by construction.
 */
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

export interface NgramOptions {
  /** Word n-gram range, inclusive; [0, 0] turns word features off. */
  wordNgrams: readonly [number, number];
  /** Character n-gram range inside space-padded words (scikit-learn's `char_wb`); [0, 0] turns them off. */
  charNgrams: readonly [number, number];
}

/**
 * Appends the hash of every n-gram of `tokens` to `out` (with repetition: counts are term
 * frequencies), word n-grams first. Returns how many word n-grams it appended.
 */
export function ngramHashes(tokens: readonly string[], opts: NgramOptions, out: number[]): number {
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

/** N-grams of " token ", each n from cMin to cMax; a padded word shorter than cMin counts once, whole. */
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
      // Mixing the length in keeps "abc" as a 3-gram apart from a 4-gram whose prefix hashes alike.
      out.push(Math.imul(h ^ n, FNV_PRIME) | 0);
    }
  }
}

/** The i-th code unit of " token " without building that string. */
function paddedCharAt(token: string, len: number, i: number): number {
  return i === 0 || i === len - 1 ? 32 : token.charCodeAt(i - 1);
}
