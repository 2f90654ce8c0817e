/** Special functions and distributions against scipy (fixtures/reference.json), far below 1e-4. */
import { describe, expect, it } from 'vitest';
import { logGamma, regularizedBeta, regularizedGammaQ } from '../../../src/core/special-functions.js';
import {
  betaCdf,
  betaPdf,
  betaSf,
  chiSquareSf,
  normalCdf,
  normalQuantile,
  normalSf,
  studentTCdf,
  studentTQuantile,
  studentTSf,
} from '../../../src/experiments/stats/distributions.js';
import reference from './fixtures/reference.json' with { type: 'json' };

/** Relative agreement for tiny tail values, absolute for the rest. */
function expectNear(actual: number, expected: number, tolerance = 1e-10): void {
  const scale = Math.max(1, Math.abs(expected));
  if (Math.abs(expected) < 1e-4 && expected !== 0) {
    expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(1e-7);
  } else {
    expect(Math.abs(actual - expected) / scale).toBeLessThan(tolerance);
  }
}

const { special, distributions } = reference;

describe('special functions', () => {
  it.each(special.logGamma)('logGamma($x)', ({ x, expected }) => expectNear(logGamma(x), expected, 1e-13));
  it.each(special.regularizedBeta)('I_$x($a, $b)', ({ x, a, b, expected }) =>
    expectNear(regularizedBeta(x, a, b), expected),
  );
  it.each(special.regularizedGammaQ)('Q($a, $x)', ({ a, x, expected }) =>
    expectNear(regularizedGammaQ(a, x), expected),
  );
});

describe('distributions', () => {
  it.each(distributions.normal)('normal at $z', ({ z, cdf, sf }) => {
    expectNear(normalCdf(z), cdf);
    expectNear(normalSf(z), sf);
  });
  it.each(distributions.normalQuantile)('normal quantile $p', ({ p, expected }) =>
    expectNear(normalQuantile(p), expected, 1e-12),
  );
  it.each(distributions.studentT)('t($df) at $t', ({ t, df, cdf, sf }) => {
    expectNear(studentTCdf(t, df), cdf);
    expectNear(studentTSf(t, df), sf);
  });
  it.each(distributions.studentTQuantile)('t($df) quantile $p', ({ p, df, expected }) =>
    expectNear(studentTQuantile(p, df), expected, 1e-10),
  );
  it.each(distributions.chiSquareSf)('chi-square($k) sf at $x', ({ x, k, expected }) =>
    expectNear(chiSquareSf(x, k), expected),
  );
  it.each(distributions.beta)('beta($a, $b) at $x', ({ x, a, b, cdf, sf, pdf }) => {
    expectNear(betaCdf(x, a, b), cdf);
    expectNear(betaSf(x, a, b), sf);
    expectNear(betaPdf(x, a, b), pdf, 1e-11);
  });

  it('quantiles invert the CDFs', () => {
    for (const p of [1e-9, 0.01, 0.3, 0.77, 0.999]) {
      expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 12);
      for (const df of [1, 2.5, 9, 250]) expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 12);
    }
  });
});
