/**
 * The two-sample Kolmogorov–Smirnov test as scipy's `ks_2samp(a, b)` computes it for small samples
 * (its 'auto' method is exact below 10 000 values a side, which KSWIN always is): D = max |F_a − F_b|
 * over every value of both samples (ties counted as scipy counts them), then the exact two-sided
 * p-value P(D ≥ d) under H0, from the lattice paths of the merged order. That p-value depends only
 * on (|a|, |b|, round(d·lcm)), so it is computed once per triple and kept: KSWIN asks it on every
 * value and, with 30 against 30, only 31 distinct answers exist.
 *
 * Kept in monitoring/detectors/ on purpose (a parallel helper writes monitoring/stats/ks.ts): to be
 * merged with that one later; this one is exact, with no asymptotic branch.
 */
export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
}

/** Sizes above this would make the exact lattice walk slow; KSWIN's stat_size is bounded by it. */
export const KS_EXACT_MAX_SIZE = 1000;

/** Keyed by (n1, n2, h) packed in one number: n1, n2 ≤ 1000 and h ≤ n1·n2 keep it below 2^53. */
const pValueCache = new Map<number, number>();

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Sizes are at most KS_EXACT_MAX_SIZE each (the caller's bound); the inputs are not modified. */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 > KS_EXACT_MAX_SIZE || n2 > KS_EXACT_MAX_SIZE) {
    throw new RangeError(`exact KS test takes at most ${KS_EXACT_MAX_SIZE} values a side`);
  }
  if (n1 === 0 || n2 === 0) return { statistic: 0, pValue: 1 };
  // Typed arrays sort numerically, and fast.
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  // Walk the merged values; at each distinct value both ECDFs have counted every value ≤ it.
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 || j < n2) {
    const v = i < n1 && (j >= n2 || x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < n1 && x[i]! === v) i++;
    while (j < n2 && y[j]! === v) j++;
    const gap = Math.abs(i / n1 - j / n2);
    if (gap > d) d = gap;
  }
  // scipy's exact method snaps D to the lattice (h / lcm) and returns that value as the statistic.
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = Math.round(d * lcm);
  return { statistic: h / lcm, pValue: exactPValue(n1, n2, g, h) };
}

/** P(D ≥ h / lcm) for samples of n1 and n2 values with no ties. */
function exactPValue(n1: number, n2: number, g: number, h: number): number {
  if (h === 0) return 1;
  const key = (n1 * 1001 + n2) * 1_000_001 + h;
  const known = pValueCache.get(key);
  if (known !== undefined) return known;
  const p = Math.min(1, Math.max(0, outsideProbability(n1, n2, h * g)));
  pValueCache.set(key, p);
  return p;
}

/**
 * The probability that a uniformly random merge order of n1 and n2 values reaches a point (i, j)
 * with |i·n2 − j·n1| ≥ bound. Probability mass flows along the lattice (from (i, j) to (i+1, j) with
 * probability (n1−i)/(n1−i+n2−j)); mass that lands outside is absorbed and summed. Summing the
 * absorbed mass (rather than 1 − the mass that stays inside) keeps small p-values accurate.
 */
function outsideProbability(n1: number, n2: number, bound: number): number {
  let row = new Float64Array(n2 + 1);
  row[0] = 1;
  let outside = 0;
  for (let i = 0; i <= n1; i++) {
    const next = new Float64Array(n2 + 1);
    for (let j = 0; j <= n2; j++) {
      const mass = row[j]!;
      if (mass === 0) continue;
      const left1 = n1 - i;
      const left2 = n2 - j;
      const total = left1 + left2;
      if (total === 0) continue;
      if (left1 > 0) {
        const share = (mass * left1) / total;
        if (Math.abs((i + 1) * n2 - j * n1) >= bound) outside += share;
        else next[j] = next[j]! + share;
      }
      if (left2 > 0) {
        const share = (mass * left2) / total;
        if (Math.abs(i * n2 - (j + 1) * n1) >= bound) outside += share;
        else row[j + 1] = row[j + 1]! + share;
      }
    }
    row = next;
  }
  return outside;
}
