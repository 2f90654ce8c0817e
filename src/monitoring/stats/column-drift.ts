import { FerryError } from '../../core/errors.js';
import type { ColumnDrift, ColumnDriftFn, ColumnDriftOptions, DriftMethod } from '../drift-types.js';
import { P_VALUE_METHODS } from '../drift-types.js';
import type { CategoricalSummary, NumericSummary } from '../reference-profile.js';
import { type CategoryCounts, categoriesOf, chiSquareTest, proportionsZTest } from './chi-square.js';
import { jensenShannonDistance } from './jensen-shannon.js';
import { ks2samp } from './ks.js';
import { categoricalPsi, numericPsi } from './psi.js';
import { normedWasserstein } from './wasserstein.js';

/*
 * One column's drift, Evidently's way (evidently.calculations.stattests.registry
 * get_stattest's defaults):
 * - reference of at most 1000 values: numeric → KS; categorical → chi-square, or the proportions
 *   z-test when both sides together hold two categories or fewer;
 * - more: numeric → Wasserstein / std; categorical → Jensen–Shannon;
 * - a numeric column with at most 5 distinct values (both sides) is tested as categorical
 *   (chi-square / z-test, or Jensen–Shannon above 1000), as Evidently does.
 * The reference's size is its `count` (values seen), not its sample's length.
 *
 * Samples must be finite: a NaN or ±Infinity in a summary is refused with FERRY_MONITOR_INVALID
 * (summaries count non-finite values under `missing`, so one in a sample is a bug upstream). A
 * sample not in ascending order is sorted (a copy).
 */

const SMALL_REFERENCE = 1000;
const FEW_VALUES = 5;
const P_VALUE_THRESHOLD = 0.05;
const DISTANCE_THRESHOLD = 0.1;

const NUMERIC_ONLY: ReadonlySet<DriftMethod> = new Set(['ks', 'wasserstein']);

export const columnDrift: ColumnDriftFn = (reference, current, opts = {}) => {
  if (reference.type !== current.type) {
    throw new FerryError(
      'FERRY_MONITOR_INVALID',
      `a column is ${reference.type} in the reference but ${current.type} in the window`,
    );
  }
  if (opts.method === 'domain-classifier') {
    throw new FerryError('FERRY_MONITOR_INVALID', 'the domain classifier is for texts, not for one column');
  }
  if (opts.method !== undefined && NUMERIC_ONLY.has(opts.method) && reference.type !== 'numeric') {
    throw new FerryError(
      'FERRY_MONITOR_INVALID',
      `${opts.method} needs a numeric column, not a categorical one`,
    );
  }
  if (opts.threshold !== undefined && !(Number.isFinite(opts.threshold) && opts.threshold >= 0)) {
    throw new FerryError('FERRY_MONITOR_INVALID', 'a drift threshold must be a finite number ≥ 0');
  }
  return reference.type === 'numeric'
    ? numericDrift(reference, current as NumericSummary, opts)
    : categoricalDrift(reference, current as CategoricalSummary, opts);
};

function thresholdFor(method: DriftMethod, opts: ColumnDriftOptions): number {
  return opts.threshold ?? (P_VALUE_METHODS.has(method) ? P_VALUE_THRESHOLD : DISTANCE_THRESHOLD);
}

function result(
  method: DriftMethod,
  score: number,
  opts: ColumnDriftOptions,
  counts: { referenceCount: number; currentCount: number },
  psi: number,
): ColumnDrift {
  const threshold = thresholdFor(method, opts);
  const drifted = P_VALUE_METHODS.has(method) ? score < threshold : score >= threshold;
  return { method, score, threshold, drifted, ...counts, psi };
}

function noData(
  method: DriftMethod,
  opts: ColumnDriftOptions,
  counts: { referenceCount: number; currentCount: number },
) {
  const score = P_VALUE_METHODS.has(method) ? 1 : 0;
  return { ...result(method, score, opts, counts, 0), drifted: false, noData: true } satisfies ColumnDrift;
}

function categoricalMethod(referenceCount: number, categories: number): DriftMethod {
  if (referenceCount > SMALL_REFERENCE) return 'jensen-shannon';
  return categories <= 2 ? 'z-test' : 'chi-square';
}

function numericDrift(
  reference: NumericSummary,
  current: NumericSummary,
  opts: ColumnDriftOptions,
): ColumnDrift {
  const ref = checkedSample(reference.sample);
  const cur = checkedSample(current.sample);
  const counts = { referenceCount: reference.count, currentCount: current.count };
  const asCategories = (): [CategoryCounts, CategoryCounts] => [countValues(ref), countValues(cur)];
  let method = opts.method;
  if (method === undefined) {
    const distinct =
      ref.length > 0 && cur.length > 0 ? distinctUpTo(ref, cur, FEW_VALUES + 1) : FEW_VALUES + 1;
    if (distinct <= FEW_VALUES) method = categoricalMethod(reference.count, distinct);
    else method = reference.count > SMALL_REFERENCE ? 'wasserstein' : 'ks';
  }
  if (ref.length === 0 || cur.length === 0) return noData(method, opts, counts);
  const psi = numericPsi(ref, cur);
  switch (method) {
    case 'ks':
      return result(method, ks2samp(ref, cur).pValue, opts, counts, psi);
    case 'wasserstein':
      return result(method, normedWasserstein(ref, cur), opts, counts, psi);
    case 'psi':
      return result(method, psi, opts, counts, psi);
    default:
      return result(method, categoricalScore(method, ...asCategories()), opts, counts, psi);
  }
}

function categoricalDrift(
  reference: CategoricalSummary,
  current: CategoricalSummary,
  opts: ColumnDriftOptions,
): ColumnDrift {
  checkCounts(reference.counts);
  checkCounts(current.counts);
  const counts = { referenceCount: reference.count, currentCount: current.count };
  const method =
    opts.method ?? categoricalMethod(reference.count, categoriesOf(reference.counts, current.counts).length);
  if (!hasValues(reference.counts) || !hasValues(current.counts)) return noData(method, opts, counts);
  const psi = categoricalPsi(reference.counts, current.counts);
  const score = method === 'psi' ? psi : categoricalScore(method, reference.counts, current.counts);
  return result(method, score, opts, counts, psi);
}

function categoricalScore(method: DriftMethod, reference: CategoryCounts, current: CategoryCounts): number {
  switch (method) {
    case 'chi-square':
      return chiSquareTest(reference, current).pValue;
    case 'z-test':
      return proportionsZTest(reference, current).pValue;
    case 'jensen-shannon':
      return jensenShannonDistance(reference, current);
    case 'psi':
      return categoricalPsi(reference, current);
    default:
      throw new FerryError('FERRY_MONITOR_INVALID', `${method} does not apply to categories`);
  }
}

function checkedSample(sample: readonly number[]): readonly number[] {
  let ascending = true;
  for (let i = 0; i < sample.length; i++) {
    const v = sample[i]!;
    if (!Number.isFinite(v)) {
      throw new FerryError(
        'FERRY_MONITOR_INVALID',
        'a numeric sample holds a value that is not finite (NaN, Infinity)',
      );
    }
    if (i > 0 && v < sample[i - 1]!) ascending = false;
  }
  return ascending ? sample : [...sample].sort((a, b) => a - b);
}

function checkCounts(counts: CategoryCounts): void {
  for (const v of Object.values(counts)) {
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new FerryError('FERRY_MONITOR_INVALID', 'a category count must be a finite number ≥ 0');
    }
  }
}

function hasValues(counts: CategoryCounts): boolean {
  return Object.values(counts).some((v) => v > 0);
}

/** Distinct values of two ascending samples together, counted up to `limit` (then it stops). */
function distinctUpTo(a: readonly number[], b: readonly number[], limit: number): number {
  const seen = new Set<number>();
  for (const sample of [a, b]) {
    for (let i = 0; i < sample.length; i++) {
      if (i > 0 && sample[i] === sample[i - 1]) continue;
      seen.add(sample[i]!);
      if (seen.size >= limit) return seen.size;
    }
  }
  return seen.size;
}

/** A numeric sample's values as categories (for the tests Evidently applies to few-valued columns). */
function countValues(sample: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of sample) {
    const key = String(v);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
