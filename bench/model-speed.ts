/**
 * bench/model-speed: per-prediction latency of the built-in text model at batch 1 (issue 16).
 * A model is trained (default params, no tuning) on the stratified 80 % train part of dataset.csv
 * (seed 42); over the other 20 % (validation, never holdout.csv) it measures, per row, the p50 and
 * p99 of model.predictBatch([row]) and of model.infer on one-row tensors, and the same prediction
 * through the featurization as it was before the speed work (test/helpers/text-model-reference.ts,
 * kept verbatim) so both are measured in one process, and once more through a model whose word
 * cache starts empty each round. It also checks that both give the same
 * features and probabilities on every row of dataset.csv and holdout.csv (holdout is only predicted).
 * Run: npx tsx bench/model-speed.ts   (DATASET_DIR overrides ../shared/datasets/madewithml;
 * BENCH_ROUNDS, default 20).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { headProbabilities } from '../src/model/linear-head.js';
import type { Prediction, TextInput } from '../src/model/model.js';
import { projectText } from '../src/model/text/clean.js';
import { textRow } from '../src/model/text-tensors.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { weightedMetrics } from '../src/train/metrics.js';
import { trainTextClassifier } from '../src/train/pipeline.js';
import { referenceTokenize, referenceTransformer } from '../test/helpers/text-model-reference.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const data = parseLabeledDataset(readFileSync(resolve(dir, 'dataset.csv')), 'dataset.csv');
const holdout = parseLabeledDataset(readFileSync(resolve(dir, 'holdout.csv')), 'holdout.csv');
const trained = trainTextClassifier(data, { seed: 42, tune: false, refitOnAll: false });
const model = trained.model;
const rows = trained.heldOut.rows;

/** The old prediction path: reference featurization, the same head, the same prediction object. */
const oldTransform = referenceTransformer(model.tfidf);
const oldScratch = new Float64Array(model.classes.length);
function oldPredict(row: TextInput): Prediction {
  const v = oldTransform(referenceTokenize(projectText(row.title, row.description)));
  headProbabilities(model.head, v.indices, v.values, oldScratch);
  const probs = Float64Array.from(oldScratch);
  const probabilities: Record<string, number> = {};
  model.classes.forEach((c, k) => {
    probabilities[c] = probs[k]!;
  });
  return { prediction: model.decide(probs), probabilities };
}

// Exactness over every row of both files.
let worst = 0;
for (const row of [...data.rows, ...holdout.rows]) {
  const a = model.features(row);
  const b = oldTransform(referenceTokenize(projectText(row.title, row.description)));
  if (a.indices.join() !== b.indices.join()) throw new Error(`feature indices differ on "${row.title}"`);
  a.values.forEach((v, k) => {
    if (Math.abs(v - b.values[k]!) > 1e-12) throw new Error(`tf-idf differs on "${row.title}"`);
  });
  const pa = model.predictBatch([row])[0]!;
  const pb = oldPredict(row);
  if (pa.prediction !== pb.prediction) throw new Error(`prediction differs on "${row.title}"`);
  for (const c of model.classes)
    worst = Math.max(worst, Math.abs(pa.probabilities[c]! - pb.probabilities[c]!));
}
if (worst > 1e-12) throw new Error(`probabilities differ by ${worst}`);

const f1 = (predict: (r: TextInput) => Prediction) =>
  weightedMetrics(
    holdout.rows.map((r) => r.tag),
    holdout.rows.map((r) => predict(r).prediction),
    model.classes,
  ).f1;

const tensors = rows.map(textRow);
/*
 * The model keeps a cache of each word's character n-gram features (WordFeatureCache): after the first
 * round every word of these rows is in it. The "cold" path predicts through a copy of the model made
 * afresh at the start of each round, so its cache holds only the words of the rows before in that round.
 */
let cold = model.withHead(model.head);
const paths: [string, (i: number) => unknown][] = [
  ['old featurization, predict 1 row', (i) => oldPredict(rows[i]!)],
  ['predictBatch([row])', (i) => model.predictBatch([rows[i]!])],
  ['predictBatch([row]), word cache new each round', (i) => cold.predictBatch([rows[i]!])],
  ['infer(one-row tensors)', (i) => model.infer(tensors[i]!)],
];

const times = paths.map(() => [] as number[]);
for (let round = 0; round < ROUNDS + 3; round++) {
  // Paths interleaved within a round so machine noise falls on all alike; 3 warm-up rounds.
  cold = model.withHead(model.head);
  paths.forEach(([, fn], p) => {
    for (let i = 0; i < rows.length; i++) {
      const t = process.hrtime.bigint();
      fn(i);
      const us = Number(process.hrtime.bigint() - t) / 1000;
      if (round >= 3) times[p]!.push(us);
    }
  });
}
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

console.log(
  `node ${process.version}, validation rows ${rows.length}, rounds ${ROUNDS}, features ${model.featureCount}`,
);
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `exact: same features and predictions on ${data.rows.length + holdout.rows.length} rows, max |Δp| ${worst.toExponential(1)}`,
);
console.log(
  `holdout weighted F1: new ${f1((r) => model.predictBatch([r])[0]!).toFixed(4)}, old ${f1(oldPredict).toFixed(4)}\n`,
);
console.log('| path | p50 µs | p99 µs |\n|---|---|---|');
paths.forEach(([label], p) => {
  console.log(
    `| ${label} | ${quantile(times[p]!, 0.5).toFixed(2)} | ${quantile(times[p]!, 0.99).toFixed(2)} |`,
  );
});
