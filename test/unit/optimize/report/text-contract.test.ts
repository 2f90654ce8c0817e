import { describe, expect, it } from 'vitest';
import { bundleCustomModel } from '../../../../src/model/kinds/custom/bundle.js';
import { openModel } from '../../../../src/model/kinds/index.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../../src/model/text-classifier.js';
import {
  hasTextContract,
  readTextOutputs,
  textInputs,
} from '../../../../src/optimize/report/text-contract.js';
import { expectFerryErrorSync } from '../../../helpers/expect-ferry-error.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const rows = ['image pixels', 'text tokens', 'image camera', 'text language'].flatMap((title, i) =>
  Array.from({ length: 6 }, (_, k) => ({
    title: `${title} ${k}`,
    description: '',
    tag: i % 2 === 0 ? 'cv' : 'nlp',
  })),
);
const model = TextClassifier.fit(
  rows,
  rows.map((r) => r.tag),
  { ...DEFAULT_PARAMS, minDf: 1 },
);

describe('the text contract as the report reads it', () => {
  it('holds for the text classifier, not for a custom model with numeric tensors', async () => {
    expect(hasTextContract(model)).toBe(true);
    const cache = tmpDir('ferry-contract-');
    try {
      const artifact = await bundleCustomModel('test/fixtures/custom-models/linear-logits.mjs');
      const custom = await openModel('custom', artifact, {
        cacheDir: cache.path,
        callTimeoutMs: 5000,
        sha256: 'a'.repeat(64),
      });
      expect(hasTextContract(custom)).toBe(false);
      await custom.close?.();
    } finally {
      cache.remove();
    }
  });

  it('reads labels from `label`, else from the argmax of `probabilities` by class name', async () => {
    const inputs = textInputs(model.signature, rows.slice(0, 8));
    expect(inputs.title).toEqual({
      datatype: 'BYTES',
      shape: [8],
      data: rows.slice(0, 8).map((r) => r.title),
    });
    const out = await model.infer(inputs);
    const read = readTextOutputs(model, out, 8);
    const expected = model.predictBatch(rows.slice(0, 8));
    expect(read.labels).toEqual(expected.map((p) => p.prediction));
    read.probabilities!.forEach((p, i) => {
      for (const c of model.classes) expect(p[c]).toBeCloseTo(expected[i]!.probabilities[c]!, 6);
    });
    const onlyProbabilities = readTextOutputs(model, { probabilities: out.probabilities! }, 8);
    expect(onlyProbabilities.labels).toEqual(read.labels);
    const onlyLabels = readTextOutputs(model, { label: out.label! }, 8);
    expect(onlyLabels).toEqual({ labels: read.labels, probabilities: null });
    expect(() => readTextOutputs(model, {}, 8)).toThrow(/neither 8 labels nor 8 rows/u);
    expectFerryErrorSync(() => readTextOutputs(model, {}, 8), 'FERRY_MODEL_PREDICT_FAILED');
  });
});
