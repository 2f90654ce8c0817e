/**
 * bench/train-speed: how long `ferry train` takes on dataset.csv (issue 16, target 5 s), and where
 * the time goes.
 *
 * 1. The solver, in this process, beside the code before issue 16's work (the verbatim copies in
 *    test/helpers, which the exactness test holds the new code to): the objective's time an
 *    evaluation, and one fit (C = 30, balanced) with each solver; how far apart their parameters
 *    and losses are (the sums now keep four partial sums, so they differ in rounding only).
 * 2. End to end: the built CLI (`node dist/cli/index.js train --dataset-loc dataset.csv`, default
 *    grid: 5 folds × 8 candidates) in a fresh FERRY_HOME, BENCH_RUNS times, alternated with a
 *    baseline build when BASELINE_DIR names one (a checkout of an earlier commit with `npm run
 *    build` done); wall time, its tune and fit parts, and the artifact's sha256.
 * Run: npx tsx bench/train-speed.ts   (DATASET_DIR, BENCH_RUNS=3, BASELINE_DIR)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { minimizeLbfgs } from '../src/model/lbfgs.js';
import { softmaxObjective } from '../src/model/softmax-regression.js';
import { DEFAULT_PARAMS, featurize } from '../src/model/text-classifier.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { minimizeLbfgs as referenceLbfgs } from '../test/helpers/lbfgs-reference.js';
import { softmaxObjective as referenceObjective } from '../test/helpers/softmax-reference.js';

const ROOT = resolve(import.meta.dirname, '..');
const dir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BASELINE = process.env.BASELINE_DIR ? resolve(process.env.BASELINE_DIR) : undefined;
const dataset = join(dir, 'dataset.csv');

execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

// 1. The solver.
const data = parseLabeledDataset(readFileSync(dataset), 'dataset.csv');
const feats = featurize(
  data.rows.map((r) => ({ title: r.title, description: r.description })),
  data.rows.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const K = feats.classes.length;
const n = feats.X.cols * K + K;
const counts = new Float64Array(K);
for (const label of feats.y) counts[label]! += 1;
const classWeights = counts.map((c) => feats.y.length / (K * c));
const options = { C: 30, classWeights };
const solver = { maxIterations: 500, gradientTolerance: 1e-4, functionTolerance: 1e-10 };

function perEval(f: (t: Float64Array, g: Float64Array) => number): number {
  const theta = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 0.01);
  const g = new Float64Array(n);
  for (let i = 0; i < 30; i++) f(theta, g);
  const t = performance.now();
  for (let i = 0; i < 100; i++) f(theta, g);
  return (performance.now() - t) / 100;
}

function timeFit(
  lbfgs: typeof minimizeLbfgs,
  objective: (t: Float64Array, g: Float64Array) => number,
): { ms: number; evals: number; x: Float64Array; value: number } {
  let evals = 0;
  const counted = (t: Float64Array, g: Float64Array) => {
    evals++;
    return objective(t, g);
  };
  const t = performance.now();
  const r = lbfgs(counted, new Float64Array(n), solver);
  return { ms: performance.now() - t, evals, x: r.x, value: r.value };
}

const newObjective = softmaxObjective(feats.X, feats.y, K, options);
const oldObjective = referenceObjective(feats.X, feats.y, K, options);
const evalMs = { before: [] as number[], after: [] as number[] };
const fitMs = { before: [] as number[], after: [] as number[] };
let evals = 0;
let gap = 0;
let lossGap = 0;
for (let round = 0; round < 3; round++) {
  evalMs.before.push(perEval(oldObjective));
  evalMs.after.push(perEval(newObjective));
  const a = timeFit(referenceLbfgs, oldObjective);
  const b = timeFit(minimizeLbfgs, newObjective);
  fitMs.before.push(a.ms);
  fitMs.after.push(b.ms);
  evals = b.evals;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    gap = Math.max(gap, Math.abs(a.x[i]! - b.x[i]!));
    scale = Math.max(scale, Math.abs(a.x[i]!));
  }
  gap /= scale;
  lossGap = Math.abs(a.value - b.value) / Math.abs(a.value);
}
const best = (xs: number[]) => Math.min(...xs);
console.log(
  `\nbench/train-speed: the solver on dataset.csv (${feats.X.rows} rows, ${feats.X.cols} features, ${feats.X.indices.length} non-zeros, ${n} parameters), best of 3, load average ${loadavg()[0]!.toFixed(1)}\n`,
);
const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(44) : x.padStart(12))).join('');
console.log(line(['', 'before', 'after', 'ratio']));
const row = (name: string, before: number, after: number) =>
  console.log(line([name, before.toFixed(2), after.toFixed(2), (before / after).toFixed(2)]));
row('objective + gradient, ms an evaluation', best(evalMs.before), best(evalMs.after));
row(`one fit (C=30, balanced, ${evals} evaluations), ms`, best(fitMs.before), best(fitMs.after));
row(
  'of which outside the objective, ms',
  best(fitMs.before) - evals * best(evalMs.before),
  best(fitMs.after) - evals * best(evalMs.after),
);
console.log(
  `parameters apart by ${gap.toExponential(1)} of the largest, final loss by ${lossGap.toExponential(1)} (relative)`,
);

// 2. End to end.
interface Run {
  seconds: number;
  tune: number;
  fit: number;
  sha: string;
}
function train(root: string): Run {
  const home = mkdtempSync(join(tmpdir(), 'ferry-bench-train-'));
  try {
    const t = performance.now();
    const out = execFileSync(
      process.execPath,
      [join(root, 'dist/cli/index.js'), 'train', '--dataset-loc', dataset, '--json'],
      { env: { ...process.env, FERRY_HOME: home }, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 },
    ).toString();
    const seconds = (performance.now() - t) / 1000;
    const num = (key: string) => Number(new RegExp(`"${key}": ([0-9.]+)`).exec(out)?.[1] ?? Number.NaN);
    const sha = /sha256\/[0-9a-f]{2}\/([0-9a-f]{64})/.exec(out)?.[1] ?? '?';
    return { seconds, tune: num('tune_seconds'), fit: num('fit_seconds'), sha };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
const runs: { name: string; run: Run }[] = [];
for (let i = 0; i < RUNS; i++) {
  if (BASELINE) runs.push({ name: 'baseline', run: train(BASELINE) });
  runs.push({ name: 'this build', run: train(ROOT) });
}
console.log(
  `\nferry train on dataset.csv, default grid, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}\n`,
);
console.log(`${line(['build', 'wall s', 'tune s', 'fit s'])}  artifact sha256`);
for (const { name, run } of runs)
  console.log(
    `${line([name, run.seconds.toFixed(2), run.tune.toFixed(2), run.fit.toFixed(2)])}  ${run.sha.slice(0, 16)}…`,
  );
const mine = runs.filter((r) => r.name === 'this build').map((r) => r.run.seconds);
console.log(
  `\ntarget (issue 16): <= 5 s end to end: best ${best(mine).toFixed(2)} s, ${best(mine) <= 5 ? 'met' : 'NOT met'}`,
);
