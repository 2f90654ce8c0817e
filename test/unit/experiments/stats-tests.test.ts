/** Each A/B statistic against scipy reference values (fixtures/reference.json), to 4+ decimals. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import {
  adjustPValues,
  benjaminiHochberg,
  chanceToBeatControlBinary,
  chanceToBeatControlMean,
  holm,
  sampleRatioMismatch,
  scoreStatistic,
  summaryFromSums,
  twoProportionZTest,
  unitsPerArmForMeans,
  unitsPerArmForProportions,
  welchTTest,
} from '../../../src/experiments/stats/index.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';
import reference from './fixtures/reference.json' with { type: 'json' };

const DIGITS = 6;

function expectInterval(
  actual: readonly number[] | null,
  expected: readonly number[],
  digits = DIGITS,
): void {
  expect(actual).not.toBeNull();
  expect(actual![0]).toBeCloseTo(expected[0]!, digits);
  expect(actual![1]).toBeCloseTo(expected[1]!, digits);
}

describe('two-proportion z-test', () => {
  it.each(reference.twoProportion)('$control vs $treatment', ({ control, treatment, alpha, expected }) => {
    const r = twoProportionZTest(control, treatment, { alpha });
    expect(r.difference).toBeCloseTo(expected.difference, DIGITS);
    expectInterval(r.differenceCi, expected.differenceCi);
    expect(r.relativeLift!).toBeCloseTo(expected.relativeLift, DIGITS);
    expectInterval(r.relativeLiftCi, expected.relativeLiftCi);
    expect(r.z).toBeCloseTo(expected.z, DIGITS);
    expect(r.pValue).toBeCloseTo(expected.pValue, DIGITS);
  });

  it('reports no evidence and no lift when nothing converts', () => {
    const r = twoProportionZTest({ units: 100, conversions: 0 }, { units: 100, conversions: 0 });
    expect(r.pValue).toBe(1);
    expect(r.relativeLift).toBeNull();
  });

  it.each([
    [{ units: 0, conversions: 0 }],
    [{ units: 10, conversions: 11 }],
    [{ units: 10.5, conversions: 1 }],
    [{ units: 10, conversions: -1 }],
  ])('rejects %j', (arm) => {
    expectFerryErrorSync(
      () => twoProportionZTest(arm, { units: 10, conversions: 1 }),
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
      400,
    );
  });
});

describe("Welch's t-test", () => {
  it.each(reference.welch)('$control vs $treatment', ({ control, treatment, alpha, expected }) => {
    const r = welchTTest(control, treatment, { alpha });
    expect(r.difference).toBeCloseTo(expected.difference, DIGITS);
    expectInterval(r.differenceCi, expected.differenceCi);
    expect(r.relativeLift!).toBeCloseTo(expected.relativeLift, DIGITS);
    expectInterval(r.relativeLiftCi, expected.relativeLiftCi);
    expect(r.t).toBeCloseTo(expected.t, DIGITS);
    expect(r.df).toBeCloseTo(expected.df, 4);
    expect(r.pValue).toBeCloseTo(expected.pValue, DIGITS);
  });

  it('takes SQL aggregates (count, sum, sum of squares)', () => {
    const values = [3, 5, 4, 8, 10, 1];
    const s = summaryFromSums(
      values.length,
      values.reduce((a, b) => a + b, 0),
      values.reduce((a, b) => a + b * b, 0),
    );
    expect(s.mean).toBeCloseTo(31 / 6, 12);
    expect(s.variance).toBeCloseTo(10.966666666666667, 12); // numpy.var(values, ddof=1)
  });

  it('handles constant metrics without NaN', () => {
    const r = welchTTest({ n: 10, mean: 1, variance: 0 }, { n: 10, mean: 2, variance: 0 });
    expect(r.pValue).toBe(0);
    expect(welchTTest({ n: 10, mean: 1, variance: 0 }, { n: 10, mean: 1, variance: 0 }).pValue).toBe(1);
  });

  it('needs two units per arm', () => {
    expectFerryErrorSync(
      () => welchTTest({ n: 1, mean: 1, variance: 0 }, { n: 10, mean: 1, variance: 1 }),
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
    );
  });
});

describe('Bayesian chance to beat control', () => {
  it.each(reference.bayesBinary)(
    'Beta–Bernoulli $control vs $treatment',
    ({ control, treatment, expected }) => {
      expect(chanceToBeatControlBinary(control, treatment)).toBeCloseTo(expected, 7);
    },
  );

  it('is symmetric: P(B > A) + P(A > B) = 1', () => {
    const a = { units: 700, conversions: 41 };
    const b = { units: 650, conversions: 45 };
    expect(chanceToBeatControlBinary(a, b) + chanceToBeatControlBinary(b, a)).toBeCloseTo(1, 10);
  });

  it('agrees between the closed form and quadrature (non-integer prior forces quadrature)', () => {
    const a = { units: 5000, conversions: 240 };
    const b = { units: 5000, conversions: 270 };
    const exact = chanceToBeatControlBinary(a, b, { alpha: 1, beta: 1 });
    const numeric = chanceToBeatControlBinary(a, b, { alpha: 1.0000001, beta: 1 });
    expect(numeric).toBeCloseTo(exact, 6);
  });

  it.each(reference.bayesMean)('normal approximation for means $control vs $treatment', (c) => {
    expect(chanceToBeatControlMean(c.control, c.treatment)).toBeCloseTo(c.expected, 10);
  });
});

describe('sample-ratio mismatch', () => {
  it.each(reference.srm)('$observed against $weights', ({ observed, weights, expected }) => {
    const r = sampleRatioMismatch(observed, weights);
    expect(r.chiSquare).toBeCloseTo(expected.chiSquare, 8);
    expect(r.pValue).toBeCloseTo(expected.pValue, 10);
    expect(r.mismatch).toBe(expected.mismatch);
  });

  it('flags units in a zero-weight arm and ignores an empty one', () => {
    expect(sampleRatioMismatch([10, 10, 1], [0.5, 0.5, 0]).mismatch).toBe(true);
    expect(sampleRatioMismatch([100, 100, 0], [0.5, 0.5, 0]).pValue).toBeCloseTo(1, 12);
    expect(sampleRatioMismatch([0, 0], [0.5, 0.5]).mismatch).toBe(false);
  });

  it('rejects mismatched lengths', () => {
    expectFerryErrorSync(
      () => sampleRatioMismatch([1, 2, 3], [0.5, 0.5]),
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
    );
  });
});

describe('multiple comparisons', () => {
  it.each(reference.multipleComparisons)('Holm and BH for $pValues', ({ pValues, holm: h, bh }) => {
    holm(pValues).forEach((p, i) => {
      expect(p).toBeCloseTo(h[i]!, 12);
    });
    benjaminiHochberg(pValues).forEach((p, i) => {
      expect(p).toBeCloseTo(bh[i]!, 12);
    });
    expect(adjustPValues(pValues, 'holm')).toEqual(holm(pValues));
    expect(adjustPValues(pValues, 'none')).toEqual(pValues);
  });

  it('rejects p-values outside [0, 1]', () => {
    expectFerryErrorSync(() => holm([0.5, 1.2]), ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
  });
});

describe('power analysis', () => {
  it.each(reference.powerProportions)('rates: baseline $baselineRate, $mdeKind MDE $mde', (c) => {
    const r = unitsPerArmForProportions({
      baselineRate: c.baselineRate,
      mde: c.mde,
      mdeKind: c.mdeKind as 'absolute' | 'relative',
      alpha: c.alpha,
      power: c.power,
      alternative: c.alternative as 'two-sided' | 'one-sided',
    });
    expect(r.exact).toBeCloseTo(c.expected.exact, 4);
    expect(r.unitsPerArm).toBe(c.expected.unitsPerArm);
  });

  it.each(reference.powerMeans)('means: sigma $sigma, MDE $mde', (c) => {
    const r = unitsPerArmForMeans({
      sigma: c.sigma,
      mde: c.mde,
      alpha: c.alpha,
      power: c.power,
      alternative: c.alternative as 'two-sided' | 'one-sided',
    });
    expect(r.exact).toBeCloseTo(c.expected.exact, 4);
    expect(r.unitsPerArm).toBe(c.expected.unitsPerArm);
  });

  it('rejects effects that leave (0, 1)', () => {
    expectFerryErrorSync(
      () => unitsPerArmForProportions({ baselineRate: 0.9, mde: 0.2, mdeKind: 'absolute' }),
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
    );
  });
});

describe('two-proportion score interval (issue 8, item 23)', () => {
  it('the score statistic at a difference of 0 is the pooled z', () => {
    for (const [c, t] of [
      [
        { units: 5, conversions: 3 },
        { units: 1, conversions: 0 },
      ],
      [
        { units: 1000, conversions: 50 },
        { units: 900, conversions: 61 },
      ],
      [
        { units: 7, conversions: 0 },
        { units: 9, conversions: 9 },
      ],
    ] as const) {
      expect(scoreStatistic(c, t, 0)).toBeCloseTo(twoProportionZTest(c, t).z, 10);
    }
  });

  it('over many arms: within [-1, 1], contains the estimate, and excludes 0 exactly when p < alpha', () => {
    // A fixed linear congruential sequence: the same cases on every run.
    let state = 12345;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    let checked = 0;
    for (let i = 0; i < 2000; i++) {
      const cu = 1 + next(60);
      const tu = 1 + next(60);
      const c = { units: cu, conversions: next(cu + 1) };
      const t = { units: tu, conversions: next(tu + 1) };
      const alpha = [0.01, 0.05, 0.1][next(3)]!;
      const r = twoProportionZTest(c, t, { alpha });
      const [low, high] = r.differenceCi;
      expect(low).toBeGreaterThanOrEqual(-1);
      expect(high).toBeLessThanOrEqual(1);
      expect(low).toBeLessThanOrEqual(r.difference + 1e-9);
      expect(high).toBeGreaterThanOrEqual(r.difference - 1e-9);
      // Ties (|z| within rounding of the critical value) cannot be told apart: skip them.
      if (Math.abs(Math.abs(r.pValue) - alpha) < 1e-6) continue;
      const excludesZero = low > 0 || high < 0;
      expect(excludesZero, JSON.stringify({ c, t, alpha, p: r.pValue, ci: r.differenceCi })).toBe(
        r.pValue < alpha,
      );
      checked += 1;
    }
    expect(checked).toBeGreaterThan(1900);
  });
});
