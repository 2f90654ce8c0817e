/**
 * bench/optimize: the issue-13 table. The parent is the built-in text classifier trained (default
 * params, no tuning) on the stratified 80 % train part of dataset.csv (seed 42); every variant is made
 * by the same code `ferry optimize` runs (the kinds' optimizers, distill) and measured by the same
 * report (src/optimize/report/measure.ts) on the other 20 %, which neither the parent nor any variant
 * was trained on. The parent's row is the baseline of the same run. Targets of the issue are checked
 * at the end. holdout.csv is scored once, after everything was made, and chooses nothing.
 *
 * Run: npm run bench:optimize   (DATASET_DIR overrides ../shared/datasets/madewithml; BENCH_PLOT=f.svg
 * writes the chart; BENCH_LATENCY_CALLS sets the calls per latency figure, default 3000)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { decodeModel } from '../../src/model/codec.js';
import { TEXT_SIGNATURE } from '../../src/model/model.js';
import { textSignature } from '../../src/model/text-tensors.js';
import { distill } from '../../src/optimize/distill.js';
import type {
  MeasureCandidate,
  OptimizeContext,
  OptimizedArtifact,
  VariantMeasurement,
} from '../../src/optimize/optimize-types.js';
import { createMeasureReport } from '../../src/optimize/report/measure.js';
import { renderReportSvg } from '../../src/optimize/report/render-svg.js';
import { renderReportTable } from '../../src/optimize/report/render-table.js';
import { textClassifierOptimizer as opt } from '../../src/optimize/text-classifier-optimizer.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { weightedMetrics } from '../../src/train/metrics.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const data = parseLabeledDataset(readFileSync(resolve(dir, 'dataset.csv')), 'dataset.csv');
const trained = trainTextClassifier(data, { seed: 42, tune: false, refitOnAll: false });
const parent = trained.model;
const evalRows = trained.heldOut.rows;
const evalIds = new Set(evalRows.map((r) => r.id));
const trainRows = data.rows.filter((r) => !evalIds.has(r.id));
const ctx: OptimizeContext = {
  training: { source: 'dataset.csv (train part)', rows: trainRows },
  seed: 42,
  cacheDir: resolve(tmpdir(), 'ferry-bench-optimize'),
};
const parentArtifact = parent.toArtifact();
const signature = textSignature(parent.classes);

const made: [string, Promise<OptimizedArtifact>][] = [
  ['quantize int8', opt.quantize!(parentArtifact, { dtype: 'int8' }, ctx)],
  ['quantize float16', opt.quantize!(parentArtifact, { dtype: 'float16' }, ctx)],
  [
    'prune magnitude 0.9',
    opt.prune!(parentArtifact, { method: 'magnitude', sparsity: 0.9, fineTune: false }, ctx),
  ],
  [
    'prune magnitude 0.9 fine-tuned',
    opt.prune!(parentArtifact, { method: 'magnitude', sparsity: 0.9, fineTune: true }, ctx),
  ],
  [
    'prune structured 2000',
    opt.prune!(parentArtifact, { method: 'structured', keepFeatures: 2000, fineTune: false }, ctx),
  ],
  [
    'prune structured 2000 fine-tuned',
    opt.prune!(parentArtifact, { method: 'structured', keepFeatures: 2000, fineTune: true }, ctx),
  ],
];
// Students learn from the teacher on the train part; its texts are also given as unlabeled ones.
const unlabeled = trainRows.map((r) => ({ title: r.title, description: r.description }));
for (const student of [
  { type: 'word', ngrams: [1, 2] },
  { type: 'word', ngrams: [1, 1] },
  { type: 'hashed', buckets: 2 ** 18, ngrams: [1, 2] },
] as const) {
  const spec = student.type === 'hashed' ? `hashed:2^18:1-2` : `word:${student.ngrams.join('-')}`;
  made.push([
    `distill ${spec}`,
    distill(
      parent,
      ctx.training!,
      { student: { ...student, ngrams: [...student.ngrams] }, temperature: 2, alpha: 0.5, unlabeled },
      ctx,
    ),
  ]);
}

const candidates: MeasureCandidate[] = [];
for (const [label, p] of made) {
  const a = await p;
  candidates.push({
    label,
    ref: null,
    kind: a.kind,
    artifact: a.artifact,
    signature: a.kind === parent.kind ? signature : { ...TEXT_SIGNATURE },
  });
}
const measure = createMeasureReport({
  cacheDir: ctx.cacheDir,
  callTimeoutMs: 30_000,
  latencyCalls: Number(process.env.BENCH_LATENCY_CALLS ?? 3000),
});
const started = performance.now();
const report = await measure(
  { label: 'parent', ref: null, kind: parent.kind, artifact: parentArtifact, signature },
  candidates,
  { source: 'dataset.csv validation split (seed 42, 20 %)', rows: evalRows, seenInTraining: false },
);
console.log(
  `node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ` +
    `train rows ${trainRows.length}, evaluation rows ${evalRows.length}, parent features ${parent.featureCount}; ` +
    `measured in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
);
console.log(renderReportTable(report));
if (process.env.BENCH_PLOT) writeFileSync(process.env.BENCH_PLOT, renderReportSvg(report));

// The targets, against the parent's row of this run.
const p0 = report.parent;
const row = (label: string): VariantMeasurement => report.variants.find((v) => v.label === label)!;
const f1Drop = (v: VariantMeasurement) => (p0.weightedF1 ?? 0) - (v.weightedF1 ?? 0);
const speed = (v: VariantMeasurement) => p0.latencyP50Ms / v.latencyP50Ms;
const size = (v: VariantMeasurement) => v.artifactBytes / p0.artifactBytes;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
const int8 = row('quantize int8');
const pruned = row('prune magnitude 0.9');
const students = report.variants.filter((v) => v.label.startsWith('distill'));
const fastest = students.reduce((a, b) => (speed(b) > speed(a) ? b : a));
console.log('\ntargets (issue 13), against the parent of this run:');
console.log(
  `  int8: size ${size(int8).toFixed(3)}x (<= 0.3: ${verdict(size(int8) <= 0.3)}), F1 drop ${f1Drop(int8).toFixed(4)} (<= 0.005: ${verdict(f1Drop(int8) <= 0.005)}), p50 speed-up ${speed(int8).toFixed(2)}x (>= 1.5: ${verdict(speed(int8) >= 1.5)})`,
);
console.log(
  `  magnitude 0.9: size ${size(pruned).toFixed(3)}x (<= 0.2: ${verdict(size(pruned) <= 0.2)}), F1 drop ${f1Drop(pruned).toFixed(4)} (<= 0.01: ${verdict(f1Drop(pruned) <= 0.01)})`,
);
console.log(
  `  fastest student (${fastest.label}): p50 speed-up ${speed(fastest).toFixed(2)}x (>= 5: ${verdict(speed(fastest) >= 5)}), F1 drop ${f1Drop(fastest).toFixed(4)} (<= 0.02: ${verdict(f1Drop(fastest) <= 0.02)})`,
);

// holdout.csv, once, at the end: nothing above was chosen on it.
const holdout = parseLabeledDataset(readFileSync(resolve(dir, 'holdout.csv')), 'holdout.csv', {
  knownTags: parent.classes,
});
const truth = holdout.rows.map((r) => r.tag);
console.log(`\nholdout.csv (${holdout.rows.length} rows), scored once after the run, weighted F1:`);
for (const [label, artifact] of [
  ['parent', parentArtifact] as const,
  ...candidates.map((c) => [c.label, c.artifact] as const),
]) {
  const model = decodeModel(artifact);
  const predicted = model.predictBatch(holdout.rows).map((p) => p.prediction);
  console.log(`  ${label.padEnd(34)} ${weightedMetrics(truth, predicted, parent.classes).f1.toFixed(4)}`);
}
