/**
 * bench/optimize/heads: the optimized storages of the text classifier (issue 13) on the course data.
 * A model is trained (default params, no tuning) on the stratified 80 % train part of dataset.csv
 * (seed 42); on the other 20 % (the validation split, never holdout.csv) each variant is measured:
 * artifact bytes (and the ratio to the parent's format-1 artifact), weighted F1, top-1 agreement
 * and mean |Δp| against the parent, and per-prediction latency at batch 1 (model.predictBatch([row]),
 * median of rounds over all validation rows), split into featurization (tokenize + n-gram hashing +
 * tf-idf) and the head (logits + softmax on precomputed features).
 * Run: npx tsx bench/optimize/heads.ts   (DATASET_DIR overrides ../shared/datasets/madewithml;
 * BENCH_ROUNDS, default 15)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeModel } from '../../src/model/codec.js';
import { headProbabilities } from '../../src/model/linear-head.js';
import type { SparseVector } from '../../src/model/sparse.js';
import type { TextClassifier } from '../../src/model/text-classifier.js';
import { pruneMagnitude } from '../../src/optimize/prune-magnitude.js';
import { quantizeTextClassifier } from '../../src/optimize/quantize.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { weightedMetrics } from '../../src/train/metrics.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const data = parseLabeledDataset(readFileSync(resolve(dir, 'dataset.csv')), 'dataset.csv');
const trained = trainTextClassifier(data, { seed: 42, tune: false, refitOnAll: false });
const parent = trained.model;
const rows = trained.heldOut.rows;
const parentBytes = parent.toArtifact().length;

const variants: [string, TextClassifier][] = [
  ['parent (dense-f32, v1)', parent],
  ['quantize int8', quantizeTextClassifier(parent, { dtype: 'int8' }).model],
  ['quantize float16', quantizeTextClassifier(parent, { dtype: 'float16' }).model],
  ['prune magnitude 0.9 (keep features)', pruneMagnitude(parent, 0.9).model],
  ['prune magnitude 0.9 (drop empty)', pruneMagnitude(parent, 0.9, { dropEmptyFeatures: true }).model],
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const argmax = (p: Record<string, number>): string =>
  Object.entries(p).reduce((best, e) => (e[1] > best[1] ? e : best))[0];

const parentPredictions = parent.predictBatch(rows);
console.log(
  `train rows ${trained.dataset.trainRows}, validation rows ${rows.length}, features ${parent.featureCount}`,
);
console.log(`node ${process.version}, rounds ${ROUNDS}\n`);
console.log(
  'variant | bytes | x parent | weighted F1 | top-1 agree | mean |dp| | us/pred | featurize us | head us',
);
for (const [label, built] of variants) {
  const bytes = built.toArtifact();
  const model = decodeModel(bytes) as TextClassifier;
  const preds = model.predictBatch(rows);
  const f1 = weightedMetrics(
    rows.map((r) => r.tag),
    preds.map((p) => p.prediction),
    model.classes,
  ).f1;
  let agree = 0;
  let diff = 0;
  preds.forEach((p, i) => {
    const q = parentPredictions[i]!;
    if (argmax(p.probabilities) === argmax(q.probabilities)) agree++;
    for (const c of model.classes)
      diff += Math.abs(p.probabilities[c]! - q.probabilities[c]!) / model.classes.length;
  });
  const perPrediction: number[] = [];
  const featurize: number[] = [];
  const head: number[] = [];
  const features: SparseVector[] = rows.map((r) => model.features(r));
  const out = new Float64Array(model.classes.length);
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    for (const r of rows) model.predictBatch([r]);
    perPrediction.push(((performance.now() - t) * 1000) / rows.length);
    t = performance.now();
    for (const r of rows) model.features(r);
    featurize.push(((performance.now() - t) * 1000) / rows.length);
    t = performance.now();
    for (let k = 0; k < 20; k++)
      for (const v of features) headProbabilities(model.head, v.indices, v.values, out);
    head.push(((performance.now() - t) * 1000) / (20 * rows.length));
  }
  console.log(
    [
      label,
      bytes.length,
      (bytes.length / parentBytes).toFixed(3),
      f1.toFixed(4),
      (agree / rows.length).toFixed(4),
      (diff / rows.length).toExponential(2),
      median(perPrediction).toFixed(2),
      median(featurize).toFixed(2),
      median(head).toFixed(3),
    ].join(' | '),
  );
}
