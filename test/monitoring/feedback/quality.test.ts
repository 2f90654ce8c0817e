import { describe, expect, it } from 'vitest';
import { qualityOf, rollingQuality } from '../../../src/monitoring/feedback/quality.js';
import type { LabeledPrediction, LabeledWindow } from '../../../src/monitoring/feedback-types.js';

function row(version: number, label: string, predicted: string | undefined): LabeledPrediction {
  return {
    requestId: `r-${Math.random()}`,
    item: 0,
    version,
    at: '2026-12-01T00:00:00.000Z',
    label,
    predicted,
    logged: { inputs: {}, outputs: {}, source: 'model' },
  };
}

describe('qualityOf', () => {
  it('accuracy, weighted F1 and per-class F1 per version, against hand-computed values', () => {
    // Version 1: y_true = [a, a, a, b, b, c], y_pred = [a, a, b, b, c, c].
    // a: tp 2, fp 0, fn 1 → P 1, R 2/3, F1 0.8; b: tp 1, fp 1, fn 1 → F1 0.5; c: tp 1, fp 1, fn 0 → P 0.5, R 1, F1 2/3.
    // weighted F1 = (3·0.8 + 2·0.5 + 1·2/3) / 6 = 0.6777…; accuracy 4/6.
    // sklearn: f1_score(['a','a','a','b','b','c'], ['a','a','b','b','c','c'], average='weighted') = 0.67777…
    const v1 = [
      row(1, 'a', 'a'),
      row(1, 'a', 'a'),
      row(1, 'a', 'b'),
      row(1, 'b', 'b'),
      row(1, 'b', 'c'),
      row(1, 'c', 'c'),
      row(1, 'c', undefined),
    ];
    // Version 2: one right, one wrong with a class never true: d gets weight 0.
    const v2 = [row(2, 'a', 'a'), row(2, 'b', 'd')];
    const window: LabeledWindow = { matched: [...v2, ...v1], unmatched: 3 };
    const q = qualityOf(window);
    expect(q.matched).toBe(9);
    expect(q.unmatched).toBe(3);
    expect(q.versions.map((v) => v.version)).toEqual([1, 2]);
    const [one, two] = q.versions;
    expect(one).toMatchObject({ labels: 7, withoutPrediction: 1, compared: 6 });
    expect(one!.accuracy).toBeCloseTo(4 / 6, 12);
    expect(one!.weightedF1).toBeCloseTo((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6, 12);
    expect(one!.weightedF1).toBeCloseTo(0.6777777777777777, 12);
    expect(one!.perClass.a).toEqual({ f1: expect.closeTo(0.8, 12), support: 3 });
    expect(one!.perClass.b!.f1).toBeCloseTo(0.5, 12);
    expect(one!.perClass.c).toEqual({ f1: expect.closeTo(2 / 3, 12), support: 1 });
    // a: F1 1 (support 1); b: F1 0 (support 1); d: F1 0 (support 0) → weighted 0.5.
    expect(two).toMatchObject({ labels: 2, compared: 2, accuracy: 0.5, weightedF1: 0.5 });
    expect(two!.perClass.d).toEqual({ f1: 0, support: 0 });
  });

  it('a version whose predictions have no top label has no figures, only counts', () => {
    const q = qualityOf({ matched: [row(4, 'a', undefined)], unmatched: 0 });
    expect(q.versions).toEqual([
      {
        version: 4,
        labels: 1,
        withoutPrediction: 1,
        compared: 0,
        accuracy: null,
        weightedF1: null,
        perClass: {},
      },
    ]);
    expect(qualityOf({ matched: [], unmatched: 2 })).toEqual({ matched: 0, unmatched: 2, versions: [] });
  });
});

describe('rollingQuality', () => {
  it('asks the source for the time window and the last N labels', async () => {
    const asked: unknown[] = [];
    const source = {
      labeled: async (model: string, range: unknown) => {
        asked.push({ model, range });
        return { matched: [row(1, 'a', 'a')], unmatched: 0 };
      },
      countSince: async () => 0,
    };
    const q = await rollingQuality(source, 'm', {
      windowMs: 3_600_000,
      last: 500,
      now: new Date('2026-12-01T12:00:00.000Z'),
    });
    expect(q.versions[0]!.accuracy).toBe(1);
    expect(asked).toEqual([
      {
        model: 'm',
        range: { since: '2026-12-01T11:00:00.000Z', until: '2026-12-01T12:00:00.001Z', last: 500 },
      },
    ]);
  });
});
