/*
 * Wasserstein-1 distance between two empirical distributions on the line
 * (scipy.stats.wasserstein_distance with unit weights): the area between the two empirical CDFs,
 * integrated over the merged breakpoints. Evidently's drift score divides it by the reference's
 * population standard deviation (numpy's std, ddof 0) so one threshold (0.1) fits every scale.
 */

/** Both samples ascending and finite, neither empty. */
export function wasserstein(a: readonly number[], b: readonly number[]): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('wasserstein needs two non-empty samples');
  let i = 0;
  let j = 0;
  let prev = Math.min(a[0]!, b[0]!);
  let total = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    // the CDFs are constant on [prev, v): what they were after the last breakpoint
    total += Math.abs(i / n1 - j / n2) * (v - prev);
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    prev = v;
  }
  return total;
}

/** Population standard deviation (ddof 0), two-pass for accuracy. */
function populationStd(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return Math.sqrt(ss / values.length);
}

/** Evidently's floor on the reference's std: a constant reference still gives a finite score. */
const MIN_STD = 0.001;

/**
 * Evidently's normed Wasserstein: distance / max(std(reference), 0.001). A constant reference (std
 * 0) is divided by 0.001, as Evidently does, so a constant column that moved by more than 0.0001
 * drifts at the default 0.1 and the score stays finite (JSON has no Infinity).
 */
export function normedWasserstein(reference: readonly number[], current: readonly number[]): number {
  return wasserstein(reference, current) / Math.max(populationStd(reference), MIN_STD);
}
