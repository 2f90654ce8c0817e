import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../../src/model/codec.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { stratifiedSplit } from '../../../src/train/split.js';

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
const labels = sample.rows.map((r) => r.tag);
const model = TextClassifier.fit(sample.rows, labels, DEFAULT_PARAMS);

function mutate(fn: (doc: Record<string, unknown>) => void): Uint8Array {
  const doc = JSON.parse(new TextDecoder().decode(model.toArtifact())) as Record<string, unknown>;
  fn(doc);
  return new TextEncoder().encode(JSON.stringify(doc));
}

describe('TextClassifier', () => {
  it('generalises: well above chance on rows it was not trained on', () => {
    // 4 classes: chance is about 0.25; the held-out quarter is ~40 rows of the 160-row sample.
    const { train, test } = stratifiedSplit(labels, 0.25, 7);
    const heldOut = TextClassifier.fit(
      train.map((i) => sample.rows[i]!),
      train.map((i) => labels[i]!),
      DEFAULT_PARAMS,
    );
    const predictions = heldOut.predictBatch(test.map((i) => sample.rows[i]!));
    const correct = predictions.filter((p, k) => p.prediction === labels[test[k]!]).length;
    expect(correct / test.length).toBeGreaterThan(0.7);
  });

  it('returns probabilities over all classes that sum to 1', () => {
    const [p] = model.predictBatch([{ title: 'Object detection in video', description: '' }]);
    expect(Object.keys(p!.probabilities).sort()).toEqual([
      'computer-vision',
      'mlops',
      'natural-language-processing',
      'other',
    ]);
    expect(Object.values(p!.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('is deterministic: same data and params give the same artifact bytes', () => {
    const again = TextClassifier.fit(sample.rows, labels, DEFAULT_PARAMS);
    expect(Buffer.from(again.toArtifact()).equals(Buffer.from(model.toArtifact()))).toBe(true);
  });

  it('round-trips through its artifact with identical predictions and bytes', () => {
    const bytes = model.toArtifact();
    const loaded = decodeModel(bytes);
    expect(loaded.predictBatch(sample.rows)).toEqual(model.predictBatch(sample.rows));
    expect(Buffer.from(loaded.toArtifact()).equals(Buffer.from(bytes))).toBe(true);
  });

  it('falls back to "other" under the confidence threshold', () => {
    const strict = model.withOtherThreshold(0.999999);
    const preds = strict.predictBatch([{ title: 'Something vague', description: 'about things' }]);
    expect(preds[0]!.prediction).toBe('other');
  });

  it('refuses artifacts that are not ferry models, of unknown kind, or with inconsistent tensors', () => {
    expect(() => decodeModel(new TextEncoder().encode('not json'))).toThrow(
      expect.objectContaining({ code: 'FERRY_MODEL_INVALID_ARTIFACT' }),
    );
    expect(() => decodeModel(Uint8Array.from([0xff, 0xfe]))).toThrow(
      expect.objectContaining({ code: 'FERRY_MODEL_INVALID_ARTIFACT' }),
    );
    expect(() => decodeModel(mutate((d) => (d.kind = 'python.pickle')))).toThrow(
      expect.objectContaining({ code: 'FERRY_MODEL_UNKNOWN_KIND' }),
    );
    expect(() =>
      decodeModel(
        mutate((d) => {
          (d.tensors as Record<string, unknown>).bias = { dtype: 'float32', length: 1, data: 'AAAAAA==' };
        }),
      ),
    ).toThrow(expect.objectContaining({ code: 'FERRY_MODEL_INVALID_ARTIFACT' }));
    expect(() => decodeModel(mutate((d) => (d.formatVersion = 99)))).toThrow(
      expect.objectContaining({ code: 'FERRY_MODEL_INVALID_ARTIFACT' }),
    );
  });
});
