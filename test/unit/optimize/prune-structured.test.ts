import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/core/errors.js';
import { decodeModel } from '../../../src/model/codec.js';
import { DenseHead } from '../../../src/model/linear-head.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import { fineTune } from '../../../src/optimize/fine-tune.js';
import { featureImportance, pruneStructured } from '../../../src/optimize/prune-structured.js';
import { syntheticProjects } from './synthetic-texts.js';

const rows = syntheticProjects(90, 1);
const model = TextClassifier.fit(
  rows,
  rows.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const accuracy = (m: TextClassifier) =>
  m.predictBatch(rows).filter((p, i) => p.prediction === rows[i]!.tag).length / rows.length;

describe('pruneStructured', () => {
  it('keeps the most important features, in the vocabulary order, with their weights and idf', () => {
    const keep = Math.floor(model.featureCount / 4);
    const { model: pruned, details } = pruneStructured(model, keep);
    expect(pruned.featureCount).toBe(keep);
    expect(details.featuresKept).toBe(keep);
    const importance = featureImportance(model);
    const threshold = [...importance].sort((a, b) => b - a)[keep - 1]!;
    const K = model.classes.length;
    const W = model.head.denseWeights();
    const P = pruned.head.denseWeights();
    const old = model.tfidf;
    const kept = Array.from(pruned.tfidf.hashes, (h) => old.hashes.indexOf(h));
    kept.forEach((f, i) => {
      expect(f).toBeGreaterThanOrEqual(0);
      expect(importance[f]).toBeGreaterThanOrEqual(threshold);
      expect(pruned.tfidf.idf[i]).toBe(old.idf[f]);
      for (let c = 0; c < K; c++) expect(P[i * K + c]).toBe(W[f * K + c]);
    });
    // Word block first, then char block, each ascending: positions in the old vocabulary increase.
    for (let i = 1; i < kept.length; i++) expect(kept[i]!).toBeGreaterThan(kept[i - 1]!);
    expect(pruned.tfidf.wordFeatures).toBe(kept.filter((f) => f < old.wordFeatures).length);
    expect(Array.from(pruned.head.bias)).toEqual(Array.from(model.head.bias));
  });

  it('still predicts sensibly, and after fine-tuning as well as before (or better)', () => {
    const { model: pruned } = pruneStructured(model, 40);
    expect(accuracy(pruned)).toBeGreaterThan(0.7);
    const tuned = fineTune(pruned, { source: 'synthetic', rows }, { keepZeros: false });
    expect(tuned.featureCount).toBe(40);
    expect(accuracy(tuned)).toBeGreaterThanOrEqual(accuracy(pruned) - 0.02);
  });

  it('round-trips through the artifact and switches off a block that has no survivor', () => {
    const { model: pruned } = pruneStructured(model, 3);
    const back = decodeModel(pruned.toArtifact()) as TextClassifier;
    expect(back.featureCount).toBe(3);
    expect(back.predictBatch(rows.slice(0, 5))).toEqual(pruned.predictBatch(rows.slice(0, 5)));
    const blocks = [pruned.params.wordNgrams, pruned.params.charNgrams];
    if (pruned.tfidf.wordFeatures === 0) expect(blocks[0]).toEqual([0, 0]);
    if (pruned.tfidf.wordFeatures === 3) expect(blocks[1]).toEqual([0, 0]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses keepFeatures %s', (keep) => {
    expect(() => pruneStructured(model, keep)).toThrow(FerryError);
  });

  it('refuses keeping every feature, naming the feature count', () => {
    try {
      pruneStructured(model, model.featureCount);
      expect.unreachable();
    } catch (e) {
      expect((e as FerryError).code).toBe('FERRY_OPTIMIZE_INVALID');
      expect((e as FerryError).message).toContain(String(model.featureCount));
    }
  });
});

describe('fineTune', () => {
  it('keeps zero weights at zero when asked, and moves them otherwise', () => {
    const W = Float32Array.from(model.head.denseWeights());
    // Zero the smaller half of the weights, as magnitude pruning would.
    const cut = [...W].map(Math.abs).sort((a, b) => a - b)[W.length >> 1]!;
    for (let i = 0; i < W.length; i++) if (Math.abs(W[i]!) < cut) W[i] = 0;
    const zeroed = new TextClassifier(
      model.params,
      model.classes,
      model.tfidf,
      new DenseHead(W, model.head.bias),
    );
    const training = { source: 'synthetic', rows };
    const kept = fineTune(zeroed, training, { keepZeros: true, maxIterations: 50 });
    const free = fineTune(zeroed, training, { keepZeros: false, maxIterations: 50 });
    const K = kept.head.denseWeights();
    const F = free.head.denseWeights();
    let freed = 0;
    for (let i = 0; i < W.length; i++) {
      if (W[i] === 0) {
        expect(K[i]).toBe(0);
        if (F[i] !== 0) freed++;
      }
    }
    expect(freed).toBeGreaterThan(0);
    expect(kept.head.storage).toBe('dense-f32');
    expect(kept.tfidf).toBe(model.tfidf);
  });

  it('refuses rows whose labels the model does not know', () => {
    const odd = [{ ...rows[0]!, tag: 'robotics' }];
    expect(() => fineTune(model, { source: 's', rows: odd }, { keepZeros: false })).toThrow(/robotics/u);
  });
});
