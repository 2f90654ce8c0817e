import { describe, expect, it } from 'vitest';
import { HashIndex } from '../../../src/model/hash-index.js';
import { ngramHashes } from '../../../src/model/text/feature-hashing.js';
import { fitTfidf, TfidfTransformer } from '../../../src/model/tfidf.js';

const opts = {
  wordNgrams: [1, 2] as [number, number],
  charNgrams: [3, 5] as [number, number],
  minDf: 1,
  sublinearTf: true,
  normalizeBlocks: true,
};

describe('feature hashing', () => {
  it('counts word 1-2-grams and char_wb 3-5-grams like scikit-learn', () => {
    const out: number[] = [];
    const words = ngramHashes(['ab', 'cde'], opts, out);
    expect(words).toBe(3); // ab, cde, "ab cde"
    // " ab " (4 chars): 3-grams ×2, 4-gram ×1; " cde " (5 chars): 3-grams ×3, 4-grams ×2, 5-gram ×1.
    expect(out.length - words).toBe(3 + 6);
  });

  it('gives different ids to a word and the same letters as a character n-gram', () => {
    const a: number[] = [];
    ngramHashes(['abc'], { ...opts, charNgrams: [0, 0] }, a);
    const b: number[] = [];
    ngramHashes(['abc'], { ...opts, wordNgrams: [0, 0], charNgrams: [5, 5] }, b);
    expect(a[0]).not.toBe(b[0]);
  });
});

describe('HashIndex', () => {
  it('maps every key to its position and unknown keys to -1', () => {
    const keys = Int32Array.from({ length: 5000 }, (_, i) => Math.imul(i + 1, 2654435761) | 0);
    const index = new HashIndex(keys);
    expect(Array.from(keys, (k) => index.get(k))).toEqual(Array.from(keys, (_, i) => i));
    expect(index.get(12345)).toBe(-1);
  });
});

describe('TF-IDF', () => {
  const docs = [
    ['deep', 'learning', 'images'],
    ['deep', 'learning', 'text'],
    ['text', 'classification'],
  ];
  const state = fitTfidf(docs, opts);
  const t = new TfidfTransformer(state);

  it('normalises the word and character blocks to unit length each', () => {
    const v = t.transform(['deep', 'text']);
    let word = 0;
    let char = 0;
    v.indices.forEach((f, k) => {
      if (f < state.wordFeatures) word += v.values[k]! ** 2;
      else char += v.values[k]! ** 2;
    });
    expect(word).toBeCloseTo(1, 10);
    expect(char).toBeCloseTo(1, 10);
  });

  it('gives rarer terms a higher idf (smoothed as scikit-learn)', () => {
    const idfOf = (word: string) => {
      const h: number[] = [];
      ngramHashes([word], { ...opts, charNgrams: [0, 0], wordNgrams: [1, 1] }, h);
      return state.idf[new HashIndex(state.hashes).get(h[0]!)]!;
    };
    expect(idfOf('deep')).toBeCloseTo(Math.log(4 / 3) + 1, 5);
    expect(idfOf('images')).toBeCloseTo(Math.log(4 / 2) + 1, 5);
  });

  it('ignores unseen n-grams and returns an empty vector for unknown text', () => {
    expect(t.transform(['zzzzqqq']).indices.length).toBe(0);
  });

  it('drops n-grams below minDf', () => {
    const pruned = fitTfidf(docs, { ...opts, minDf: 2 });
    expect(pruned.hashes.length).toBeLessThan(state.hashes.length);
  });
});
