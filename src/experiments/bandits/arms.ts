/**
 * What a bandit knows about its arms: counts for rates, or count, sum and sum of squares for means
 * (all three are SQL aggregates, so the state can be recomputed from the outcome log at any time).
 */
import { ErrorCode, FerryError } from '../../core/errors.js';

export interface BinaryArm {
  name: string;
  units: number;
  successes: number;
}

export interface MeanArm {
  name: string;
  units: number;
  sum: number;
  sumSq: number;
  /** Σ (x − mean)², when known (the store computes it in two passes): preferred over sumSq. */
  m2?: number;
}

export type BanditArm = BinaryArm | MeanArm;

export function isBinaryArm(arm: BanditArm): arm is BinaryArm {
  return 'successes' in arm;
}

export function invalidBanditConfig(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_BANDIT_CONFIG, message, { details });
}

/** All arms of one bandit share one kind, with counts that make sense. */
export function validateArms(arms: readonly BanditArm[]): 'binary' | 'mean' {
  if (arms.length < 2) throw invalidBanditConfig('a bandit needs at least two arms', { arms: arms.length });
  const kind = isBinaryArm(arms[0]!) ? 'binary' : 'mean';
  for (const arm of arms) {
    if ((isBinaryArm(arm) ? 'binary' : 'mean') !== kind) {
      throw invalidBanditConfig('arms mix rates and means', { arm: arm.name });
    }
    if (!(Number.isInteger(arm.units) && arm.units >= 0)) {
      throw invalidBanditConfig('units must be a non-negative integer', { arm: arm.name, units: arm.units });
    }
    if (isBinaryArm(arm)) {
      if (!(Number.isInteger(arm.successes) && arm.successes >= 0 && arm.successes <= arm.units)) {
        throw invalidBanditConfig('successes must be an integer within [0, units]', { ...arm });
      }
    } else if (
      !(Number.isFinite(arm.sum) && Number.isFinite(arm.sumSq) && arm.sumSq >= 0) ||
      (arm.m2 !== undefined && !(Number.isFinite(arm.m2) && arm.m2 >= 0))
    ) {
      throw invalidBanditConfig('sum and sumSq must be finite (sumSq >= 0)', { ...arm });
    }
  }
  return kind;
}

/** The observed mean reward: the rate for binary arms; 0 for an arm with no units. */
export function meanReward(arm: BanditArm): number {
  if (arm.units === 0) return 0;
  return isBinaryArm(arm) ? arm.successes / arm.units : arm.sum / arm.units;
}

/** Unbiased sample variance of a mean arm's outcomes (0 below two units). */
export function sampleVariance(arm: MeanArm): number {
  if (arm.units < 2) return 0;
  if (arm.m2 !== undefined) return arm.m2 / (arm.units - 1);
  const mean = arm.sum / arm.units;
  return Math.max(0, (arm.sumSq - arm.sum * mean) / (arm.units - 1));
}

/** Splits `share` equally over the arms holding the maximum score. */
export function argmaxShares(scores: readonly number[], share = 1): number[] {
  const best = Math.max(...scores);
  const winners = scores.filter((s) => s === best).length;
  return scores.map((s) => (s === best ? share / winners : 0));
}
