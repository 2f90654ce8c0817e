import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { quantizeWeightsInt8 } from '../../../src/model/heads/int8-weights.js';
import { onnxKind } from '../../../src/model/kinds/onnx/onnx-kind.js';
import { DenseHead } from '../../../src/model/linear-head.js';
import type { TextInput } from '../../../src/model/model.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import { onnxFeatureFeeds } from '../../../src/optimize/onnx-export/feature-feeds.js';
import { exportTextClassifierOnnx } from '../../../src/optimize/onnx-export/text-classifier-graph.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { runExported } from './onnx-export-run.js';

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
const labels = sample.rows.map((r) => r.tag);
const model = TextClassifier.fit(sample.rows, labels, DEFAULT_PARAMS);
const K = model.classes.length;
// Rows the model has seen, new rows, and edge cases: no known feature at all, an empty text.
const rows: TextInput[] = [
  ...sample.rows,
  { title: 'Object detection in video', description: 'yolo on the edge' },
  { title: 'zzqx qqzz', description: '' },
  { title: '', description: '' },
];

function argmax(p: ArrayLike<number>, from = 0): number {
  let best = 0;
  for (let c = 1; c < K; c++) if (p[from + c]! > p[from + best]!) best = c;
  return best;
}

/** The model with its weights replaced by their int8 dequantization (q · scale), computed in TS. */
function dequantizedModel(): TextClassifier {
  const q = quantizeWeightsInt8(model.head.denseWeights(), K);
  const w = Float32Array.from(q.values, (v, i) => v * q.scales[i % K]!);
  return new TextClassifier(model.params, model.classes, model.tfidf, new DenseHead(w, model.head.bias));
}

describe('ONNX export of the text classifier (features -> probabilities)', () => {
  it('float32: probabilities within 1e-5 of the model, the same labels', async () => {
    const out = await runExported(exportTextClassifierOnnx(model, { dtype: 'float32' }), model, rows);
    let worst = 0;
    rows.forEach((row, r) => {
      const expected = model.probabilities(row);
      for (let c = 0; c < K; c++)
        worst = Math.max(worst, Math.abs(out.probabilities[r * K + c]! - expected[c]!));
    });
    expect(worst).toBeLessThan(1e-5);
    expect(out.labels).toEqual(model.predictBatch(rows).map((p) => p.prediction));
  });

  it('int8: the TS computation with dequantized weights within 1e-5, same argmax; close to float', async () => {
    const artifact = exportTextClassifierOnnx(model, { dtype: 'int8' });
    const float = exportTextClassifierOnnx(model, { dtype: 'float32' });
    // int8 weights plus one float scale per class: about a quarter of the float graph.
    expect(artifact.length).toBeLessThan(float.length * 0.3);
    const out = await runExported(artifact, model, rows);
    const deq = dequantizedModel();
    let worst = 0;
    let worstVsFloat = 0;
    let agree = 0;
    rows.forEach((row, r) => {
      const expected = deq.probabilities(row);
      const exact = model.probabilities(row);
      for (let c = 0; c < K; c++) {
        worst = Math.max(worst, Math.abs(out.probabilities[r * K + c]! - expected[c]!));
        worstVsFloat = Math.max(worstVsFloat, Math.abs(out.probabilities[r * K + c]! - exact[c]!));
      }
      expect(argmax(out.probabilities, r * K)).toBe(argmax(expected));
      if (argmax(out.probabilities, r * K) === argmax(exact)) agree++;
    });
    expect(worst).toBeLessThan(1e-5);
    // Quantization moves probabilities a little, not a lot (and not nothing: it is int8).
    expect(worstVsFloat).toBeGreaterThan(0);
    expect(worstVsFloat).toBeLessThan(0.05);
    expect(agree / rows.length).toBeGreaterThan(0.97);
  });

  it('label: the model\'s "other" fallback under its threshold is in the graph', async () => {
    // The median top probability: half the rows fall under it.
    const tops = rows.map((row) => Math.max(...model.probabilities(row))).sort((a, b) => a - b);
    const strict = model.withOtherThreshold(tops[Math.floor(tops.length / 2)]!);
    const out = await runExported(exportTextClassifierOnnx(strict, { dtype: 'float32' }), strict, rows);
    const expected = strict.predictBatch(rows).map((p) => p.prediction);
    expect(out.labels).toEqual(expected);
    expect(
      expected.filter((l, i) => l !== model.predictBatch([rows[i]!])[0]!.prediction).length,
    ).toBeGreaterThan(0);
  });

  it('feeds: padded with index F and value 0 to the longest row; an empty row is all padding', () => {
    const feeds = onnxFeatureFeeds(model, rows);
    const F = BigInt(model.featureCount);
    expect(feeds.rows).toBe(rows.length);
    expect(feeds.indices.length).toBe(feeds.rows * feeds.width);
    const empty = rows.length - 1;
    for (let k = 0; k < feeds.width; k++) {
      expect(feeds.indices[empty * feeds.width + k]).toBe(F);
      expect(feeds.values[empty * feeds.width + k]).toBe(0);
    }
    const first = model.features(rows[0]!);
    expect(Array.from(feeds.indices.subarray(0, first.indices.length), Number)).toEqual(first.indices);
    expect(feeds.indices[first.indices.length]).toBe(first.indices.length < feeds.width ? F : undefined);
    expect(onnxFeatureFeeds(model, []).width).toBe(1);
  });

  it('declares its signature: INT64 and FP32 [batch, slots] in, FP32 [batch, K] and strings out', async () => {
    const session = await ort.InferenceSession.create(exportTextClassifierOnnx(model, { dtype: 'int8' }));
    try {
      expect(session.inputNames).toEqual(['feature_indices', 'feature_values']);
      expect(session.outputNames).toEqual(['probabilities', 'label']);
      const types = session.outputMetadata.map((m) => (m.isTensor ? [m.type, m.shape] : null));
      expect(types).toEqual([
        ['float32', ['batch', K]],
        ['string', ['batch']],
      ]);
    } finally {
      await session.release();
    }
  });

  it("is served by the onnx kind: signature from the graph, tensors in, the model's labels out", async () => {
    const served = await onnxKind.open(exportTextClassifierOnnx(model, { dtype: 'float32' }), {
      cacheDir: '/nonexistent',
      callTimeoutMs: 10_000,
      sha256: '',
    });
    try {
      const few = rows.slice(0, 5);
      const f = onnxFeatureFeeds(model, few);
      const shape = [f.rows, f.width];
      const out = await served.infer({
        feature_indices: { datatype: 'INT64', shape, data: Array.from(f.indices, Number) },
        feature_values: { datatype: 'FP32', shape, data: Array.from(f.values) },
      });
      expect(out.label).toEqual({
        datatype: 'BYTES',
        shape: [5],
        data: model.predictBatch(few).map((p) => p.prediction),
      });
      expect(out.probabilities!.shape).toEqual([5, K]);
    } finally {
      await served.close?.();
    }
  });
});
