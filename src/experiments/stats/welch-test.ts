/**
 * Welch's t-test on summary statistics (so the inputs can come from SQL aggregates), treatment
 * against control.
 *
 *   Δ = m_t − m_c, SE = √(s_c²/n_c + s_t²/n_t)
 *   t = Δ/SE, ν = SE⁴ / ((s_c²/n_c)²/(n_c−1) + (s_t²/n_t)²/(n_t−1))    (Welch–Satterthwaite)
 *   two-sided p = 2·P(T_ν > |t|); CI of Δ: Δ ± t_{ν,1−α/2}·SE
 *   relative lift L = m_t/m_c − 1 with the delta method, Var(L) ≈ u_t/m_c² + m_t²·u_c/m_c⁴ with
 *   uᵢ = sᵢ²/nᵢ, and a normal critical value (the delta method is itself asymptotic).
 * Identical to scipy.stats.ttest_ind_from_stats(..., equal_var=False).
 */
import { normalQuantile, studentTQuantile, studentTSf } from './distributions.js';
import type { Interval } from './two-proportion-test.js';
import { requireCount, requireFinite, requireNonNegative, requireOpenUnit } from './validate.js';

/** n units with their sample mean and unbiased sample variance (divisor n − 1). */
export interface MeanSummary {
  n: number;
  mean: number;
  variance: number;
}

export interface WelchResult {
  difference: number;
  differenceCi: Interval;
  relativeLift: number | null;
  relativeLiftCi: Interval | null;
  t: number;
  df: number;
  pValue: number;
  standardError: number;
}

/**
 * Mean and unbiased variance from `COUNT(x), SUM(x), SUM(x*x)`. The textbook shortcut cancels
 * catastrophically when the mean is large against the spread; for such metrics aggregate
 * `SUM((x − c)²)` around a rough centre c instead, or pass the variance the database computes.
 */
export function summaryFromSums(n: number, sum: number, sumOfSquares: number): MeanSummary {
  requireCount('n', n, 1);
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (sumOfSquares - sum * mean) / (n - 1)) : 0;
  return { n, mean, variance };
}

export function validateMeanSummary(name: string, s: MeanSummary): void {
  requireCount(`${name}.n`, s.n, 2);
  requireFinite(`${name}.mean`, s.mean);
  requireNonNegative(`${name}.variance`, s.variance);
}

export function welchTTest(
  control: MeanSummary,
  treatment: MeanSummary,
  opts: { alpha?: number } = {},
): WelchResult {
  const alpha = opts.alpha ?? 0.05;
  requireOpenUnit('alpha', alpha);
  validateMeanSummary('control', control);
  validateMeanSummary('treatment', treatment);
  const uc = control.variance / control.n;
  const ut = treatment.variance / treatment.n;
  const se = Math.sqrt(uc + ut);
  const difference = treatment.mean - control.mean;
  let relativeLift: number | null = null;
  let relativeLiftCi: Interval | null = null;
  if (control.mean !== 0) {
    const mc = control.mean;
    relativeLift = treatment.mean / mc - 1;
    const liftSe = Math.sqrt(ut / (mc * mc) + (treatment.mean * treatment.mean * uc) / mc ** 4);
    const z = normalQuantile(1 - alpha / 2);
    relativeLiftCi = [relativeLift - z * liftSe, relativeLift + z * liftSe];
  }
  if (se === 0) {
    // Constant metrics: the difference is known exactly; any non-zero one is certain.
    return {
      difference,
      differenceCi: [difference, difference],
      relativeLift,
      relativeLiftCi,
      t: difference === 0 ? 0 : Math.sign(difference) * Number.POSITIVE_INFINITY,
      df: control.n + treatment.n - 2,
      pValue: difference === 0 ? 1 : 0,
      standardError: 0,
    };
  }
  const df = (uc + ut) ** 2 / (uc ** 2 / (control.n - 1) + ut ** 2 / (treatment.n - 1));
  const t = difference / se;
  const tCrit = studentTQuantile(1 - alpha / 2, df);
  return {
    difference,
    differenceCi: [difference - tCrit * se, difference + tCrit * se],
    relativeLift,
    relativeLiftCi,
    t,
    df,
    pValue: Math.min(1, 2 * studentTSf(Math.abs(t), df)),
    standardError: se,
  };
}
