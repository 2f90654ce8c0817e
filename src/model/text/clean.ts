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
const NON_ALNUM = /[^\p{L}\p{N}]+/u;

export function tokenize(text: string, stopwords: ReadonlySet<string> = STOPWORD_SET): string[] {
  const lowered = text.toLowerCase().replace(LINK, ' ');
  const out: string[] = [];
  for (const word of lowered.split(NON_ALNUM)) {
    if (word.length > 0 && !stopwords.has(word)) out.push(word);
  }
  return out;
}

export function cleanText(text: string, stopwords?: ReadonlySet<string>): string {
  return tokenize(text, stopwords).join(' ');
}

/** The course's feature: title and description joined by a space. */
export function projectText(title: string, description: string): string {
  return `${title} ${description}`;
}
