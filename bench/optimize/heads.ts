/**
 * bench/optimize/heads: the optimized storages of the text classifier (issue 13) on the course data.
 * A model is trained (default params, no tuning) on the stratified 80 % train part of dataset.csv
 * (seed 42); on the other 20 % (the validation split, never holdout.csv) each variant is measured:
 * artifact bytes (and the ratio to the parent's format-1 artifact), weighted F1, top-1 agreement
 * and mean |Δp| against the parent, and per-prediction latency at batch 1 (model.predictBatch([row]),
 * over all validation rows, variants interleaved in each round), split into featurization (tokenize + n-gram hashing +
 * tf-idf) and the head (logits + softmax on precomputed features).
 * Run: npx tsx bench/optimize/heads.ts   (DATASET_DIR overrides ../shared/datasets/madewithml;
 * BENCH_ROUNDS, default 30).
 * Each figure is printed as median / min over the rounds: on a shared machine the min is the
 * least disturbed measurement.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { decodeModel } from '../../src/model/codec.js';
import { headProbabilities } from '../../src/model/linear-head.js';
import { projectText, tokenize } from '../../src/model/text/clean.js';
import type { TextClassifier } from '../../src/model/text-classifier.js';
import { TfidfTransformer } from '../../src/model/tfidf.js';
import { pruneMagnitude } from '../../src/optimize/prune-magnitude.js';
import { quantizeTextClassifier } from '../../src/optimize/quantize.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { weightedMetrics } from '../../src/train/metrics.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
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

const both = (xs: number[], digits: number): string =>
  `${median(xs).toFixed(digits)} / ${Math.min(...xs).toFixed(digits)}`;

/** Microseconds per row of `fn` over the validation rows (one pass). */
function perRow(fn: (i: number) => void): number {
  const t = performance.now();
  for (let i = 0; i < rows.length; i++) fn(i);
  return ((performance.now() - t) * 1000) / rows.length;
}

const parentPredictions = parent.predictBatch(rows);
console.log(
  `train rows ${trained.dataset.trainRows}, validation rows ${rows.length}, features ${parent.featureCount}`,
);
console.log(
  `node ${process.version}, rounds ${ROUNDS}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);

// Featurization is the same for every variant but the vocabulary: measured once per variant, split.
const tokens = rows.map((r) => tokenize(projectText(r.title, r.description)));
const loaded = variants.map(([label, built]) => {
  const bytes = built.toArtifact();
  const model = decodeModel(bytes) as TextClassifier;
  return {
    label,
    bytes: bytes.length,
    model,
    transformer: new TfidfTransformer(model.tfidf),
    features: rows.map((r) => model.features(r)),
  };
});
const timings = loaded.map(() => ({
  predict: [] as number[],
  tokenize: [] as number[],
  tfidf: [] as number[],
  head: [] as number[],
}));
const out = new Float64Array(parent.classes.length);
for (let round = 0; round < ROUNDS + 2; round++) {
  // Variants interleaved within a round, so machine noise falls on all of them alike; 2 warm-up rounds.
  loaded.forEach((v, k) => {
    const predict = perRow((i) => v.model.predictBatch([rows[i]!]));
    const tok = perRow((i) => tokenize(projectText(rows[i]!.title, rows[i]!.description)));
    const tfidf = perRow((i) => v.transformer.transform(tokens[i]!));
    let head = 0;
    for (let rep = 0; rep < 10; rep++) {
      head +=
        perRow((i) => headProbabilities(v.model.head, v.features[i]!.indices, v.features[i]!.values, out)) /
        10;
    }
    if (round < 2) return;
    timings[k]!.predict.push(predict);
    timings[k]!.tokenize.push(tok);
    timings[k]!.tfidf.push(tfidf);
    timings[k]!.head.push(head);
  });
}

console.log(
  'variant | bytes | x parent | weighted F1 | top-1 agree | mean |dp| | us/pred (batch 1) | tokenize us | n-grams+tf-idf us | head+softmax us',
);
loaded.forEach(({ label, bytes, model }, k) => {
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
  const t = timings[k]!;
  console.log(
    [
      label,
      bytes,
      (bytes / parentBytes).toFixed(3),
      f1.toFixed(4),
      (agree / rows.length).toFixed(4),
      (diff / rows.length).toExponential(2),
      both(t.predict, 2),
      both(t.tokenize, 2),
      both(t.tfidf, 2),
      both(t.head, 3),
    ].join(' | '),
  );
});
