/**
 * UCB1 (Auer, Cesa-Bianchi & Fischer 2002) as allocation weights: all traffic to the arm with the
 * highest upper confidence bound x̄ᵢ + R·√(2 ln N / nᵢ) (ties share it), N the total units.
 * UCB1's bound assumes rewards within an interval of width R (1 for rates); for means, pass the
 * metric's plausible range as `rewardRange`. An arm without units has an infinite bound, so every
 * arm is tried first.
 */
import { argmaxShares, type BanditArm, meanReward, validateArms } from './arms.js';

export function ucb1Scores(arms: readonly BanditArm[], rewardRange = 1): number[] {
  validateArms(arms);
  const total = arms.reduce((s, a) => s + a.units, 0);
  return arms.map((arm) =>
    arm.units === 0
      ? Number.POSITIVE_INFINITY
      : meanReward(arm) + rewardRange * Math.sqrt((2 * Math.log(Math.max(total, 1))) / arm.units),
  );
}

export function ucb1Weights(arms: readonly BanditArm[], rewardRange = 1): number[] {
  return argmaxShares(ucb1Scores(arms, rewardRange));
}
