import { type CategoryCounts, categoriesOf, totalOf } from './chi-square.js';

/*
 * Population stability index: Σ (r − c)·ln(r / c) over bins, r and c the reference's and the
 * current sample's shares. Empty bins take Evidently's floor (get_binned_data): 0.0001, or the
 * side's smallest non-zero share / 10⁶ when that share is itself ≤ 0.0001, so the logarithm stays
 * finite and a bin that emptied still counts heavily.
 */

const FLOOR = 0.0001;

function psiOfShares(ref: number[], cur: number[]): number {
  floorZeros(ref);
  floorZeros(cur);
  let psi = 0;
  for (let i = 0; i < ref.length; i++) psi += (ref[i]! - cur[i]!) * Math.log(ref[i]! / cur[i]!);
  return psi;
}

function floorZeros(shares: number[]): void {
  let minPositive = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s > 0 && s < minPositive) minPositive = s;
  const fill = minPositive <= FLOOR ? minPositive / 1e6 : FLOOR;
  for (let i = 0; i < shares.length; i++) if (shares[i] === 0) shares[i] = fill;
}

/** PSI over the union of categories; 0 when a side is empty (nothing to compare, no NaN). */
export function categoricalPsi(reference: CategoryCounts, current: CategoryCounts): number {
  const keys = categoriesOf(reference, current);
  const refTotal = totalOf(reference);
  const curTotal = totalOf(current);
  if (refTotal === 0 || curTotal === 0) return 0;
  return psiOfShares(
    keys.map((k) => (reference[k] ?? 0) / refTotal),
    keys.map((k) => (current[k] ?? 0) / curTotal),
  );
}

/** numpy.quantile's default (linear) on an ascending sample. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Index of the first value > edge (values ≤ edge fall in the bin the edge closes). */
function upperBound(sorted: readonly number[], edge: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= edge) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * PSI over the reference's deciles: bins (−∞, q10], (q10, q20], …, (q90, ∞), equal edges merged
 * (a reference with few distinct values has fewer bins). Both samples ascending; 0 when either
 * is empty (nothing to compare, no NaN).
 */
export function numericPsi(reference: readonly number[], current: readonly number[]): number {
  if (reference.length === 0 || current.length === 0) return 0;
  const edges: number[] = [];
  for (let i = 1; i < 10; i++) {
    const e = quantile(reference, i / 10);
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  const shares = (sample: readonly number[]): number[] => {
    const out: number[] = [];
    let prev = 0;
    for (const e of edges) {
      const at = upperBound(sample, e);
      out.push((at - prev) / sample.length);
      prev = at;
    }
    out.push((sample.length - prev) / sample.length);
    return out;
  };
  return psiOfShares(shares(reference), shares(current));
}
