/**
 * bench/quality: train on dataset.csv (cross-validated), score holdout.csv once, and print quality and
 * speed beside baselines measured in the same run (majority class; word-only TF-IDF) and the course's
 * published SciBERT figure. Run: npm run bench:quality  (DATASET_DIR overrides ../shared/datasets/madewithml)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TextInput, TextModel } from '../src/model/model.js';
import { DEFAULT_PARAMS, TextClassifier } from '../src/model/text-classifier.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { type PrfMetrics, perClassMetrics, weightedMetrics } from '../src/train/metrics.js';
import { trainTextClassifier } from '../src/train/pipeline.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const train = parseLabeledDataset(readFileSync(resolve(dir, 'dataset.csv')), 'dataset.csv');
const holdout = parseLabeledDataset(readFileSync(resolve(dir, 'holdout.csv')), 'holdout.csv');
const SCIBERT_F1 = 0.9047;

function latency(model: TextModel, rows: readonly TextInput[], reps: number): { p50: number; p99: number } {
  for (const r of rows) model.predictBatch([r]); // warm-up: JIT and caches
  const us: number[] = [];
  for (let k = 0; k < reps; k++) {
    for (const r of rows) {
      const t = process.hrtime.bigint();
      model.predictBatch([r]);
      us.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  }
  us.sort((a, b) => a - b);
  return { p50: us[Math.floor(us.length * 0.5)]!, p99: us[Math.floor(us.length * 0.99)]! };
}

function throughput(model: TextModel, rows: readonly TextInput[], seconds: number): number {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    model.predictBatch(rows);
    n += rows.length;
  }
  return n / seconds;
}

console.log(
  `bench/quality: train ${train.rows.length} rows (dataset.csv), score ${holdout.rows.length} rows (holdout.csv, once)\n`,
);

const t0 = performance.now();
const outcome = trainTextClassifier(train, { seed: 42 });
const totalSeconds = (performance.now() - t0) / 1000;
const ferry = outcome.model;

const t1 = performance.now();
const wordOnly = TextClassifier.fit(
  train.rows,
  train.rows.map((r) => r.tag),
  {
    ...DEFAULT_PARAMS,
    charNgrams: [0, 0],
    C: outcome.params.C,
    classWeight: outcome.params.classWeight,
  },
);
const wordFitSeconds = (performance.now() - t1) / 1000;

const report = evaluateModel(ferry, holdout.rows);
const yTrue = holdout.rows.map((r) => r.tag);
const wordPred = wordOnly.predictBatch(holdout.rows).map((p) => p.prediction);
const majority = [
  ...train.rows.reduce((m, r) => m.set(r.tag, (m.get(r.tag) ?? 0) + 1), new Map<string, number>()),
].sort((a, b) => b[1] - a[1])[0]![0];
const classes = [...ferry.classes];
const wordPer = perClassMetrics(yTrue, wordPred, classes);
const wordAll = weightedMetrics(yTrue, wordPred, classes);
const majorityAll = weightedMetrics(
  yTrue,
  yTrue.map(() => majority),
  classes,
);

const row = (name: string, m: PrfMetrics, extra = '') =>
  `${name.padEnd(30)}${m.precision.toFixed(4).padStart(10)}${m.recall.toFixed(4).padStart(10)}${m.f1.toFixed(4).padStart(10)}${String(m.num_samples).padStart(6)}${extra}`;
console.log('holdout.csv, weighted precision / recall / F1 (Ferry model)');
console.log(
  `${''.padEnd(30)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1'.padStart(10)}${'n'.padStart(6)}   word-only f1`,
);
for (const c of classes) console.log(row(c, report.per_class[c]!, `   ${wordPer[c]!.f1.toFixed(4)}`));
console.log(row('overall (weighted)', report.overall, `   ${wordAll.f1.toFixed(4)}`));
for (const [s, m] of Object.entries(report.slices)) console.log(row(`slice ${s} (micro)`, m));
console.log(`behavioural tests: ${report.behavioral.passed} passed, ${report.behavioral.failed} failed\n`);

const p = outcome.params;
console.log(
  `chosen by ${outcome.tuning?.folds}-fold CV on dataset.csv: word ${p.wordNgrams.join('-')} + char ${p.charNgrams.join('-')}, C=${p.C}, class weight ${p.classWeight}, other threshold ${p.otherThreshold}; cv_f1 ${outcome.metrics.cv_f1?.toFixed(4)}, val_f1 ${outcome.metrics.val_f1?.toFixed(4)}\n`,
);

const ferryLat = latency(ferry, holdout.rows, 20);
const wordLat = latency(wordOnly, holdout.rows, 20);
const ferryTput = throughput(ferry, holdout.rows, 2);
const wordTput = throughput(wordOnly, holdout.rows, 2);
const fmtRow = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(48) : c.padStart(12))).join('');
console.log(fmtRow(['model', 'holdout F1', 'fit s', 'p50 µs', 'p99 µs', 'preds/s', 'artifact KB']));
console.log(
  fmtRow([
    'Ferry (word+char TF-IDF, LR)',
    report.overall.f1.toFixed(4),
    outcome.metrics.fit_seconds!.toFixed(2),
    ferryLat.p50.toFixed(1),
    ferryLat.p99.toFixed(1),
    ferryTput.toFixed(0),
    (ferry.toArtifact().length / 1024).toFixed(0),
  ]),
);
console.log(
  fmtRow([
    'baseline: word-only TF-IDF, LR',
    wordAll.f1.toFixed(4),
    wordFitSeconds.toFixed(2),
    wordLat.p50.toFixed(1),
    wordLat.p99.toFixed(1),
    wordTput.toFixed(0),
    (wordOnly.toArtifact().length / 1024).toFixed(0),
  ]),
);
console.log(
  fmtRow([`baseline: majority class (${majority})`, majorityAll.f1.toFixed(4), '-', '-', '-', '-', '-']),
);
console.log(
  fmtRow(['reference: course SciBERT (published)', SCIBERT_F1.toFixed(4), '-', '-', '-', '-', '-']),
);
console.log(
  `\nFerry vs SciBERT: ${report.overall.f1 >= SCIBERT_F1 ? '+' : ''}${(report.overall.f1 - SCIBERT_F1).toFixed(4)} F1; training ${outcome.metrics.fit_seconds!.toFixed(2)} s for the two final fits (train split, then all rows), ${totalSeconds.toFixed(1)} s in all with cross-validation`,
);
console.log(
  `targets: F1 >= 0.91 ${report.overall.f1 >= 0.91 ? 'met' : 'NOT met'}; training < 5 s ${outcome.metrics.fit_seconds! < 5 ? 'met' : 'NOT met'}; p50 < 50 µs ${ferryLat.p50 < 50 ? 'met' : 'NOT met'}`,
);
