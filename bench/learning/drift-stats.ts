/**
 * bench/learning/drift-stats: each drift statistic on 5000 vs 5000 values (the profile's sample
 * size) and the text domain classifier on 2000 vs 2000 and 1000 vs 1000 texts, median of several
 * runs, beside a baseline measured in the same run: sorting both arrays (what any sample-based
 * statistic costs at least) and, for texts, tokenizing and hashing them (the classifier's input),
 * or one fit without the permutation bound.
 * Run: npx tsx bench/learning/drift-stats.ts   (BENCH_RUNS=15)
 */
import { seededRandom } from '../../src/core/random.js';
import { tokenize } from '../../src/model/text/clean.js';
import { ngramHashes } from '../../src/model/text/feature-hashing.js';
import type { CategoricalSummary, NumericSummary } from '../../src/monitoring/reference-profile.js';
import { chiSquareTest } from '../../src/monitoring/stats/chi-square.js';
import { columnDrift } from '../../src/monitoring/stats/column-drift.js';
import { textDomainDrift } from '../../src/monitoring/stats/domain-classifier.js';
import { jensenShannonDistance } from '../../src/monitoring/stats/jensen-shannon.js';
import { ks2samp } from '../../src/monitoring/stats/ks.js';
import { categoricalPsi, numericPsi } from '../../src/monitoring/stats/psi.js';
import { rocAuc } from '../../src/monitoring/stats/roc-auc.js';
import { normedWasserstein } from '../../src/monitoring/stats/wasserstein.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function median(fn: () => unknown, runs = RUNS): number {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function normals(n: number, seed: number, shift = 0): number[] {
  const random = seededRandom(seed);
  return Array.from(
    { length: n },
    () => shift + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()),
  );
}

function categories(n: number, seed: number): Record<string, number> {
  const random = seededRandom(seed);
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const key = `c${Math.floor(random() ** 2 * 30)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function texts(n: number, seed: number, from = 0): string[] {
  const random = seededRandom(seed);
  const words = Array.from({ length: 3000 }, (_, i) => `term${i.toString(36)}`);
  return Array.from({ length: n }, () =>
    Array.from({ length: 12 }, () => words[from + Math.floor(random() ** 1.5 * 2000)]).join(' '),
  );
}

const rawA = normals(5000, 1);
const rawB = normals(5000, 2, 0.05);
const a = [...rawA].sort((x, y) => x - y);
const b = [...rawB].sort((x, y) => x - y);
const b4999 = b.slice(1);
const summary = (sample: number[]): NumericSummary => ({
  type: 'numeric',
  count: sample.length,
  missing: 0,
  sample,
  mean: 0,
  std: 1,
  min: sample[0]!,
  max: sample[sample.length - 1]!,
});
const catA = categories(5000, 3);
const catB = categories(5000, 4);
const catSummary = (counts: Record<string, number>): CategoricalSummary => ({
  type: 'categorical',
  count: 5000,
  missing: 0,
  counts,
});
const scores = [...rawA, ...rawB];
const labels = scores.map((_, i) => i >= 5000);

const sortBoth = median(() => [Float64Array.from(rawA).sort(), Float64Array.from(rawB).sort()]);
const rows: [string, number][] = [
  ['baseline: sort both 5000-value arrays', sortBoth],
  ['KS exact, 5000 vs 5000 (equal sizes)', median(() => ks2samp(a, b))],
  ['KS exact, 5000 vs 4999 (lattice band)', median(() => ks2samp(a, b4999))],
  ['Wasserstein / std, 5000 vs 5000', median(() => normedWasserstein(a, b))],
  ['PSI numeric (reference deciles)', median(() => numericPsi(a, b))],
  ['ROC AUC by ranks, 10000 scores', median(() => rocAuc(scores, labels))],
  ['chi-square, 30 categories of 5000', median(() => chiSquareTest(catA, catB))],
  ['Jensen–Shannon, 30 categories', median(() => jensenShannonDistance(catA, catB))],
  ['PSI categorical, 30 categories', median(() => categoricalPsi(catA, catB))],
  ['columnDrift numeric (Wasserstein + PSI)', median(() => columnDrift(summary(a), summary(b)))],
  [
    'columnDrift numeric forced KS (+ PSI)',
    median(() => columnDrift(summary(a), summary(b), { method: 'ks' })),
  ],
  ['columnDrift categorical (JS + PSI)', median(() => columnDrift(catSummary(catA), catSummary(catB)))],
];

const textRuns = Math.max(3, Math.floor(RUNS / 3));
const ref2000 = texts(2000, 5);
const cur2000 = texts(2000, 6, 200);
const ref1000 = ref2000.slice(0, 1000);
const cur1000 = cur2000.slice(0, 1000);
const hashAll = (all: string[]) => () => {
  const out: number[] = [];
  for (const t of all) {
    out.length = 0;
    ngramHashes(tokenize(t), { wordNgrams: [1, 2], charNgrams: [0, 0] }, out);
  }
};
const textRows: [string, number][] = [
  ['baseline: tokenize + hash 4000 texts', median(hashAll([...ref2000, ...cur2000]), textRuns)],
  [
    'domain classifier 2000 vs 2000 (one fit, 0.55)',
    median(() => textDomainDrift(ref2000, cur2000), textRuns),
  ],
  [
    'baseline: 1000 vs 1000, one fit (threshold given)',
    median(() => textDomainDrift(ref1000, cur1000, { threshold: 0.55 }), textRuns),
  ],
  [
    'domain classifier 1000 vs 1000 (+20 permutation fits)',
    median(() => textDomainDrift(ref1000, cur1000), textRuns),
  ],
];

const width = Math.max(...[...rows, ...textRows].map(([name]) => name.length));
console.log(`median of ${RUNS} runs (texts: ${textRuns}); ratio to the baseline above it`);
for (const [name, ms] of rows) {
  console.log(`${name.padEnd(width)}  ${ms.toFixed(3).padStart(9)} ms  ×${(ms / sortBoth).toFixed(2)}`);
}
const [, hashMs] = textRows[0]!;
const [, oneFitMs] = textRows[2]!;
for (const [i, [name, ms]] of textRows.entries()) {
  const base = i < 2 ? hashMs : oneFitMs;
  console.log(`${name.padEnd(width)}  ${ms.toFixed(3).padStart(9)} ms  ×${(ms / base).toFixed(2)}`);
}
