/**
 * Two-proportion z-test, treatment against control.
 *
 *   p̂ᵢ = xᵢ/nᵢ, Δ = p̂_t − p̂_c
 *   test statistic:  z = Δ / √(p̄(1−p̄)(1/n_c + 1/n_t)),  p̄ = (x_c + x_t)/(n_c + n_t)   (pooled, the
 *                    standard error under H0: p_t = p_c); two-sided p = 2·(1 − Φ(|z|))
 *   CI of Δ:         the score interval (Mee 1984; Miettinen & Nurminen 1985 without their
 *                    n/(n−1) factor): every Δ₀ with |p̂_t − p̂_c − Δ₀| / σ̃(Δ₀) < z_{1−α/2}, where
 *                    σ̃²(Δ₀) = p̃_t(1−p̃_t)/n_t + p̃_c(1−p̃_c)/n_c at the maximum-likelihood rates
 *                    restricted to p̃_t − p̃_c = Δ₀ (Farrington & Manning 1990, closed form).
 *                    It inverts the same score test as the p-value: at Δ₀ = 0 the restricted rates
 *                    are the pooled one, so the interval excludes 0 exactly when p < α; and it
 *                    stays within [−1, 1] however small the arms (a Wald interval does not).
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
    // A ratio of rates is >= 0: the lift cannot be below −1 whatever the delta method says.
    relativeLiftCi = [Math.max(-1, relativeLift - zCrit * se), relativeLift + zCrit * se];
  }
  return {
    controlRate: pc,
    treatmentRate: pt,
    difference,
    differenceCi: scoreInterval(control, treatment, zCrit),
    relativeLift,
    relativeLiftCi,
    z,
    pValue,
    pooledStandardError: pooledSe,
    unpooledStandardError: unpooledSe,
  };
}

/**
 * The restricted maximum-likelihood rates (treatment, control) under p_t − p_c = delta:
 * Farrington & Manning (1990), eq. (8)-(9), the root of a cubic in closed (trigonometric) form.
 */
function restrictedRates(
  control: ProportionArm,
  treatment: ProportionArm,
  delta: number,
): [treatment: number, control: number] {
  const p1 = treatment.conversions / treatment.units;
  const p2 = control.conversions / control.units;
  const theta = control.units / treatment.units;
  const a = 1 + theta;
  const b = -(1 + theta + p1 + theta * p2 + delta * (theta + 2));
  const c = delta * delta + delta * (2 * p1 + theta + 1) + p1 + theta * p2;
  const d = -p1 * delta * (1 + delta);
  const v = b ** 3 / (27 * a ** 3) - (b * c) / (6 * a * a) + d / (2 * a);
  const u = (v < 0 ? -1 : 1) * Math.sqrt(Math.max(0, (b * b) / (9 * a * a) - c / (3 * a)));
  let r1: number;
  if (u === 0) r1 = -b / (3 * a);
  else {
    const w = (Math.PI + Math.acos(Math.max(-1, Math.min(1, v / u ** 3)))) / 3;
    r1 = 2 * u * Math.cos(w) - b / (3 * a);
  }
  // Rounding can step a hair outside [0, 1] (or outside the constraint's feasible range).
  const lo = Math.max(0, delta);
  const hi = Math.min(1, 1 + delta);
  r1 = Math.min(hi, Math.max(lo, r1));
  return [r1, r1 - delta];
}

/** The score statistic of H0: p_t − p_c = delta (+∞/−∞ where the restricted variance vanishes). */
export function scoreStatistic(control: ProportionArm, treatment: ProportionArm, delta: number): number {
  const diff = treatment.conversions / treatment.units - control.conversions / control.units;
  const [r1, r2] = restrictedRates(control, treatment, delta);
  const variance = (r1 * (1 - r1)) / treatment.units + (r2 * (1 - r2)) / control.units;
  const num = diff - delta;
  if (!(variance > 0)) return num === 0 ? 0 : Math.sign(num) * Number.POSITIVE_INFINITY;
  return num / Math.sqrt(variance);
}

/**
 * {delta : |score(delta)| < zCrit} by bisection on each side of the estimate (the statistic
 * decreases in delta), to 1e-12.
 */
function scoreInterval(control: ProportionArm, treatment: ProportionArm, zCrit: number): Interval {
  const diff = treatment.conversions / treatment.units - control.conversions / control.units;
  const solve = (from: number, to: number, target: number): number => {
    // Invariant: score(from) is on the far side of target (beyond the bound), score(to) not.
    let outside = from;
    let inside = to;
    for (let i = 0; i < 200 && Math.abs(outside - inside) > 1e-12; i++) {
      const mid = (outside + inside) / 2;
      const z = scoreStatistic(control, treatment, mid);
      if (target > 0 ? z >= target : z <= target) outside = mid;
      else inside = mid;
    }
    return (outside + inside) / 2;
  };
  const low = diff <= -1 ? -1 : solve(-1, diff, zCrit);
  const high = diff >= 1 ? 1 : solve(1, diff, -zCrit);
  return [low, high];
}
