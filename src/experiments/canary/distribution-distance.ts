/**
 * Distances between two label distributions given as counts (label → count); labels missing from one side
 * count as zero there. Both are symmetric and bounded in [0, 1], so one threshold reads the same for any
 * number of classes.
 *
 * Sample bias: two samples of n₁ and n₂ items from one distribution over k labels still show a
 * Jensen–Shannon divergence of about (k − 1)(1/n₁ + 1/n₂) / (8 ln 2) on average (≈ 0.011 for k = 4 and
 * 100 items a side): keep the canary's minimum requests large enough that this stays well under the threshold.
 */
import { ErrorCode, FerryError } from '../../core/errors.js';

export type LabelCounts = Readonly<Record<string, number>>;

/** Jensen–Shannon divergence in bits: 0 for equal distributions, 1 for disjoint ones. */
export function jensenShannonDivergence(p: LabelCounts, q: LabelCounts): number {
  const [pp, qq] = normalize(p, q);
  let js = 0;
  for (let i = 0; i < pp.length; i++) {
    const a = pp[i]!;
    const b = qq[i]!;
    const m = (a + b) / 2;
    // 0 · log 0 = 0: a label absent on one side adds only the other side's term.
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
    if (b > 0) js += 0.5 * b * Math.log2(b / m);
  }
  // Rounding can leave -1e-17 or 1 + 1e-16; the value is bounded by definition.
  return Math.min(1, Math.max(0, js));
}

/** Total variation distance: half the L1 distance, the largest difference in any event's probability. */
export function totalVariationDistance(p: LabelCounts, q: LabelCounts): number {
  const [pp, qq] = normalize(p, q);
  let sum = 0;
  for (let i = 0; i < pp.length; i++) sum += Math.abs(pp[i]! - qq[i]!);
  return Math.min(1, sum / 2);
}

/** Both distributions as probabilities over the union of their labels, in one order. */
function normalize(p: LabelCounts, q: LabelCounts): [number[], number[]] {
  const labels = [...new Set([...Object.keys(p), ...Object.keys(q)])];
  const pTotal = total(p, 'p');
  const qTotal = total(q, 'q');
  return [labels.map((l) => (p[l] ?? 0) / pTotal), labels.map((l) => (q[l] ?? 0) / qTotal)];
}

function total(counts: LabelCounts, name: string): number {
  let sum = 0;
  for (const [label, n] of Object.entries(counts)) {
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      throw badInput(`${name}: the count of "${label}" must be a finite number >= 0`, { label, count: n });
    }
    sum += n;
  }
  if (!(sum > 0)) throw badInput(`${name} is empty: a distance needs counts on both sides`, { total: sum });
  return sum;
}

function badInput(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, message, { details });
}
