import { chiSquareSf, twoSidedNormalP } from './gamma.js';

/*
 * Evidently's tests for categorical columns on small references. Counts come per category, missing
 * values already left out; categories are the union of both sides, in sorted order (the first one
 * is the z-test's "success").
 */

export type CategoryCounts = Readonly<Record<string, number>>;

export interface TestResult {
  readonly statistic: number;
  readonly pValue: number;
}

/** The union of both sides' categories with a positive count, sorted. */
export function categoriesOf(reference: CategoryCounts, current: CategoryCounts): string[] {
  const keys = new Set<string>();
  for (const [k, v] of Object.entries(reference)) if (v > 0) keys.add(k);
  for (const [k, v] of Object.entries(current)) if (v > 0) keys.add(k);
  return [...keys].sort();
}

export function totalOf(counts: CategoryCounts): number {
  let total = 0;
  for (const v of Object.values(counts)) total += v;
  return total;
}

/**
 * Evidently's chi_stat_test: observed = current counts, expected = reference shares × current
 * total, over the union of categories; p from chi-square with (categories − 1) degrees of freedom
 * (scipy.stats.chisquare). A category the reference never saw has expected 0: the statistic is
 * infinite and p = 0, as in Evidently (a new category is drift). One category alone: p = 1.
 * An empty side: p = 1 (nothing to compare; columnDrift reports it as no data).
 */
export function chiSquareTest(reference: CategoryCounts, current: CategoryCounts): TestResult {
  const keys = categoriesOf(reference, current);
  const refTotal = totalOf(reference);
  const curTotal = totalOf(current);
  if (keys.length < 2 || refTotal === 0 || curTotal === 0) return { statistic: 0, pValue: 1 };
  let statistic = 0;
  for (const key of keys) {
    const observed = current[key] ?? 0;
    const expected = ((reference[key] ?? 0) * curTotal) / refTotal;
    if (expected === 0) return { statistic: Number.POSITIVE_INFINITY, pValue: 0 };
    statistic += ((observed - expected) * (observed - expected)) / expected;
  }
  return { statistic, pValue: chiSquareSf(statistic, keys.length - 1) };
}

/**
 * Evidently's z_stat_test for two categories: the share of the first category in each sample,
 * the pooled two-proportion z statistic, two-sided normal p-value. Both samples holding only the
 * same single category: p = 1, as Evidently. An empty side: p = 1 (nothing to compare).
 */
export function proportionsZTest(reference: CategoryCounts, current: CategoryCounts): TestResult {
  const keys = categoriesOf(reference, current);
  const n1 = totalOf(reference);
  const n2 = totalOf(current);
  const first = keys[0];
  if (keys.length < 2 || first === undefined || n1 === 0 || n2 === 0) return { statistic: 0, pValue: 1 };
  const p1 = (reference[first] ?? 0) / n1;
  const p2 = (current[first] ?? 0) / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / se;
  return { statistic: z, pValue: Math.min(1, twoSidedNormalP(z)) };
}
