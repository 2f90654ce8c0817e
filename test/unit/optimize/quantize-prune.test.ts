import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Int8Head } from '../../../src/model/heads/int8-head.js';
import { SparseHead } from '../../../src/model/heads/sparse-head.js';
import { DenseHead } from '../../../src/model/linear-head.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import type { QuantizeOptions } from '../../../src/optimize/optimize-types.js';
import { pruneMagnitude } from '../../../src/optimize/prune-magnitude.js';
import { quantizeTextClassifier } from '../../../src/optimize/quantize.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
const parent = TextClassifier.fit(
  sample.rows,
  sample.rows.map((r) => r.tag),
  { ...DEFAULT_PARAMS, charNgrams: [3, 4] },
);
const weights = parent.head.denseWeights();

describe('quantizeTextClassifier', () => {
  it('int8: an Int8Head over the same vocabulary, probabilities close to the parent', () => {
    const { model, details } = quantizeTextClassifier(parent, { dtype: 'int8' });
    expect(model.head).toBeInstanceOf(Int8Head);
    expect(model.tfidf).toBe(parent.tfidf);
    expect(model.head.bias).toEqual(parent.head.bias);
    expect(details.dtype).toBe('int8');
    expect(details.maxAbsError as number).toBeGreaterThan(0);
    for (const row of sample.rows.slice(0, 30)) {
      const a = model.probabilities(row);
      const b = parent.probabilities(row);
      for (let c = 0; c < a.length; c++) expect(Math.abs(a[c]! - b[c]!)).toBeLessThan(0.02);
    }
  });

  it('float16: storage float16, weights within half-precision rounding', () => {
    const { model } = quantizeTextClassifier(parent, { dtype: 'float16' });
    expect(model.head.storage).toBe('float16');
    const w = model.head.denseWeights();
    for (let i = 0; i < w.length; i++)
      expect(Math.abs(w[i]! - weights[i]!)).toBeLessThanOrEqual(Math.abs(weights[i]!) * 2 ** -11 + 2 ** -25);
  });

  it('refuses an unknown dtype and a weight float16 cannot hold', () => {
    expectFerryErrorSync(
      () => quantizeTextClassifier(parent, { dtype: 'int4' } as unknown as QuantizeOptions),
      'FERRY_OPTIMIZE_INVALID',
    );
    const huge = Float32Array.from(weights);
    huge[0] = 1e6;
    const hugeModel = parent.withHead(new DenseHead(huge, parent.head.bias));
    expectFerryErrorSync(
      () => quantizeTextClassifier(hugeModel, { dtype: 'float16' }),
      'FERRY_OPTIMIZE_INVALID',
    );
  });
});

describe('pruneMagnitude', () => {
  it.each([0, 1, -0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses sparsity %s', (s) => {
    expectFerryErrorSync(() => pruneMagnitude(parent, s), 'FERRY_OPTIMIZE_INVALID');
  });

  it('zeroes exactly the smallest |w| globally, keeps the rest and the bias, stores sparse', () => {
    const { model, details } = pruneMagnitude(parent, 0.75);
    expect(model.head).toBeInstanceOf(SparseHead);
    const pruned = model.head.denseWeights();
    const zeroed = Math.round(0.75 * weights.length);
    expect(pruned.filter((w) => w !== 0).length).toBe(weights.length - zeroed);
    let largestZeroed = 0;
    let smallestKept = Number.POSITIVE_INFINITY;
    pruned.forEach((w, i) => {
      if (w === 0) largestZeroed = Math.max(largestZeroed, Math.abs(weights[i]!));
      else {
        expect(w).toBe(weights[i]);
        smallestKept = Math.min(smallestKept, Math.abs(w));
      }
    });
    expect(largestZeroed).toBeLessThanOrEqual(smallestKept);
    expect(model.head.bias).toEqual(parent.head.bias);
    expect(model.featureCount).toBe(parent.featureCount);
    expect(details.sparsity as number).toBeCloseTo(0.75, 3);
  });

  it('dropEmptyFeatures: features without weights leave the vocabulary, the others keep theirs', () => {
    const kept = pruneMagnitude(parent, 0.9).model;
    const dropped = pruneMagnitude(parent, 0.9, { dropEmptyFeatures: true });
    const K = parent.classes.length;
    expect(dropped.model.featureCount).toBe(
      parent.featureCount - (dropped.details.featuresDropped as number),
    );
    expect(dropped.details.featuresDropped as number).toBeGreaterThan(0);
    const keptWeights = kept.head.denseWeights();
    const index = new Map(Array.from(parent.tfidf.hashes, (h, i) => [h, i]));
    const w = dropped.model.head.denseWeights();
    dropped.model.tfidf.hashes.forEach((h, j) => {
      const i = index.get(h)!;
      expect(dropped.model.tfidf.idf[j]).toBe(parent.tfidf.idf[i]);
      expect(w.subarray(j * K, (j + 1) * K)).toEqual(keptWeights.subarray(i * K, (i + 1) * K));
      expect(j < dropped.model.tfidf.wordFeatures).toBe(i < parent.tfidf.wordFeatures);
    });
  });
});
