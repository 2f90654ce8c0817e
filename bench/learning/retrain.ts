/**
 * bench/learning/retrain: `retrain` end to end on the course data: a seeded 80 % of dataset.csv is
 * the dataset location and the other 20 % arrives as labeled feedback (holdout.csv is never used:
 * it is scored once, at the end, never trained on), on a SQLite registry in a temporary directory: a first run
 * (no production) and a second (production refit on the train part, a canary-free staging policy).
 * Baseline in the same run: `trainTextClassifier` alone on the same combined rows and seed.
 * Run: npx tsx bench/learning/retrain.ts  (DATASET_DIR overrides ../shared/datasets/madewithml)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openFerry } from '../../src/app/open-ferry.js';
import { openRetrain } from '../../src/app/open-retrain.js';
import { loadConfig } from '../../src/core/config.js';
import { seededRandom, shuffleInPlace } from '../../src/core/random.js';
import { retrain } from '../../src/learning/retrain/retrain.js';
import { combineRows } from '../../src/learning/retrain/training-rows.js';
import type { FeedbackSource, LabeledPrediction } from '../../src/monitoring/feedback-types.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';

const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const all = parseLabeledDataset(readFileSync(resolve(dir, 'dataset.csv')), 'dataset.csv').rows;
const shuffled = shuffleInPlace([...all], seededRandom(7));
const cut = Math.round(shuffled.length * 0.8);
const home = mkdtempSync(join(tmpdir(), 'ferry-bench-retrain-'));
const datasetPath = join(home, 'dataset-80.csv');
const quote = (v: string) => `"${v.replaceAll('"', '""')}"`;
writeFileSync(
  datasetPath,
  [
    'id,title,description,tag',
    ...shuffled.slice(0, cut).map((r) => [r.id, r.title, r.description, r.tag].map(quote).join(',')),
  ].join('\n') + '\n',
);
const labeled: LabeledPrediction[] = shuffled.slice(cut).map((r, i) => ({
  requestId: `bench-${i}`,
  item: 0,
  version: 1,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  label: r.tag,
  predicted: undefined,
  logged: {
    title: r.title,
    description: r.description,
    prediction: 'other',
    probabilities: {},
    source: 'model',
  },
}));
const feedback: FeedbackSource = {
  labeled: async () => ({ matched: labeled, unmatched: 0 }),
  countSince: async () => labeled.length,
};

const config = loadConfig({}, { home });
const ctx = await openFerry(config);
const gate = { minF1: 0.5, classMargin: 0.05, minEvalRows: 100 };
try {
  const deps = await openRetrain(ctx, config, feedback);
  const request = { model: 'tagifai', trigger: 'manual' as const, datasetLoc: datasetPath, gate, seed: 42 };
  const seconds = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
    const t = performance.now();
    const out = await fn();
    return [out, (performance.now() - t) / 1000];
  };
  const [r1, t1] = await seconds(() => retrain(deps, { ...request, policy: 'promote' }));
  const [r2, t2] = await seconds(() => retrain(deps, { ...request, policy: 'staging' }));
  const data = parseLabeledDataset(readFileSync(datasetPath), datasetPath);
  const combined = combineRows(data, labeled).dataset;
  const [base, tb] = await seconds(() =>
    trainTextClassifier(combined, { seed: 42, validationFraction: 0.2, tune: false }),
  );
  const [, tbTuned] = await seconds(() =>
    trainTextClassifier(combined, { seed: 42, validationFraction: 0.2, folds: 3 }),
  );
  const f = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(4));
  console.log(
    `data: ${r1.dataset.source}: ${r1.dataset.rows} rows (${r1.feedback.added} from feedback), ${r1.dataset.evalRows} evaluation rows`,
  );
  console.log(
    `retrain #1 (no production, promote): ${t1.toFixed(2)} s  ${r1.status}  candidate F1 ${f(r1.decision.figures.candidateF1)}`,
  );
  console.log(
    `retrain #2 (production refit, staging): ${t2.toFixed(2)} s  ${r2.status}${r2.decision.failedRule ? ` (${r2.decision.failedRule})` : ''}  candidate F1 ${f(r2.decision.figures.candidateF1)} vs production ${f(r2.decision.figures.productionF1)}`,
  );
  console.log(
    `baseline trainTextClassifier alone (no tuning, train part + refit): ${tb.toFixed(2)} s  val F1 ${f(base.metrics.val_f1)}`,
  );
  console.log(`reference trainTextClassifier with the default grid, 3 folds: ${tbTuned.toFixed(2)} s`);
  console.log(
    `retrain overhead over the baseline: #1 ${(t1 - tb).toFixed(2)} s, #2 ${(t2 - tb).toFixed(2)} s`,
  );
} finally {
  await ctx.close();
  rmSync(home, { recursive: true, force: true });
}
