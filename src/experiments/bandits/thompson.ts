/**
 * Thompson sampling as allocation weights: each arm's weight is its posterior probability of being
 * the best arm, estimated from `draws` joint posterior draws of a seeded PRNG (deterministic for a
 * given seed; the Monte Carlo error is about √(p(1−p)/draws), ±0.005 at the default 10 000).
 *
 * Rates: Beta(1 + successes, 1 + failures) posteriors (uniform prior).
 * Means: the flat-prior normal approximation, μᵢ ~ N(x̄ᵢ, sᵢ²/nᵢ). An arm with fewer than two units
 * has no variance of its own and borrows the variance pooled over the arms that have one (1 when
 * none does), with its mean at the pooled mean, so it is explored rather than written off.
 */

import { seededRandom } from '../../core/random.js';
import {
  type BanditArm,
  isBinaryArm,
  type MeanArm,
  meanReward,
  sampleVariance,
  validateArms,
} from './arms.js';
import { sampleBeta, sampleNormal } from './sampling.js';

export const DEFAULT_DRAWS = 10_000;

export function probabilityBest(
  arms: readonly BanditArm[],
  opts: { seed: number; draws?: number },
): number[] {
  const kind = validateArms(arms);
  const draws = opts.draws ?? DEFAULT_DRAWS;
  const random = seededRandom(opts.seed);
  const samplers = kind === 'binary' ? binarySamplers(arms) : meanSamplers(arms as readonly MeanArm[]);
  const wins = new Array<number>(arms.length).fill(0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < samplers.length; i++) {
      const value = samplers[i]!(random);
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    wins[best]! += 1;
  }
  return wins.map((w) => w / draws);
}

type Sampler = (random: () => number) => number;

function binarySamplers(arms: readonly BanditArm[]): Sampler[] {
  return arms.map((arm) => {
    const successes = isBinaryArm(arm) ? arm.successes : 0;
    const a = 1 + successes;
    const b = 1 + arm.units - successes;
    return (random) => sampleBeta(a, b, random);
  });
}

function meanSamplers(arms: readonly MeanArm[]): Sampler[] {
  const withData = arms.filter((a) => a.units >= 2);
  const totalUnits = arms.reduce((s, a) => s + a.units, 0);
  const pooledMean = totalUnits > 0 ? arms.reduce((s, a) => s + a.sum, 0) / totalUnits : 0;
  const dof = withData.reduce((s, a) => s + a.units - 1, 0);
  const pooledVariance =
    dof > 0 ? withData.reduce((s, a) => s + (a.units - 1) * sampleVariance(a), 0) / dof : 1;
  return arms.map((arm) => {
    const sd = arm.units >= 2 ? Math.sqrt(sampleVariance(arm) / arm.units) : Math.sqrt(pooledVariance || 1);
    const mean = arm.units >= 2 ? meanReward(arm) : pooledMean;
    return (random) => mean + sd * sampleNormal(random);
  });
}
