/**
 * Units needed per arm (two equal arms) to detect a minimum effect with a given power.
 *
 * Rates (Fleiss' normal-approximation formula, no continuity correction), p₁ the baseline and
 * p₂ = p₁ + δ (absolute MDE) or p₁·(1 + δ) (relative MDE), p̄ = (p₁ + p₂)/2:
 *   n = ( z_{1−α/2}·√(2p̄(1−p̄)) + z_{1−β}·√(p₁(1−p₁) + p₂(1−p₂)) )² / (p₂ − p₁)²
 * Means (known σ, common to both arms), δ the absolute MDE:
 *   n = 2σ²(z_{1−α/2} + z_{1−β})² / δ²
 * One-sided tests use z_{1−α}. `exact` is the unrounded n; `unitsPerArm` rounds it up.
 */
import { normalQuantile } from './distributions.js';
import { invalidStatsInput, requireOpenUnit, requirePositive } from './validate.js';

export interface PowerOptions {
  alpha?: number;
  power?: number;
  alternative?: 'two-sided' | 'one-sided';
}

export interface PowerResult {
  unitsPerArm: number;
  exact: number;
}

function criticalValues(opts: PowerOptions): { zAlpha: number; zBeta: number } {
  const alpha = opts.alpha ?? 0.05;
  const power = opts.power ?? 0.8;
  requireOpenUnit('alpha', alpha);
  requireOpenUnit('power', power);
  const tail = (opts.alternative ?? 'two-sided') === 'two-sided' ? alpha / 2 : alpha;
  return { zAlpha: normalQuantile(1 - tail), zBeta: normalQuantile(power) };
}

export function unitsPerArmForProportions(
  input: { baselineRate: number; mde: number; mdeKind: 'absolute' | 'relative' } & PowerOptions,
): PowerResult & { treatmentRate: number } {
  const p1 = input.baselineRate;
  requireOpenUnit('baselineRate', p1);
  if (!(Number.isFinite(input.mde) && input.mde !== 0)) {
    throw invalidStatsInput('mde must be a non-zero number', { mde: input.mde });
  }
  const p2 = input.mdeKind === 'relative' ? p1 * (1 + input.mde) : p1 + input.mde;
  if (!(p2 > 0 && p2 < 1)) {
    throw invalidStatsInput('baseline plus the effect must stay a rate within (0, 1)', { treatmentRate: p2 });
  }
  const { zAlpha, zBeta } = criticalValues(input);
  const pBar = (p1 + p2) / 2;
  const numerator =
    zAlpha * Math.sqrt(2 * pBar * (1 - pBar)) + zBeta * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  const exact = numerator ** 2 / (p2 - p1) ** 2;
  return { exact, unitsPerArm: roundUp(exact), treatmentRate: p2 };
}

export function unitsPerArmForMeans(input: { sigma: number; mde: number } & PowerOptions): PowerResult {
  requirePositive('sigma', input.sigma);
  requirePositive('|mde|', Math.abs(input.mde));
  const { zAlpha, zBeta } = criticalValues(input);
  const exact = (2 * input.sigma ** 2 * (zAlpha + zBeta) ** 2) / input.mde ** 2;
  return { exact, unitsPerArm: roundUp(exact) };
}

/** Rounds up, ignoring float noise that would turn an exact 100 into 101. */
function roundUp(n: number): number {
  return Math.ceil(n - 1e-9);
}
