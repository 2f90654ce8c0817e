import { describe, expect, it } from 'vitest';
import { WordFeatureCache } from '../../../src/model/text/word-feature-cache.js';

/** FNV-1a word hash, as the tokenizer's scan makes it. */
function wordHash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h;
}

const featuresOf = (cache: WordFeatureCache, e: number) =>
  Array.from(cache.features.subarray(cache.start(e), cache.start(e) + cache.count(e)));

/** Adds `word` (found in `text` at `from`) with the given features; returns its entry. */
function add(cache: WordFeatureCache, text: string, from: number, word: string, features: number[]): number {
  return cache.add(
    text,
    from,
    from + word.length,
    wordHash(word),
    Int32Array.from(features),
    features.length,
  );
}

describe('WordFeatureCache', () => {
  it('finds a word by its characters, in any text, and gives back its features in order', () => {
    const cache = new WordFeatureCache(8);
    const text = 'deep learning models';
    expect(cache.find(text, 5, 13, wordHash('learning'))).toBe(-1);
    const e = add(cache, text, 5, 'learning', [7, 3, 7, 12]);
    expect(cache.find('learning', 0, 8, wordHash('learning'))).toBe(e);
    expect(featuresOf(cache, e)).toEqual([7, 3, 7, 12]);
    expect(cache.find(text, 0, 4, wordHash('deep'))).toBe(-1);
  });

  it('keeps two words with one hash apart (the hash only finds candidates)', () => {
    // "bwbt" + U+9D0C hashes like "the" (see text-speed-exactness.test.ts).
    const impostor = 'bwbt\u9d0c';
    expect(wordHash(impostor)).toBe(wordHash('the'));
    const cache = new WordFeatureCache(8);
    const a = add(cache, 'the', 0, 'the', [1]);
    expect(cache.find(impostor, 0, impostor.length, wordHash(impostor))).toBe(-1);
    const b = add(cache, impostor, 0, impostor, [2, 3]);
    expect(cache.find('the', 0, 3, wordHash('the'))).toBe(a);
    expect(cache.find(impostor, 0, impostor.length, wordHash(impostor))).toBe(b);
    expect(featuresOf(cache, a)).toEqual([1]);
    expect(featuresOf(cache, b)).toEqual([2, 3]);
  });

  it('does not keep a word longer than its limit, or one with more features than a pool holds', () => {
    const cache = new WordFeatureCache(4, 5, 2);
    expect(add(cache, 'toolong', 0, 'toolong', [1])).toBe(-1);
    expect(add(cache, 'many', 0, 'many', [1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(-1);
    expect(cache.size).toBe(0);
    expect(cache.find('many', 0, 4, wordHash('many'))).toBe(-1);
  });

  it('starts again empty when full, and then holds only what came after', () => {
    const cache = new WordFeatureCache(3);
    const words = ['alpha', 'beta', 'gamma', 'delta'];
    for (const [i, w] of words.entries()) add(cache, w, 0, w, [i]);
    // The fourth word found the cache full: it cleared it, then went in alone.
    expect(cache.size).toBe(1);
    for (const w of words.slice(0, 3)) expect(cache.find(w, 0, w.length, wordHash(w))).toBe(-1);
    const e = cache.find('delta', 0, 5, wordHash('delta'));
    expect(featuresOf(cache, e)).toEqual([3]);
    // A full feature pool clears it too: 3 words × 24 features hold 72, then 30 + 50.
    const big = new WordFeatureCache(3);
    add(
      big,
      'one',
      0,
      'one',
      Array.from({ length: 30 }, (_, i) => i),
    );
    add(
      big,
      'two',
      0,
      'two',
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(big.size).toBe(1);
    expect(big.find('one', 0, 3, wordHash('one'))).toBe(-1);
    expect(featuresOf(big, big.find('two', 0, 3, wordHash('two')))).toHaveLength(50);
  });
});
