import { type CategoryCounts, categoriesOf, totalOf } from './chi-square.js';

/*
 * Jensen–Shannon distance between the category shares of two samples, as Evidently computes it:
 * scipy.spatial.distance.jensenshannon(reference_shares, current_shares) over the union of
 * categories, no smoothing. Natural logarithm (scipy's default, base=None), because that is what
 * Evidently calls and its 0.1 threshold was set on that scale; base 2 would multiply every
 * distance by 1/√ln 2 ≈ 1.20 and make the same threshold stricter. Range [0, √ln 2 ≈ 0.833].
 */

export function jensenShannonDistance(reference: CategoryCounts, current: CategoryCounts): number {
  const keys = categoriesOf(reference, current);
  const refTotal = totalOf(reference);
  const curTotal = totalOf(current);
  if (refTotal === 0 || curTotal === 0) return 0; // nothing to compare, and no NaN
  let divergence = 0;
  for (const key of keys) {
    const p = (reference[key] ?? 0) / refTotal;
    const q = (current[key] ?? 0) / curTotal;
    const m = (p + q) / 2;
    if (p > 0) divergence += p * Math.log(p / m);
    if (q > 0) divergence += q * Math.log(q / m);
  }
  // rounding can leave a tiny negative divergence for identical shares
  return Math.sqrt(Math.max(0, divergence / 2));
}
