/**
 * bench/train-tolerance: what the solver's stopping rule changes in `ferry train`'s choice (issue 16,
 * target 5). The default grid is cross-validated on dataset.csv (5 folds, seed 42, in this thread)
 * once per gradient tolerance; for each it prints the time, every candidate's CV F1 and what CV
 * chose. holdout.csv is not read. The default, DEFAULT_GRADIENT_TOLERANCE, was chosen from this.
 * Run: npx tsx bench/train-tolerance.ts   (DATASET_DIR; BENCH_TOLERANCES=1e-4,1e-3,1e-2,1e-1)
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_GRADIENT_TOLERANCE } from '../src/model/softmax-regression.js';
import { DEFAULT_PARAMS } from '../src/model/text-classifier.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { DEFAULT_GRID, tune } from '../src/train/tune.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const tolerances = (process.env.BENCH_TOLERANCES ?? '1e-4,1e-3,1e-2,1e-1').split(',').map(Number);
const data = parseLabeledDataset(readFileSync(resolve(dir, 'dataset.csv')), 'dataset.csv');
const labels = data.rows.map((r) => r.tag);

console.log(
  `bench/train-tolerance: default grid, 5-fold CV on dataset.csv (${data.rows.length} rows), one thread, load ${loadavg()[0]!.toFixed(1)}; default tolerance ${DEFAULT_GRADIENT_TOLERANCE}\n`,
);
let reference: number[] | undefined;
for (const gradientTolerance of tolerances) {
  const t = performance.now();
  const result = tune(data.rows, labels, DEFAULT_PARAMS, DEFAULT_GRID, {
    folds: 5,
    seed: 42,
    gradientTolerance,
  });
  const seconds = (performance.now() - t) / 1000;
  const scores = result.trials.map((trial) => trial.cvF1);
  reference ??= scores;
  const moved = scores.filter((f1, i) => Math.abs(f1 - reference![i]!) > 1e-12).length;
  const p = result.params;
  console.log(
    `tolerance ${gradientTolerance.toExponential(0)}: ${seconds.toFixed(2)} s; chose C=${p.C} ${p.classWeight}, threshold ${p.otherThreshold}, CV F1 ${result.cvF1.toFixed(4)}; ` +
      `${moved} of ${scores.length} candidates' CV F1 differ from the first tolerance's`,
  );
  console.log(`  CV F1 by candidate: ${scores.map((f1) => f1.toFixed(4)).join(' ')}`);
}
