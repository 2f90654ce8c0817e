import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chiSquareTest, proportionsZTest } from '../../../src/monitoring/stats/chi-square.js';
import { chiSquareSf } from '../../../src/monitoring/stats/gamma.js';
import { jensenShannonDistance } from '../../../src/monitoring/stats/jensen-shannon.js';
import { kolmogorovSf, ks2samp } from '../../../src/monitoring/stats/ks.js';
import { categoricalPsi, numericPsi } from '../../../src/monitoring/stats/psi.js';
import { rocAuc } from '../../../src/monitoring/stats/roc-auc.js';
import { normedWasserstein, wasserstein } from '../../../src/monitoring/stats/wasserstein.js';

// Made by fixtures/make_scipy_reference.py (scipy 1.17.1): rerun it after changing the cases.
interface Reference {
  ks: { name: string; a: number[]; b: number[]; statistic: number; pvalue: number }[];
  kstwo: { n: number; x: number; sf: number }[];
  wasserstein: { name: string; a: number[]; b: number[]; distance: number; normed: number }[];
  categories: {
    name: string;
    reference: Record<string, number>;
    current: Record<string, number>;
    chi2: number;
    chi2_pvalue: number;
    js: number;
    z?: number;
    z_pvalue?: number;
  }[];
  chi2_sf: { x: number; k: number; sf: number }[];
  auc: { positives: number[]; negatives: number[]; auc: number }[];
  psi: { reference: number[]; current: number[]; psi: number }[];
}

const ref = JSON.parse(
  readFileSync(new URL('./fixtures/scipy-reference.json', import.meta.url), 'utf8'),
) as Reference;

/** Equal to 1e-9 relative (or absolute near zero). */
function close(actual: number, expected: number, rel = 1e-9, abs = 1e-12): void {
  const tolerance = Math.max(abs, rel * Math.abs(expected));
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe('statistics against scipy', () => {
  it.each(ref.ks.map((c) => [c.name, c] as const))('ks_2samp: %s', (_name, c) => {
    const r = ks2samp(c.a, c.b);
    close(r.statistic, c.statistic, 1e-12);
    close(r.pValue, c.pvalue, 1e-9, 1e-14);
  });

  it('kstwo.sf over every branch of the Kolmogorov distribution', () => {
    for (const c of ref.kstwo) {
      const actual = kolmogorovSf(c.n, c.x);
      // Pelz–Good (large n, middle x) is an approximation in scipy; elsewhere both are exact.
      const tolerance = Math.max(1e-14, 1e-6 * c.sf);
      expect(Math.abs(actual - c.sf), `n=${c.n} x=${c.x}: ${actual} vs ${c.sf}`).toBeLessThanOrEqual(
        tolerance,
      );
    }
  });

  it.each(ref.wasserstein.map((c) => [c.name, c] as const))('wasserstein_distance: %s', (_name, c) => {
    close(wasserstein(c.a, c.b), c.distance);
    close(normedWasserstein(c.a, c.b), c.normed);
  });

  it.each(ref.categories.map((c) => [c.name, c] as const))(
    'chisquare, z-test, jensenshannon: %s',
    (_name, c) => {
      const chi = chiSquareTest(c.reference, c.current);
      if (Number.isFinite(c.chi2)) close(chi.statistic, c.chi2);
      else expect(chi.statistic).toBe(Number.POSITIVE_INFINITY);
      close(chi.pValue, c.chi2_pvalue, 1e-9, 1e-300);
      close(jensenShannonDistance(c.reference, c.current), c.js);
      if (c.z !== undefined && c.z_pvalue !== undefined) {
        const z = proportionsZTest(c.reference, c.current);
        close(z.statistic, c.z);
        close(z.pValue, c.z_pvalue, 1e-9, 1e-300);
      }
    },
  );

  it('chi2.sf from the regularized upper incomplete gamma', () => {
    for (const c of ref.chi2_sf) {
      const actual = chiSquareSf(c.x, c.k);
      expect(Math.abs(actual - c.sf), `x=${c.x} k=${c.k}: ${actual} vs ${c.sf}`).toBeLessThanOrEqual(
        Math.max(1e-300, 1e-9 * c.sf),
      );
    }
  });

  it('ROC AUC by average ranks is Mann–Whitney U / (n⁺n⁻)', () => {
    for (const c of ref.auc) {
      const scores = [...c.positives, ...c.negatives];
      const labels = scores.map((_, i) => i < c.positives.length);
      close(rocAuc(scores, labels), c.auc);
    }
  });

  it('PSI over the reference deciles', () => {
    for (const c of ref.psi) close(numericPsi(c.reference, c.current), c.psi);
  });
});

describe('statistics on empty inputs', () => {
  it('give the no-drift value, never NaN, or refuse (KS and Wasserstein need two samples)', () => {
    const values = [
      chiSquareTest({}, { a: 3 }).pValue,
      chiSquareTest({ a: 3, b: 1 }, { a: 0 }).pValue,
      proportionsZTest({ a: 1, b: 2 }, {}).pValue,
      jensenShannonDistance({ a: 2 }, {}),
      jensenShannonDistance({}, {}),
      categoricalPsi({}, { a: 1 }),
      numericPsi([], [1, 2]),
      numericPsi([1], []),
      rocAuc([], []),
      rocAuc([0.3, 0.4], [true, true]),
    ];
    for (const v of values) expect(Number.isNaN(v)).toBe(false);
    expect(() => ks2samp([], [1])).toThrow(RangeError);
    expect(() => wasserstein([1], [])).toThrow(RangeError);
  });
});
