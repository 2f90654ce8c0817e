/**
 * Always-valid inference by the mixture sequential probability ratio test (mSPRT) of Johari,
 * Koomen, Pekelis & Walsh, "Peeking at A/B Tests" (KDD 2017), the method behind Optimizely's
 * Stats Engine, for a difference θ of two means or rates.
 *
 * With θ̂ the observed difference and V its (plug-in) variance, a normal mixing distribution
 * θ ~ N(θ₀, τ²) gives the mixture likelihood ratio against H₀: θ = θ₀
 *
 *   Λ(θ₀) = √(V / (V + τ²)) · exp( τ²(θ̂ − θ₀)² / (2V(V + τ²)) ).
 *
 * At one look: p = min(1, 1/Λ(0)), and the confidence set {θ₀ : Λ(θ₀) < 1/α} is
 *
 *   θ̂ ± √( V(V + τ²)/τ² · (ln((V + τ²)/V) − 2 ln α) ).
 *
 * Validity at every look at once comes from taking the running minimum of p and the running
 * intersection of the intervals over the looks (`combineLooks`): the caller keeps that state.
 * Because p and the interval use the same V, p < α exactly when 0 is outside the interval.
 *
 * τ² is the prior variance of true effects on the scale of θ: tests are most powerful for effects
 * near τ. Without history, τ = the minimum detectable (absolute) effect is a sound choice
 * (`suggestTau2`).
 */
import type { ProportionArm } from './two-proportion-test.js';
import { type Interval, validateProportionArm } from './two-proportion-test.js';
import { requireFinite, requireNonNegative, requireOpenUnit, requirePositive } from './validate.js';
import { type MeanSummary, validateMeanSummary } from './welch-test.js';

export interface MsprtInput {
  /** θ̂, treatment − control. */
  difference: number;
  /** V, the variance of θ̂ (not of a unit's outcome). */
  variance: number;
  tau2: number;
  alpha?: number;
}

export interface MsprtLook {
  /** ln Λ(0); logs, because Λ overflows doubles for decisive experiments. */
  logLikelihoodRatio: number;
  /** min(1, 1/Λ(0)) at this look alone. */
  pValue: number;
  ci: Interval;
}

export function msprt(input: MsprtInput): MsprtLook {
  const { difference, variance: v, tau2 } = input;
  const alpha = input.alpha ?? 0.05;
  requireFinite('difference', difference);
  requireNonNegative('variance', v);
  requirePositive('tau2', tau2);
  requireOpenUnit('alpha', alpha);
  if (v === 0) {
    // No spread yet (e.g. no conversions anywhere): no evidence either way.
    return { logLikelihoodRatio: 0, pValue: 1, ci: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] };
  }
  const logRatio = 0.5 * Math.log(v / (v + tau2)) + (tau2 * difference * difference) / (2 * v * (v + tau2));
  const radius = Math.sqrt(((v * (v + tau2)) / tau2) * (Math.log1p(tau2 / v) - 2 * Math.log(alpha)));
  return {
    logLikelihoodRatio: logRatio,
    pValue: Math.min(1, Math.exp(-logRatio)),
    ci: [difference - radius, difference + radius],
  };
}

/** θ̂ and V for rates, with unpooled variances p̂(1 − p̂)/n. */
export function msprtForProportions(
  control: ProportionArm,
  treatment: ProportionArm,
  opts: { tau2: number; alpha?: number },
): MsprtLook {
  validateProportionArm('control', control);
  validateProportionArm('treatment', treatment);
  const pc = control.conversions / control.units;
  const pt = treatment.conversions / treatment.units;
  return msprt({
    difference: pt - pc,
    variance: (pc * (1 - pc)) / control.units + (pt * (1 - pt)) / treatment.units,
    ...opts,
  });
}

export function msprtForMeans(
  control: MeanSummary,
  treatment: MeanSummary,
  opts: { tau2: number; alpha?: number },
): MsprtLook {
  validateMeanSummary('control', control);
  validateMeanSummary('treatment', treatment);
  return msprt({
    difference: treatment.mean - control.mean,
    variance: control.variance / control.n + treatment.variance / treatment.n,
    ...opts,
  });
}

/** What the caller persists between looks. */
export interface AlwaysValidState {
  pValue: number;
  ci: Interval;
  /** True once two looks' intervals were disjoint: the sequence missed θ, so the data drifted. */
  conflict: boolean;
}

/**
 * Folds a new look into the running state: p = min over looks, interval = intersection over
 * looks. An empty intersection keeps the last non-empty interval and raises `conflict`.
 */
export function combineLooks(previous: AlwaysValidState | undefined, look: MsprtLook): AlwaysValidState {
  if (previous === undefined) return { pValue: look.pValue, ci: [...look.ci], conflict: false };
  const lo = Math.max(previous.ci[0], look.ci[0]);
  const hi = Math.min(previous.ci[1], look.ci[1]);
  const empty = lo > hi;
  return {
    pValue: Math.min(previous.pValue, look.pValue),
    ci: empty ? previous.ci : [lo, hi],
    conflict: previous.conflict || empty,
  };
}

/** τ² = MDE², the MDE on the scale of the difference (absolute), as the note above explains. */
export function suggestTau2(absoluteMde: number): number {
  requirePositive('absoluteMde', Math.abs(absoluteMde));
  return absoluteMde * absoluteMde;
}
