/*
 * The tails the drift tests need, over the one copy of the special functions
 * (`core/special-functions.ts`, also behind the experiments' statistics; checked against scipy there
 * and here).
 */
import { regularizedGammaQ } from '../../core/special-functions.js';

/** Survival function of the chi-square distribution with k degrees of freedom. */
export function chiSquareSf(x: number, k: number): number {
  return regularizedGammaQ(k / 2, x / 2);
}

/** Two-sided normal tail 2·(1 − Φ(|z|)) = erfc(|z|/√2) = Q(1/2, z²/2), accurate far out. */
export function twoSidedNormalP(z: number): number {
  return regularizedGammaQ(0.5, (z * z) / 2);
}
