/**
 * Bandits in a seeded simulation: Bernoulli arms with rates 0.05 (control) and 0.08, traffic routed
 * by GrowthBook hashing with the current weights, outcomes drawn from a seeded PRNG, weights
 * recomputed after every round.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import {
  type BanditPolicy,
  type BinaryArm,
  epsilonGreedyWeights,
  type MeanArm,
  probabilityBest,
  reallocate,
  ucb1Scores,
} from '../../../src/experiments/bandits/index.js';
import { assign } from '../../../src/experiments/hashing.js';
import { chanceToBeatControlBinary } from '../../../src/experiments/stats/index.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const RATES = [0.05, 0.08];
const FLOOR = 0.05;

function simulate(policy: BanditPolicy, rounds = 60, unitsPerRound = 1000) {
  const outcome = seededRandom(99);
  const arms: BinaryArm[] = [
    { name: 'control', units: 0, successes: 0 },
    { name: 'treatment', units: 0, successes: 0 },
  ];
  let weights = [0.5, 0.5];
  const history: number[][] = [];
  const unitsInLastHalf = [0, 0];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < unitsPerRound; i++) {
      const arm = assign({ seed: 'bandit-sim', weights }, `r${round}-u${i}`);
      arms[arm]!.units++;
      if (outcome() < RATES[arm]!) arms[arm]!.successes++;
      if (round >= rounds / 2) unitsInLastHalf[arm]!++;
    }
    const next = reallocate(arms, policy, {
      floor: FLOOR,
      minUnitsPerArm: 200,
      seed: round,
      currentWeights: weights,
    });
    weights = next.weights;
    history.push(weights);
  }
  return { arms, weights, history, unitsInLastHalf };
}

describe.each<[string, BanditPolicy]>([
  ['Thompson sampling', { kind: 'thompson', draws: 4000 }],
  ['UCB1', { kind: 'ucb1' }],
  ['epsilon-greedy', { kind: 'epsilon-greedy', epsilon: 0.1 }],
])('%s', (_name, policy) => {
  const run = simulate(policy);

  it('converges on the better arm', () => {
    const [worse, better] = run.unitsInLastHalf as [number, number];
    expect(better / (better + worse)).toBeGreaterThan(0.8);
    expect(run.arms[1]!.units).toBeGreaterThan(run.arms[0]!.units);
    // UCB1 puts everything on its current argmax, which may still flip late; the others must end on b.
    if (policy.kind !== 'ucb1') expect(run.weights[1]!).toBeGreaterThan(run.weights[0]!);
  });

  it('keeps every arm at or above the floor, with weights summing to 1', () => {
    for (const weights of run.history) {
      expect(weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 12);
      for (const w of weights) expect(w).toBeGreaterThanOrEqual(FLOOR - 1e-12);
    }
  });
});

describe('reallocate', () => {
  const arms: BinaryArm[] = [
    { name: 'a', units: 500, successes: 25 },
    { name: 'b', units: 120, successes: 12 },
    { name: 'c', units: 480, successes: 40 },
  ];

  it('keeps the weights until every arm has minUnitsPerArm units', () => {
    const current = [0.2, 0.3, 0.5];
    const r = reallocate(
      arms,
      { kind: 'thompson' },
      { floor: 0.1, minUnitsPerArm: 150, seed: 1, currentWeights: current },
    );
    expect(r.updated).toBe(false);
    expect(r.reason).toBe('warming-up');
    expect(r.weights).toEqual(current);
    expect(r.probabilityBest.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
    expect(reallocate(arms, { kind: 'thompson' }, { floor: 0.1, minUnitsPerArm: 120, seed: 1 }).updated).toBe(
      true,
    );
  });

  it('is deterministic for a seed', () => {
    const opts = { floor: 0.05, minUnitsPerArm: 0, seed: 42 };
    expect(reallocate(arms, { kind: 'thompson' }, opts)).toEqual(
      reallocate(arms, { kind: 'thompson' }, opts),
    );
  });

  it('estimates the probability of being best close to the exact two-arm value', () => {
    const two = [arms[0]!, arms[2]!];
    const [, pC] = probabilityBest(two, { seed: 3, draws: 40_000 });
    const exact = chanceToBeatControlBinary({ units: 500, conversions: 25 }, { units: 480, conversions: 40 });
    expect(Math.abs(pC! - exact)).toBeLessThan(0.01);
  });

  it('applies the floor as floor + (1 − k·floor)·share', () => {
    const r = reallocate(
      arms,
      { kind: 'epsilon-greedy', epsilon: 0.3 },
      { floor: 0.1, minUnitsPerArm: 0, seed: 1 },
    );
    const raw = epsilonGreedyWeights(arms, 0.3);
    r.weights.forEach((w, i) => {
      expect(w).toBeCloseTo(0.1 + 0.7 * raw[i]!, 12);
    });
    expect(r.byArm.b).toBeCloseTo(0.1 + 0.7 * (0.7 + 0.1), 12); // b has the best rate, 0.10
  });

  it('UCB1 explores untried arms first', () => {
    const scores = ucb1Scores([
      { name: 'x', units: 0, successes: 0 },
      { name: 'y', units: 10, successes: 10 },
    ]);
    expect(scores[0]).toBe(Number.POSITIVE_INFINITY);
  });

  it('Gaussian Thompson prefers the arm with the higher mean', () => {
    const meanArms: MeanArm[] = [
      { name: 'slow', units: 400, sum: 400 * 10, sumSq: 400 * (100 + 4) },
      { name: 'fast', units: 400, sum: 400 * 10.5, sumSq: 400 * (110.25 + 4) },
      { name: 'new', units: 1, sum: 9, sumSq: 81 },
    ];
    const r = reallocate(meanArms, { kind: 'thompson' }, { floor: 0.02, minUnitsPerArm: 0, seed: 5 });
    expect(r.weights[1]!).toBeGreaterThan(r.weights[0]!);
    expect(r.weights.every((w) => w >= 0.02)).toBe(true);
  });

  it.each([
    [{ floor: 0.4, minUnitsPerArm: 0, seed: 1 }],
    [{ floor: -0.1, minUnitsPerArm: 0, seed: 1 }],
    [{ floor: 0.1, minUnitsPerArm: 1.5, seed: 1 }],
    [{ floor: 0.1, minUnitsPerArm: 0, seed: 1, currentWeights: [0.5, 0.5] }],
  ])('rejects bad options %j', (opts) => {
    expectFerryErrorSync(
      () => reallocate(arms, { kind: 'thompson' }, opts),
      ErrorCode.EXPERIMENT_INVALID_BANDIT_CONFIG,
      400,
    );
  });

  it('rejects mixed or impossible arms', () => {
    expectFerryErrorSync(
      () =>
        reallocate(
          [arms[0]!, { name: 'm', units: 1, sum: 1, sumSq: 1 }],
          { kind: 'ucb1' },
          { floor: 0, minUnitsPerArm: 0, seed: 1 },
        ),
      ErrorCode.EXPERIMENT_INVALID_BANDIT_CONFIG,
    );
    expectFerryErrorSync(
      () =>
        reallocate(
          [arms[0]!, { name: 'z', units: 1, successes: 2 }],
          { kind: 'ucb1' },
          { floor: 0, minUnitsPerArm: 0, seed: 1 },
        ),
      ErrorCode.EXPERIMENT_INVALID_BANDIT_CONFIG,
    );
  });
});
