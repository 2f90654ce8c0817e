/**
 * Two-proportion z-test, treatment against control.
 *
 *   p̂ᵢ = xᵢ/nᵢ, Δ = p̂_t − p̂_c
 *   test statistic:  z = Δ / √(p̄(1−p̄)(1/n_c + 1/n_t)),  p̄ = (x_c + x_t)/(n_c + n_t)   (pooled, the
 *                    standard error under H0: p_t = p_c); two-sided p = 2·(1 − Φ(|z|))
 *   CI of Δ:         Δ ± z_{1−α/2} · √(p̂_c(1−p̂_c)/n_c + p̂_t(1−p̂_t)/n_t)             (unpooled, Wald)
 *   relative lift:   L = p̂_t/p̂_c − 1, delta method: Var(L) ≈ v_t/p̂_c² + p̂_t²·v_c/p̂_c⁴,
 *                    vᵢ = p̂ᵢ(1−p̂ᵢ)/nᵢ; CI L ± z_{1−α/2}·√Var(L)
 */
import { normalQuantile, normalSf } from './distributions.js';
import { invalidStatsInput, requireCount, requireOpenUnit } from './validate.js';

export interface ProportionArm {
  units: number;
  conversions: number;
}

export type Interval = [low: number, high: number];

export interface TwoProportionResult {
  controlRate: number;
  treatmentRate: number;
  /** Absolute difference, treatment − control. */
  difference: number;
  differenceCi: Interval;
  /** treatment/control − 1; null when the control rate is 0 (undefined ratio). */
  relativeLift: number | null;
  relativeLiftCi: Interval | null;
  z: number;
  pValue: number;
  pooledStandardError: number;
  unpooledStandardError: number;
}

export function validateProportionArm(name: string, arm: ProportionArm): void {
  requireCount(`${name}.units`, arm.units, 1);
  requireCount(`${name}.conversions`, arm.conversions);
  if (arm.conversions > arm.units) {
    throw invalidStatsInput(`${name}.conversions cannot exceed ${name}.units`, { ...arm });
  }
}

export function twoProportionZTest(
  control: ProportionArm,
  treatment: ProportionArm,
  opts: { alpha?: number } = {},
): TwoProportionResult {
  const alpha = opts.alpha ?? 0.05;
  requireOpenUnit('alpha', alpha);
  validateProportionArm('control', control);
  validateProportionArm('treatment', treatment);
  const pc = control.conversions / control.units;
  const pt = treatment.conversions / treatment.units;
  const difference = pt - pc;
  const pooled = (control.conversions + treatment.conversions) / (control.units + treatment.units);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / control.units + 1 / treatment.units));
  const vc = (pc * (1 - pc)) / control.units;
  const vt = (pt * (1 - pt)) / treatment.units;
  const unpooledSe = Math.sqrt(vc + vt);
  const zCrit = normalQuantile(1 - alpha / 2);
  // All-or-nothing outcomes in both arms leave no variance: nothing can be concluded, so z = 0.
  const z = pooledSe > 0 ? difference / pooledSe : 0;
  const pValue = Math.min(1, 2 * normalSf(Math.abs(z)));
  let relativeLift: number | null = null;
  let relativeLiftCi: Interval | null = null;
  if (pc > 0) {
    relativeLift = pt / pc - 1;
    const se = Math.sqrt(vt / (pc * pc) + (pt * pt * vc) / pc ** 4);
    relativeLiftCi = [relativeLift - zCrit * se, relativeLift + zCrit * se];
  }
  return {
    controlRate: pc,
    treatmentRate: pt,
    difference,
    differenceCi: [difference - zCrit * unpooledSe, difference + zCrit * unpooledSe],
    relativeLift,
    relativeLiftCi,
    z,
    pValue,
    pooledStandardError: pooledSe,
    unpooledStandardError: unpooledSe,
  };
}
