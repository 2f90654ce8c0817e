/**
 * Epsilon-greedy as allocation weights: the arm with the best observed mean gets 1 − ε, and ε is
 * spread evenly over all arms (so the leader's weight is 1 − ε + ε/k). Ties share the 1 − ε.
 */
import { argmaxShares, type BanditArm, invalidBanditConfig, meanReward, validateArms } from './arms.js';

export function epsilonGreedyWeights(arms: readonly BanditArm[], epsilon: number): number[] {
  validateArms(arms);
  if (!(epsilon >= 0 && epsilon <= 1))
    throw invalidBanditConfig('epsilon must be within [0, 1]', { epsilon });
  const exploit = argmaxShares(arms.map(meanReward), 1 - epsilon);
  return exploit.map((w) => w + epsilon / arms.length);
}
