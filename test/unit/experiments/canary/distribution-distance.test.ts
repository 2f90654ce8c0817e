import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../../src/core/errors.js';
import { seededRandom } from '../../../../src/core/random.js';
import {
  jensenShannonDivergence,
  totalVariationDistance,
} from '../../../../src/experiments/canary/distribution-distance.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof FerryError ? e.code : 'not a FerryError';
  }
  return undefined;
}

describe('jensenShannonDivergence (bits)', () => {
  it('matches hand-computed values', () => {
    // M = (0.75, 0.25); KL(P‖M) = ½log2(0.5/0.75) + ½log2(0.5/0.25) = 0.2075187496,
    // KL(Q‖M) = log2(1/0.75) = 0.4150374993; JS = ½(0.2075187496 + 0.4150374993).
    expect(jensenShannonDivergence({ a: 1, b: 1 }, { a: 1 })).toBeCloseTo(0.3112781245, 10);
    // P = (¼, ¾), Q = (¾, ¼): JS = H(½, ½) − H(¼, ¾) = 1 − 0.8112781245.
    expect(jensenShannonDivergence({ a: 25, b: 75 }, { a: 75, b: 25 })).toBeCloseTo(0.1887218755, 10);
    // P = (½, ½, 0), Q = (0, ½, ½): M = (¼, ½, ¼); KL(P‖M) = ½·1 + ½·0 = ½ = KL(Q‖M).
    expect(jensenShannonDivergence({ a: 2, b: 2 }, { b: 5, c: 5 })).toBeCloseTo(0.5, 12);
  });

  it('is 0 for equal distributions (whatever the totals) and 1 for disjoint ones', () => {
    expect(jensenShannonDivergence({ a: 3, b: 1 }, { a: 300, b: 100 })).toBe(0);
    expect(jensenShannonDivergence({ a: 3, b: 0 }, { a: 3 })).toBe(0);
    expect(jensenShannonDivergence({ a: 1 }, { b: 1 })).toBe(1);
  });

  it('is symmetric and within [0, 1] on random distributions', () => {
    const random = seededRandom(5);
    for (let i = 0; i < 200; i++) {
      const p = { a: random(), b: random(), c: random() * 5 };
      const q = { a: random(), c: random(), d: random() };
      const js = jensenShannonDivergence(p, q);
      expect(js).toBeGreaterThanOrEqual(0);
      expect(js).toBeLessThanOrEqual(1);
      expect(jensenShannonDivergence(q, p)).toBeCloseTo(js, 14);
    }
  });

  it('shows the documented small-sample bias between two samples of one distribution', () => {
    const random = seededRandom(11);
    const draw = (n: number) => {
      const counts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
      for (let i = 0; i < n; i++) counts['abcd'[Math.floor(random() * 4)]!]! += 1;
      return counts;
    };
    let sum = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) sum += jensenShannonDivergence(draw(100), draw(100));
    const expected = (3 * (1 / 100 + 1 / 100)) / (8 * Math.LN2);
    expect(sum / trials).toBeGreaterThan(expected * 0.8);
    expect(sum / trials).toBeLessThan(expected * 1.2);
  });
});

describe('totalVariationDistance', () => {
  it('matches hand-computed values', () => {
    expect(totalVariationDistance({ a: 1, b: 1 }, { a: 1 })).toBeCloseTo(0.5, 12);
    expect(totalVariationDistance({ a: 25, b: 75 }, { a: 75, b: 25 })).toBeCloseTo(0.5, 12);
    // P = (0.2, 0.3, 0.5), Q = (0.4, 0.4, 0.2): ½(0.2 + 0.1 + 0.3) = 0.3.
    expect(totalVariationDistance({ a: 2, b: 3, c: 5 }, { a: 4, b: 4, c: 2 })).toBeCloseTo(0.3, 12);
    expect(totalVariationDistance({ a: 1 }, { b: 2 })).toBe(1);
    expect(totalVariationDistance({ a: 1, b: 2 }, { a: 2, b: 4 })).toBe(0);
  });
});

describe('bad input', () => {
  it('rejects empty, negative and non-finite counts with a stable code', () => {
    for (const fn of [jensenShannonDivergence, totalVariationDistance]) {
      expect(codeOf(() => fn({}, { a: 1 }))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
      expect(codeOf(() => fn({ a: 0 }, { a: 1 }))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
      expect(codeOf(() => fn({ a: -1, b: 2 }, { a: 1 }))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
      expect(codeOf(() => fn({ a: Number.NaN }, { a: 1 }))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
    }
  });
});
