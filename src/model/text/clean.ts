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
  let lowered = text.toLowerCase();
  if (mayHoldLink(lowered)) lowered = lowered.replace(LINK, ' ');
  const out: string[] = [];
  let start = -1;
  let i = 0;
  while (i < lowered.length) {
    const code = lowered.charCodeAt(i);
    // A surrogate pair is one code point (two code units): it is a letter or not as a whole.
    const width =
      code >= 0xd800 && code <= 0xdbff && i + 1 < lowered.length && isLowSurrogate(lowered, i + 1) ? 2 : 1;
    if (isWordCodePoint(lowered, i, code)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      pushWord(lowered.slice(start, i), stopwords, out);
      start = -1;
    }
    i += width;
  }
  if (start >= 0) pushWord(lowered.slice(start), stopwords, out);
  return out;
}

function isLowSurrogate(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff;
}

function pushWord(word: string, stopwords: ReadonlySet<string>, out: string[]): void {
  if (!stopwords.has(word)) out.push(word);
}

export function cleanText(text: string, stopwords?: ReadonlySet<string>): string {
  return tokenize(text, stopwords).join(' ');
}

/** The course's feature: title and description joined by a space. */
export function projectText(title: string, description: string): string {
  return `${title} ${description}`;
}
