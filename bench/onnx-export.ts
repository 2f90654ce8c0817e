/**
 * bench/onnx-export (issue 13): the exported graph (features -> probabilities, label) under
 * onnxruntime-node against the TypeScript head on the same features, batch 256, featurization
 * excluded from both. The model is trained on dataset.csv (tune off); the batch is its first 256
 * rows. Also: file sizes and the int8 graph's top-1 agreement with the float model on dataset.csv.
 * Session options as the onnx kind's (one thread, sequential, all graph optimizations).
 * Run: npx tsx bench/onnx-export.ts   (DATASET_DIR for the course data; RUNS, default 200)
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { headProbabilities } from '../src/model/linear-head.js';
import { onnxFeatureFeeds } from '../src/optimize/onnx-export/feature-feeds.js';
import { exportTextClassifierOnnx } from '../src/optimize/onnx-export/text-classifier-graph.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { trainTextClassifier } from '../src/train/pipeline.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const RUNS = Number(process.env.RUNS ?? 200);
const data = parseLabeledDataset(readFileSync(join(dir, 'dataset.csv')), 'dataset.csv');
const { model } = trainTextClassifier(data, { seed: 42, tune: false, refitOnAll: false });
const K = model.classes.length;
const batch = data.rows.slice(0, 256);
const sparse = batch.map((r) => model.features(r));
const feeds = onnxFeatureFeeds(model, batch);
const dims = [feeds.rows, feeds.width];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeIt(fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

const out = new Float64Array(K);
const tsMs = timeIt(() => {
  for (const v of sparse) headProbabilities(model.head, v.indices, v.values, out);
});
const meanFeatures = sparse.reduce((a, v) => a + v.indices.length, 0) / sparse.length;
console.log(
  `model: ${model.featureCount} features, ${K} classes; batch ${feeds.rows} rows, ${feeds.width} slots ` +
    `(the longest row; mean ${meanFeatures.toFixed(1)} features per row)`,
);
console.log(`TS head (float32 weights, float64 sums): ${tsMs.toFixed(3)} ms per batch of 256`);

for (const dtype of ['float32', 'int8'] as const) {
  const artifact = exportTextClassifierOnnx(model, { dtype });
  const session = await ort.InferenceSession.create(artifact, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const run = () =>
    session.run({
      feature_indices: new ort.Tensor('int64', feeds.indices, dims),
      feature_values: new ort.Tensor('float32', feeds.values, dims),
    });
  const ms = await timeAsync(run);
  // Agreement with the float model on all of dataset.csv, in batches of 256.
  let agree = 0;
  for (let start = 0; start < data.rows.length; start += 256) {
    const rows = data.rows.slice(start, start + 256);
    const f = onnxFeatureFeeds(model, rows);
    const res = await session.run({
      feature_indices: new ort.Tensor('int64', f.indices, [f.rows, f.width]),
      feature_values: new ort.Tensor('float32', f.values, [f.rows, f.width]),
    });
    const labels = res.label!.data as string[];
    model.predictBatch(rows).forEach((p, i) => {
      if (p.prediction === labels[i]) agree++;
    });
  }
  console.log(
    `ORT ${dtype}: ${ms.toFixed(3)} ms per batch of 256; file ${artifact.length} bytes; ` +
      `top-1 agreement with the model on dataset.csv ${agree}/${data.rows.length}`,
  );
  await session.release();
}
