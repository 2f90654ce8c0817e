/**
 * Bayesian chance that the treatment beats the control.
 *
 * Rates: each arm's rate has the posterior Beta(α₀ + conversions, β₀ + units − conversions), with a
 * uniform Beta(1, 1) prior by default, and P(p_t > p_c) is computed without sampling:
 * - exactly, by Evan Miller's closed form when the summed shape parameter is an integer
 *   (always, with integer priors):
 *     P(X_B > X_A) = Σ_{i=0}^{α_B−1} B(α_A + i, β_A + β_B) / ((β_B + i) · B(1 + i, β_B) · B(α_A, β_A)),
 *   summing over whichever arm has fewer terms (P(X_B > X_A) = 1 − P(X_A > X_B), ties have mass 0);
 * - else, or when both arms have more than EXACT_MAX_TERMS conversions, by adaptive Gauss–Kronrod
 *   quadrature of ∫ f_A(x)·(1 − F_B(x)) dx over the region holding A's posterior mass.
 *
 * Means: the normal approximation with flat priors, P(μ_t > μ_c) = Φ(Δ / √(s_c²/n_c + s_t²/n_t)).
 */

import { logBeta } from '../../core/special-functions.js';
import { betaPdf, betaSf, normalCdf } from './distributions.js';
import { integrate } from './quadrature.js';
import { type ProportionArm, validateProportionArm } from './two-proportion-test.js';
import { invalidStatsInput, requirePositive } from './validate.js';
import { type MeanSummary, validateMeanSummary } from './welch-test.js';

export interface BetaPrior {
  alpha: number;
  beta: number;
}

const UNIFORM_PRIOR: BetaPrior = { alpha: 1, beta: 1 };

/** Above this many terms the closed form costs more than quadrature (and its rounding adds up). */
const EXACT_MAX_TERMS = 20_000;

export function chanceToBeatControlBinary(
  control: ProportionArm,
  treatment: ProportionArm,
  prior: BetaPrior = UNIFORM_PRIOR,
): number {
  validateProportionArm('control', control);
  validateProportionArm('treatment', treatment);
  requirePositive('prior.alpha', prior.alpha);
  requirePositive('prior.beta', prior.beta);
  const a = posterior(control, prior);
  const b = posterior(treatment, prior);
  return probabilityBetaGreater(b, a);
}

function posterior(arm: ProportionArm, prior: BetaPrior): BetaPrior {
  return { alpha: prior.alpha + arm.conversions, beta: prior.beta + arm.units - arm.conversions };
}

/** P(X > Y) for independent X ~ Beta(x.alpha, x.beta), Y ~ Beta(y.alpha, y.beta). */
function probabilityBetaGreater(x: BetaPrior, y: BetaPrior): number {
  const exactX = Number.isInteger(x.alpha) && x.alpha <= EXACT_MAX_TERMS;
  const exactY = Number.isInteger(y.alpha) && y.alpha <= EXACT_MAX_TERMS;
  let p: number;
  if (exactX && (!exactY || x.alpha <= y.alpha)) p = millerSum(x, y);
  else if (exactY) p = 1 - millerSum(y, x);
  else p = quadratureGreater(x, y);
  return Math.min(1, Math.max(0, p));
}

/** Evan Miller's sum for P(X_B > X_A), B = `b` (integer α), A = `a`. All terms positive: stable. */
function millerSum(b: BetaPrior, a: BetaPrior): number {
  const constant = logBeta(a.alpha, a.beta);
  let total = 0;
  for (let i = 0; i < b.alpha; i++) {
    total += Math.exp(
      logBeta(a.alpha + i, a.beta + b.beta) - Math.log(b.beta + i) - logBeta(1 + i, b.beta) - constant,
    );
  }
  return total;
}

function quadratureGreater(x: BetaPrior, y: BetaPrior): number {
  // Integrate over Y's density: P(X > Y) = ∫ f_Y(t)·P(X > t) dt. Beyond 40 standard deviations of
  // Y the density is below 1e-300 even for skewed betas with these (large) shapes.
  const n = y.alpha + y.beta;
  const mean = y.alpha / n;
  const sd = Math.sqrt((y.alpha * y.beta) / (n * n * (n + 1)));
  const lo = Math.max(0, mean - 40 * sd);
  const hi = Math.min(1, mean + 40 * sd);
  if (!(hi > lo)) throw invalidStatsInput('degenerate beta posterior', { ...y });
  return integrate((t) => betaPdf(t, y.alpha, y.beta) * betaSf(t, x.alpha, x.beta), lo, hi, {
    absTolerance: 1e-12,
    initialPanels: 64,
  });
}

export function chanceToBeatControlMean(control: MeanSummary, treatment: MeanSummary): number {
  validateMeanSummary('control', control);
  validateMeanSummary('treatment', treatment);
  const se = Math.sqrt(control.variance / control.n + treatment.variance / treatment.n);
  const difference = treatment.mean - control.mean;
  if (se === 0) return difference > 0 ? 1 : difference < 0 ? 0 : 0.5;
  return normalCdf(difference / se);
}
