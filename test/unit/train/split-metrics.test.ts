import { describe, expect, it } from 'vitest';
import { microMetrics, perClassMetrics, weightedMetrics } from '../../../src/train/metrics.js';
import { stratifiedKFold, stratifiedSplit } from '../../../src/train/split.js';

const labels = [...Array(60).fill('a'), ...Array(30).fill('b'), ...Array(10).fill('c')] as string[];

describe('stratifiedSplit', () => {
  it('keeps each class share and is reproducible by seed', () => {
    const s = stratifiedSplit(labels, 0.2, 1);
    const count = (idx: number[], c: string) => idx.filter((i) => labels[i] === c).length;
    expect([count(s.test, 'a'), count(s.test, 'b'), count(s.test, 'c')]).toEqual([12, 6, 2]);
    expect(s.train.length + s.test.length).toBe(100);
    expect(new Set([...s.train, ...s.test]).size).toBe(100);
    expect(stratifiedSplit(labels, 0.2, 1)).toEqual(s);
    expect(stratifiedSplit(labels, 0.2, 2).test).not.toEqual(s.test);
  });
});

describe('stratifiedKFold', () => {
  it('puts every row in exactly one test fold, with classes spread evenly', () => {
    const folds = stratifiedKFold(labels, 5, 3);
    const seen = folds.flatMap((f) => f.test).sort((a, b) => a - b);
    expect(seen).toEqual([...Array(100).keys()]);
    for (const f of folds) {
      expect(f.test.filter((i) => labels[i] === 'c')).toHaveLength(2);
      expect(f.train.length + f.test.length).toBe(100);
    }
  });
});

describe('metrics (scikit-learn definitions)', () => {
  // scikit-learn's documented example for precision_recall_fscore_support.
  const yTrue = ['cat', 'dog', 'pig', 'cat', 'dog', 'pig'];
  const yPred = ['cat', 'pig', 'dog', 'cat', 'cat', 'dog'];
  const classes = ['cat', 'dog', 'pig'];

  it('weighted average matches scikit-learn', () => {
    const m = weightedMetrics(yTrue, yPred, classes);
    expect(m.precision).toBeCloseTo(0.2222222, 6);
    expect(m.recall).toBeCloseTo(0.3333333, 6);
    expect(m.f1).toBeCloseTo(0.2666667, 6);
    expect(m.num_samples).toBe(6);
  });

  it('per class matches scikit-learn, with zero division as 0', () => {
    const per = perClassMetrics(yTrue, yPred, classes);
    expect(per.cat).toMatchObject({ precision: 2 / 3, recall: 1, num_samples: 2 });
    expect(per.cat!.f1).toBeCloseTo(0.8, 10);
    expect(per.dog).toMatchObject({ precision: 0, recall: 0, f1: 0, num_samples: 2 });
  });

  it('micro average equals accuracy for single-label data', () => {
    expect(microMetrics(yTrue, yPred).f1).toBeCloseTo(2 / 6, 10);
    expect(microMetrics([], []).num_samples).toBe(0);
  });
});
