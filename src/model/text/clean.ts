import { HashIndex } from '../hash-index.js';
import { FNV_PRIME, WORD_BASIS } from './fnv.js';
import { ENGLISH_STOPWORDS } from './stopwords.js';

/*
 * The course's clean_text, re-done so that it is Unicode-aware and fast enough for the request path:
 * lowercase, drop links, split on anything that is not a letter or digit (so punctuation ends up
 * spaced out and dropped), remove stopwords, collapse spaces. Splitting before removing stopwords
 * gives the same words as the course's `\b(stopword)\b` regex (a contraction such as "don't" splits
 * into "don" and "t", both stopwords), but with Unicode word boundaries, and letters such as "é" or
 * "ü" are kept instead of silently deleted.
 */
const STOPWORD_SET: ReadonlySet<string> = new Set(ENGLISH_STOPWORDS.filter((w) => !w.includes("'")));
const LINK = /\b(?:https?:\/\/|www\.)\S+/giu;
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;

/** ASCII letters and digits: the split below decides most characters by this table, no regex. */
const ASCII_WORD = Uint8Array.from({ length: 128 }, (_, c) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 1 : 0,
);

/**
 * Whether `lowered` can hold a match of LINK: every link has "://" or "www." in it (no other
 * character case-folds to "w"), and the regex, tried at every word boundary, costs more than these
 * two scans on the many texts without a link.
 */
function mayHoldLink(lowered: string): boolean {
  return lowered.includes('://') || lowered.includes('www.');
}

/** Whether the code point at `i` is a letter or digit (\p{L} or \p{N}), as the Unicode split decides. */
function isWordCodePoint(text: string, i: number, code: number): boolean {
  if (code < 128) return ASCII_WORD[code] === 1;
  return LETTER_OR_DIGIT.test(String.fromCodePoint(text.codePointAt(i)!));
}

/**
 * The words of `text`: lowercased, links dropped, split on every run of characters that are not
 * letters or digits (by code point, as /[^\p{L}\p{N}]+/u splits), stopwords removed. The scan
 * replaces String.split with that regex, which cost a third of the tokenizer.
 */
export function tokenize(text: string, stopwords: ReadonlySet<string> = STOPWORD_SET): string[] {
  // The default stopwords are dropped by the scan itself; another set is applied to the words.
  const byScan = stopwords === STOPWORD_SET;
  scanWords(text, scratch, byScan);
  const out: string[] = [];
  for (let t = 0; t < scratch.count; t++) {
    const word = scratch.text.slice(scratch.starts[t], scratch.ends[t]);
    if (byScan || !stopwords.has(word)) out.push(word);
  }
  return out;
}

/** The text lowercased, with every link replaced by a space: what the word split runs on. */
function lowerWithoutLinks(text: string): string {
  const lowered = text.toLowerCase();
  return mayHoldLink(lowered) ? lowered.replace(LINK, ' ') : lowered;
}

/**
 * The words `tokenize` gives, as spans of one lowercased string and their FNV word hashes, in
 * reusable typed arrays: the request path featurizes a text without a substring per word
 * (`scanWords`). Not re-entrant.
 */
export class WordSpans {
  /** The lowercased, link-free text the spans index. */
  text = '';
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** Each word's FNV-1a hash from WORD_BASIS, the hash feature-hashing.ts gives the token. */
  hashes = new Int32Array(64);

  push(start: number, end: number, hash: number): void {
    if (this.count === this.starts.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.hashes = grow(this.hashes);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.hashes[this.count++] = hash;
  }
}

/*
 * The default stopwords by their word hash. A word whose hash matches one is compared character by
 * character, so a hash collision cannot drop a word that `tokenize` keeps.
 */
const DEFAULT_STOPWORDS = [...STOPWORD_SET];
const STOPWORD_HASHES = stopwordIndex(DEFAULT_STOPWORDS);

function stopwordIndex(words: readonly string[]): HashIndex {
  const hashes = Int32Array.from(words, (w) => wordHash(w, 0, w.length));
  // Two stopwords with one hash would hide the second from the index; NLTK's list has none.
  if (new Set(hashes).size !== hashes.length) throw new Error('two stopwords share a word hash');
  return new HashIndex(hashes);
}

function wordHash(text: string, start: number, end: number): number {
  let h = WORD_BASIS;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

function isDefaultStopword(text: string, start: number, end: number, hash: number): boolean {
  const at = STOPWORD_HASHES.get(hash);
  if (at < 0) return false;
  const word = DEFAULT_STOPWORDS[at]!;
  if (word.length !== end - start) return false;
  for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) !== text.charCodeAt(start + i)) return false;
  return true;
}

/**
 * The words of `text` (lowercased, links dropped, split on every run of code points that are not
 * letters or digits, as /[^\p{L}\p{N}]+/u splits; the default stopwords dropped unless
 * `dropStopwords` is false) as spans in `spans`: what `tokenize` gives, without a string per word
 * (test/unit/model/text-speed-exactness.test.ts holds both to the original regex code). The word hash
 * is folded in during the scan, and the stopword test reads it.
 */
export function scanWords(text: string, spans: WordSpans, dropStopwords = true): void {
  const lowered = lowerWithoutLinks(text);
  spans.text = lowered;
  spans.count = 0;
  let start = -1;
  let h = WORD_BASIS;
  let i = 0;
  while (i < lowered.length) {
    const code = lowered.charCodeAt(i);
    // A surrogate pair is one code point (two code units): it is a letter or not as a whole.
    const width =
      code >= 0xd800 && code <= 0xdbff && i + 1 < lowered.length && isLowSurrogate(lowered, i + 1) ? 2 : 1;
    if (isWordCodePoint(lowered, i, code)) {
      if (start < 0) {
        start = i;
        h = WORD_BASIS;
      }
      h = Math.imul(h ^ code, FNV_PRIME);
      if (width === 2) h = Math.imul(h ^ lowered.charCodeAt(i + 1), FNV_PRIME);
    } else if (start >= 0) {
      if (!dropStopwords || !isDefaultStopword(lowered, start, i, h)) spans.push(start, i, h);
      start = -1;
    }
    i += width;
  }
  if (start >= 0 && (!dropStopwords || !isDefaultStopword(lowered, start, lowered.length, h)))
    spans.push(start, lowered.length, h);
}

/** tokenize's spans: it runs to completion on one thread, so one scratch serves every call. */
const scratch = new WordSpans();

function isLowSurrogate(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff;
}

export function cleanText(text: string, stopwords?: ReadonlySet<string>): string {
  return tokenize(text, stopwords).join(' ');
}

/** The course's feature: title and description joined by a space. */
export function projectText(title: string, description: string): string {
  return `${title} ${description}`;
}
