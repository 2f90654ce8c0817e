import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headProbabilities } from '../../../src/model/linear-head.js';
import { projectText, scanWords, tokenize, WordSpans } from '../../../src/model/text/clean.js';
import { NgramHashBuffer, type NgramOptions, ngramHashes } from '../../../src/model/text/feature-hashing.js';
import { ENGLISH_STOPWORDS } from '../../../src/model/text/stopwords.js';
import { DEFAULT_PARAMS, TextClassifier, tfidfOptionsOf } from '../../../src/model/text-classifier.js';
import { fitTfidf, TfidfTransformer } from '../../../src/model/tfidf.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { COURSE_DATASET, hasCourseData } from '../../helpers/course-data.js';
import {
  referenceNgramHashes,
  referenceTokenize,
  referenceTransformer,
} from '../../helpers/text-model-reference.js';

/*
 * The fast featurization (issue 16) against the code it replaced, kept verbatim in
 * test/helpers/text-model-reference.ts: the same tokens, the same FNV hashes (artifacts store
 * them), the same features and probabilities.
 */
const RANGES: NgramOptions[] = [
  { wordNgrams: [1, 2], charNgrams: [3, 5] },
  { wordNgrams: [1, 1], charNgrams: [0, 0] },
  { wordNgrams: [0, 0], charNgrams: [2, 4] },
  { wordNgrams: [2, 3], charNgrams: [4, 6] },
  { wordNgrams: [1, 3], charNgrams: [1, 1] },
];

/** Random strings over ASCII, punctuation, accented and CJK letters, digits of other scripts, emoji, lone surrogates, links. */
function fuzzTexts(count: number): string[] {
  const pieces = [
    'a',
    'Z',
    '7',
    ' ',
    ' ',
    '-',
    "'",
    '.',
    ':',
    '/',
    'é',
    'Ü',
    'ß',
    'İ',
    'ſ',
    '中',
    '٣',
    '²',
    '😀',
    '\ud800',
    '\udc00',
    'http://x.io/p',
    'HTTPS://A.B',
    'www.',
    'WWW.site.org',
    'httpſ://y',
    '\u0301',
    'the',
    "don't",
    'and',
    'Ⅻ',
    'K',
    '_',
    '\n',
    '\t',
  ];
  let seed = 12345;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + next(30) }, () => pieces[next(pieces.length)]!).join(''),
  );
}

describe('fast tokenizer and n-gram hashes', () => {
  it('give the same tokens and hashes as the original code on awkward texts', () => {
    for (const text of [
      '',
      ' ',
      'Hello, World!',
      'see https://x.io/a?b=c and www.y.com',
      ...fuzzTexts(3000),
    ]) {
      const tokens = tokenize(text);
      expect(tokens).toEqual(referenceTokenize(text));
      expect(tokenize(text, new Set())).toEqual(referenceTokenize(text, new Set()));
      for (const opts of RANGES) {
        const fast: number[] = [];
        const old: number[] = [];
        expect(ngramHashes(tokens, opts, fast)).toBe(referenceNgramHashes(tokens, opts, old));
        expect(fast).toEqual(old);
      }
    }
  });
});

/** FNV-1a of a word's code units from the word basis, written out here as the contract states it. */
function fnvWordHash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h;
}

/** The words scanWords found, as strings: what tokenize gives. */
function spanWords(spans: WordSpans): string[] {
  return Array.from({ length: spans.count }, (_, t) => spans.text.slice(spans.starts[t], spans.ends[t]));
}

/**
 * The request path's n-gram hashes for `text`: its word n-grams (fillSpanWords), then each word's
 * character n-grams (fillCharNgramsOf), in the order ngramHashes gives them for its tokens.
 */
function spanHashes(text: string, opts: NgramOptions): number[] {
  const spans = new WordSpans();
  scanWords(text, spans);
  const buffer = new NgramHashBuffer();
  buffer.fillSpanWords(spans, opts);
  const out = Array.from(buffer.hashes.subarray(0, buffer.length));
  for (let t = 0; t < spans.count; t++) {
    buffer.fillCharNgramsOf(spans.text, spans.starts[t]!, spans.ends[t]!, opts);
    out.push(...buffer.hashes.subarray(0, buffer.length));
  }
  return out;
}

describe('the request path featurizes text without a string per word (scanWords, fillSpanWords, fillCharNgramsOf)', () => {
  const texts = [
    '',
    ' ',
    'The THE the',
    'Hello, World!',
    'see https://x.io/a?b=c and www.y.com',
    ENGLISH_STOPWORDS.join(' '),
    ENGLISH_STOPWORDS.map((w) => `${w}x x${w}`).join(' '),
    ...fuzzTexts(3000),
  ];

  it('finds the words tokenize gives, in order, with their word hashes', () => {
    const spans = new WordSpans();
    for (const text of texts) {
      scanWords(text, spans);
      expect(spanWords(spans)).toEqual(referenceTokenize(text));
      expect(Array.from(spans.hashes.subarray(0, spans.count))).toEqual(
        referenceTokenize(text).map(fnvWordHash),
      );
    }
  });

  it("keeps a word whose hash is a stopword's (the hash only finds candidates)", () => {
    // Found by solving FNV's last step for the final code unit, one per check the scan makes:
    // another length and other characters; the stopword as a prefix; the same length.
    const impostors: [string, string][] = [
      ['bwbt\u9d0c', 'the'],
      ['thedsvh\ufdf3', 'the'],
      ['zzzzzlfuq\u9325', 'yourselves'],
    ];
    const spans = new WordSpans();
    for (const [impostor, stopword] of impostors) {
      expect(fnvWordHash(impostor)).toBe(fnvWordHash(stopword));
      const text = `${stopword} ${impostor} ${stopword}`;
      scanWords(text, spans);
      expect(spanWords(spans)).toEqual([impostor]);
      expect(tokenize(text)).toEqual([impostor]);
    }
  });

  it('makes the n-gram hashes of the tokens, for every range', () => {
    for (const text of texts) {
      for (const opts of RANGES) {
        const old: number[] = [];
        referenceNgramHashes(referenceTokenize(text), opts, old);
        expect(spanHashes(text, opts)).toEqual(old);
      }
    }
  });

  it('gives the features transform gives, for every range', () => {
    const docs = texts.map((t) => tokenize(t));
    for (const opts of RANGES) {
      const state = fitTfidf(docs, { ...opts, minDf: 2, sublinearTf: true, normalizeBlocks: true });
      const transformer = new TfidfTransformer(state);
      const old = referenceTransformer(state);
      // Twice: the first pass fills the transformer's word cache, the second finds every word in it.
      for (const pass of [1, 2])
        for (const [i, text] of texts.entries()) {
          const fast = transformer.transformText(text);
          const ref = old(docs[i]!);
          expect(fast.indices, `pass ${pass}`).toEqual(ref.indices);
          const worst = Math.max(0, ...fast.values.map((v, k) => Math.abs(v - ref.values[k]!)));
          expect(worst).toBeLessThanOrEqual(1e-15);
        }
    }
  }, 60_000);
});

describe.runIf(hasCourseData)('fast featurization on the course data', () => {
  const data = parseLabeledDataset(readFileSync(COURSE_DATASET), 'dataset.csv');
  const holdout = parseLabeledDataset(
    readFileSync(resolve(dirname(COURSE_DATASET), 'holdout.csv')),
    'holdout.csv',
  );
  const rows = [...data.rows, ...holdout.rows];

  it('gives the same tokens and hashes on every row of dataset.csv and holdout.csv', () => {
    for (const row of rows) {
      const text = projectText(row.title, row.description);
      const tokens = tokenize(text);
      expect(tokens).toEqual(referenceTokenize(text));
      for (const opts of RANGES) {
        const fast: number[] = [];
        const old: number[] = [];
        expect(ngramHashes(tokens, opts, fast)).toBe(referenceNgramHashes(tokens, opts, old));
        expect(fast).toEqual(old);
        expect(spanHashes(text, opts)).toEqual(old);
      }
    }
  });

  it('gives the same features and probabilities (within 1e-12) as the original code', () => {
    // Trained on dataset.csv only; holdout.csv is only predicted.
    const model = TextClassifier.fit(
      data.rows,
      data.rows.map((r) => r.tag),
      DEFAULT_PARAMS,
      { maxIterations: 50 },
    );
    expect(tfidfOptionsOf(DEFAULT_PARAMS).sublinearTf).toBe(true);
    const old = referenceTransformer(model.tfidf);
    const oldProbs = new Float64Array(model.classes.length);
    let worst = 0;
    for (const row of rows) {
      const fast = model.features(row);
      const ref = old(referenceTokenize(projectText(row.title, row.description)));
      expect(fast.indices).toEqual(ref.indices);
      fast.values.forEach((v, k) => {
        expect(Math.abs(v - ref.values[k]!)).toBeLessThanOrEqual(1e-15);
      });
      headProbabilities(model.head, ref.indices, ref.values, oldProbs);
      const predicted = model.predictBatch([row])[0]!;
      model.classes.forEach((c, k) => {
        worst = Math.max(worst, Math.abs(predicted.probabilities[c]! - oldProbs[k]!));
      });
      expect(predicted.prediction).toBe(model.decide(oldProbs));
      model.probabilities(row).forEach((p, k) => {
        worst = Math.max(worst, Math.abs(p - oldProbs[k]!));
      });
    }
    expect(worst).toBeLessThanOrEqual(1e-12);
  }, 120_000);
});
