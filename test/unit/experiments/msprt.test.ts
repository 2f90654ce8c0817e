/** The mixture SPRT against closed-form references, and its always-valid guarantee by simulation. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import {
  type AlwaysValidState,
  combineLooks,
  msprt,
  msprtForMeans,
  msprtForProportions,
  normalSf,
  suggestTau2,
} from '../../../src/experiments/stats/index.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';
import reference from './fixtures/reference.json' with { type: 'json' };

describe('mSPRT', () => {
  it.each(reference.msprt)('one look: diff $difference, V $variance, tau² $tau2', (c) => {
    const r = msprt({ difference: c.difference, variance: c.variance, tau2: c.tau2, alpha: c.alpha });
    expect(r.logLikelihoodRatio).toBeCloseTo(c.expected.logLikelihoodRatio, 8);
    expect(r.pValue).toBeCloseTo(c.expected.pValue, 8);
    expect(r.ci[0]).toBeCloseTo(c.expected.ci[0]!, 8);
    expect(r.ci[1]).toBeCloseTo(c.expected.ci[1]!, 8);
  });

  it.each(reference.msprtProportions)('proportions $control vs $treatment', (c) => {
    const r = msprtForProportions(c.control, c.treatment, { tau2: c.tau2, alpha: c.alpha });
    expect(r.pValue).toBeCloseTo(c.expected.pValue, 8);
    expect(r.ci[0]).toBeCloseTo(c.expected.ci[0]!, 8);
    expect(r.ci[1]).toBeCloseTo(c.expected.ci[1]!, 8);
  });

  it('folds looks into a running minimum p and a running intersection', () => {
    const { tau2, alpha, looks } = reference.msprtSequence;
    let state: AlwaysValidState | undefined;
    for (const look of looks) {
      state = combineLooks(state, msprtForProportions(look.control, look.treatment, { tau2, alpha }));
      expect(state.pValue).toBeCloseTo(look.expected.pValue, 8);
      expect(state.ci[0]).toBeCloseTo(look.expected.ci[0]!, 8);
      expect(state.ci[1]).toBeCloseTo(look.expected.ci[1]!, 8);
    }
    expect(state!.conflict).toBe(false);
  });

  it('p < alpha exactly when 0 is outside the interval', () => {
    for (const difference of [-0.05, -0.01, 0, 0.004, 0.02, 0.2]) {
      const r = msprt({ difference, variance: 1e-4, tau2: 1e-4, alpha: 0.05 });
      expect(r.pValue < 0.05).toBe(r.ci[0] > 0 || r.ci[1] < 0);
    }
  });

  it('keeps the last interval and flags a conflict when looks disagree', () => {
    const first = combineLooks(undefined, { logLikelihoodRatio: 0, pValue: 1, ci: [0, 1] });
    const second = combineLooks(first, { logLikelihoodRatio: 0, pValue: 0.5, ci: [2, 3] });
    expect(second.ci).toEqual([0, 1]);
    expect(second.conflict).toBe(true);
    expect(second.pValue).toBe(0.5);
  });

  it('means: works from summaries; zero variance gives no evidence', () => {
    const r = msprtForMeans(
      { n: 100, mean: 1, variance: 4 },
      { n: 100, mean: 1.5, variance: 4 },
      { tau2: 0.25 },
    );
    expect(r.pValue).toBeCloseTo(msprt({ difference: 0.5, variance: 0.08, tau2: 0.25 }).pValue, 12);
    expect(msprt({ difference: 0, variance: 0, tau2: 1 }).pValue).toBe(1);
    expect(suggestTau2(0.01)).toBeCloseTo(1e-4, 15);
  });

  it('rejects a non-positive tau²', () => {
    expectFerryErrorSync(
      () => msprt({ difference: 0, variance: 1, tau2: 0 }),
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
    );
  });

  /**
   * A seeded A/A simulation: 1000 experiments, each looked at 40 times. Peeking at a fixed-horizon
   * z-test rejects far more often than alpha; the always-valid p-value stays within alpha.
   */
  it('stays valid under continuous peeking where the z-test does not', () => {
    const random = seededRandom(7);
    const gaussian = (): number => {
      const u = 1 - random();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    };
    const alpha = 0.05;
    const experiments = 1000;
    const looks = 40;
    const batch = 100; // units per arm between looks, unit outcome ~ N(0, 1)
    let alwaysValidRejections = 0;
    let peekingRejections = 0;
    for (let e = 0; e < experiments; e++) {
      let sumC = 0;
      let sumT = 0;
      let state: AlwaysValidState | undefined;
      let peekRejected = false;
      for (let l = 1; l <= looks; l++) {
        sumC += gaussian() * Math.sqrt(batch);
        sumT += gaussian() * Math.sqrt(batch);
        const n = l * batch;
        const difference = sumT / n - sumC / n;
        const variance = 2 / n;
        state = combineLooks(state, msprt({ difference, variance, tau2: 0.01, alpha }));
        if (2 * normalSf(Math.abs(difference) / Math.sqrt(variance)) < alpha) peekRejected = true;
      }
      if (state!.pValue < alpha) alwaysValidRejections++;
      if (peekRejected) peekingRejections++;
    }
    expect(alwaysValidRejections / experiments).toBeLessThanOrEqual(alpha);
    expect(peekingRejections / experiments).toBeGreaterThan(2 * alpha);
  });
});
