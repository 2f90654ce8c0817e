import { describe, expect, it } from 'vitest';
import { cleanText, tokenize } from '../../../src/model/text/clean.js';

describe('cleanText (the course clean_text, Unicode-aware)', () => {
  it('lowercases, removes stopwords and punctuation, collapses spaces', () => {
    expect(cleanText('Transfer learning with Transformers!!  (A survey)')).toBe(
      'transfer learning transformers survey',
    );
  });

  it('spaces out punctuation inside words instead of gluing pieces together', () => {
    expect(cleanText('state-of-the-art NLP/CV, end-to-end')).toBe('state art nlp cv end end');
  });

  it('removes contractions that are stopwords as the course regex does', () => {
    expect(cleanText("Don't stop: it's what you'll need")).toBe('stop need');
  });

  it('keeps non-ASCII letters and digits and uses Unicode word boundaries', () => {
    expect(cleanText('Détection d’objets — naïve Bayes über 3D')).toBe(
      'détection objets naïve bayes über 3d',
    );
    // "the" glued to a non-ASCII letter is part of a word, not a stopword.
    expect(tokenize('theé')).toEqual(['theé']);
  });

  it('drops links', () => {
    expect(cleanText('see https://github.com/x/y-z and www.example.org/page for code')).toBe('see code');
  });

  it('returns an empty string for stopwords and punctuation only', () => {
    expect(cleanText('The, and... of!')).toBe('');
  });
});
