/**
 * One bandit update: new traffic weights from the outcomes so far.
 *
 * - Until every arm has `minUnitsPerArm` units the weights stay as they are (early noise must not
 *   starve an arm before it has been measured at all).
 * - Then the policy proposes raw shares r (summing to 1) and every arm is guaranteed `floor`:
 *   wᵢ = floor + (1 − k·floor)·rᵢ, which keeps the sum at 1 and each wᵢ ≥ floor, and keeps exploring
 *   an arm the policy has written off (so a drifting arm can come back).
 * - Deterministic: the same arms, policy and seed give the same weights (Thompson draws use a PRNG
 *   seeded with `seed`; derive it from the experiment and update period to vary it between updates).
 */
import { type BanditArm, invalidBanditConfig, validateArms } from './arms.js';
import { epsilonGreedyWeights } from './epsilon-greedy.js';
import { DEFAULT_DRAWS, probabilityBest } from './thompson.js';
import { ucb1Weights } from './ucb1.js';

export type BanditPolicy =
  | { kind: 'thompson'; draws?: number }
  | { kind: 'ucb1'; rewardRange?: number }
  | { kind: 'epsilon-greedy'; epsilon: number };

export interface ReallocateOptions {
  /** Least share any arm keeps, within [0, 1/k]. */
  floor: number;
  minUnitsPerArm: number;
  seed: number;
  /** The weights in force; equal weights when absent. Returned unchanged while warming up. */
  currentWeights?: readonly number[];
}

export interface Reallocation {
  /** Aligned with the input arms; sum to 1, each >= floor once updated. */
  weights: number[];
  byArm: Record<string, number>;
  /** Posterior probability that each arm is best (Thompson draws), shown by the analysis for any policy. */
  probabilityBest: number[];
  updated: boolean;
  /** unusable-aggregates: the reward's figures were not finite; the weights in force are kept. */
  reason: 'warming-up' | 'reallocated' | 'unusable-aggregates';
}

const SUM_TOLERANCE = 1e-6;

export function reallocate(
  arms: readonly BanditArm[],
  policy: BanditPolicy,
  opts: ReallocateOptions,
): Reallocation {
  validateArms(arms);
  const k = arms.length;
  if (!(opts.floor >= 0 && opts.floor * k <= 1 + 1e-12)) {
    throw invalidBanditConfig('floor must be within [0, 1/arms]', { floor: opts.floor, arms: k });
  }
  if (!(Number.isInteger(opts.minUnitsPerArm) && opts.minUnitsPerArm >= 0)) {
    throw invalidBanditConfig('minUnitsPerArm must be a non-negative integer', {
      minUnitsPerArm: opts.minUnitsPerArm,
    });
  }
  if (!Number.isFinite(opts.seed))
    throw invalidBanditConfig('seed must be a finite number', { seed: opts.seed });
  const current = opts.currentWeights ? [...opts.currentWeights] : new Array<number>(k).fill(1 / k);
  validateWeights(current, k);

  const draws = policy.kind === 'thompson' ? (policy.draws ?? DEFAULT_DRAWS) : DEFAULT_DRAWS;
  if (!(Number.isInteger(draws) && draws > 0))
    throw invalidBanditConfig('draws must be a positive integer', { draws });
  const pBest = probabilityBest(arms, { seed: opts.seed, draws });

  if (arms.some((a) => a.units < opts.minUnitsPerArm)) {
    return result(arms, current, pBest, false);
  }
  const raw = rawShares(arms, policy, pBest);
  const spread = 1 - k * opts.floor;
  return result(
    arms,
    raw.map((r) => opts.floor + spread * r),
    pBest,
    true,
  );
}

function rawShares(arms: readonly BanditArm[], policy: BanditPolicy, pBest: number[]): number[] {
  switch (policy.kind) {
    case 'thompson':
      return pBest;
    case 'ucb1':
      if (policy.rewardRange !== undefined && !(policy.rewardRange > 0)) {
        throw invalidBanditConfig('rewardRange must be positive', { rewardRange: policy.rewardRange });
      }
      return ucb1Weights(arms, policy.rewardRange ?? 1);
    case 'epsilon-greedy':
      return epsilonGreedyWeights(arms, policy.epsilon);
    default:
      throw invalidBanditConfig('unknown bandit policy', { policy });
  }
}

function validateWeights(weights: readonly number[], k: number): void {
  const total = weights.reduce((s, w) => s + w, 0);
  if (weights.length !== k || weights.some((w) => !(w >= 0)) || Math.abs(total - 1) > SUM_TOLERANCE) {
    throw invalidBanditConfig('currentWeights must be one non-negative weight per arm, summing to 1', {
      currentWeights: weights,
    });
  }
}

function result(
  arms: readonly BanditArm[],
  weights: number[],
  pBest: number[],
  updated: boolean,
): Reallocation {
  return {
    weights,
    byArm: Object.fromEntries(arms.map((a, i) => [a.name, weights[i]!])),
    probabilityBest: pBest,
    updated,
    reason: updated ? 'reallocated' : 'warming-up',
  };
}
