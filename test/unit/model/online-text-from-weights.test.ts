import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../../src/model/codec.js';
import { OnlineTextClassifier } from '../../../src/model/kinds/online-text/online-text-classifier.js';

describe('OnlineTextClassifier.fromWeights', () => {
  const params = { bits: 4, wordNgrams: [1, 1] as const, charNgrams: [0, 0] as const };

  it('predicts from the given bucket weights and bias, and survives its artifact', () => {
    // With 16 buckets every word lands in some bucket; all buckets push towards class "b".
    const buckets = Int32Array.from({ length: 16 }, (_, b) => b);
    const weights = new Float32Array(16 * 2);
    for (let b = 0; b < 16; b++) weights[b * 2 + 1] = 3;
    const model = OnlineTextClassifier.fromWeights(params, ['a', 'b'], {
      buckets,
      weights,
      bias: Float32Array.from([0.5, 0]),
      updates: 7,
    });
    const [p] = model.predictBatch([{ title: 'hello', description: '' }]);
    expect(p!.prediction).toBe('b');
    // One word, l2-normalised count 1: logits 0.5 and 3.
    expect(p!.probabilities.b).toBeCloseTo(1 / (1 + Math.exp(0.5 - 3)), 6);
    // An empty text only sees the bias.
    expect(model.predictBatch([{ title: '', description: '' }])[0]!.prediction).toBe('a');
    expect(model.updates).toBe(7);
    const back = decodeModel(model.toArtifact());
    expect(back.predictBatch([{ title: 'hello', description: '' }])).toEqual([p]);
  });

  it('refuses weights that do not match the buckets, or a bucket outside the table', () => {
    const bias = new Float32Array(2);
    expect(() =>
      OnlineTextClassifier.fromWeights(params, ['a', 'b'], {
        buckets: Int32Array.from([1]),
        weights: new Float32Array(3),
        bias,
        updates: 0,
      }),
    ).toThrow(RangeError);
    expect(() =>
      OnlineTextClassifier.fromWeights(params, ['a', 'b'], {
        buckets: Int32Array.from([16]),
        weights: new Float32Array(2),
        bias,
        updates: 0,
      }),
    ).toThrow(/outside/u);
  });
});
