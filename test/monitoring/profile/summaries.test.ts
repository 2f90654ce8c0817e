import { describe, expect, it } from 'vitest';
import {
  CategoricalAccumulator,
  NumericAccumulator,
  Reservoir,
} from '../../../src/monitoring/profile/summaries.js';
import {
  MAX_CATEGORIES,
  OTHER_CATEGORY,
  PROFILE_SAMPLE_SIZE,
} from '../../../src/monitoring/reference-profile.js';

describe('bounded summaries', () => {
  it('numeric: exact count, mean, std, extremes over 100 000 values; a sorted sample of the cap; NaN counted missing', () => {
    const acc = new NumericAccumulator(1);
    for (let i = 0; i < 100_000; i++) acc.add(i);
    acc.add(Number.NaN);
    acc.add(null);
    const s = acc.summary();
    expect(s).toMatchObject({ count: 100_000, missing: 2, min: 0, max: 99_999, mean: 49_999.5 });
    expect(s.std).toBeCloseTo(Math.sqrt((100_000 * 100_001) / 12), 3);
    expect(s.sample).toHaveLength(PROFILE_SAMPLE_SIZE);
    expect([...s.sample]).toEqual([...s.sample].sort((a, b) => a - b));
    // Uniform: the sample's mean is near the population's (sd of the mean ≈ 408).
    const mean = s.sample.reduce((a, b) => a + b, 0) / s.sample.length;
    expect(Math.abs(mean - 49_999.5)).toBeLessThan(2000);
    const empty = new NumericAccumulator(1).summary();
    expect(empty).toEqual({
      type: 'numeric',
      count: 0,
      missing: 0,
      sample: [],
      mean: 0,
      std: 0,
      min: 0,
      max: 0,
    });
  });

  it('reservoir: same seed, same sample; another seed, another', () => {
    const fill = (seed: number) => {
      const r = new Reservoir<number>(10, seed);
      for (let i = 0; i < 1000; i++) r.offer(i);
      return r.items;
    };
    expect(fill(3)).toEqual(fill(3));
    expect(fill(3)).not.toEqual(fill(4));
  });

  it('categorical: the most frequent MAX_CATEGORIES kept, the rest summed under OTHER', () => {
    const acc = new CategoricalAccumulator();
    for (let c = 0; c < MAX_CATEGORIES + 50; c++) for (let k = 0; k <= c; k++) acc.add(`c${c}`);
    acc.add(null);
    const s = acc.summary();
    const total = ((MAX_CATEGORIES + 50) * (MAX_CATEGORIES + 51)) / 2;
    expect(s.count).toBe(total);
    expect(s.missing).toBe(1);
    expect(Object.keys(s.counts)).toHaveLength(MAX_CATEGORIES + 1);
    expect(s.counts[`c${MAX_CATEGORIES + 49}`]).toBe(MAX_CATEGORIES + 50);
    expect(s.counts.c0).toBeUndefined();
    expect(Object.values(s.counts).reduce((a, b) => a + b, 0)).toBe(total);
    expect(s.counts[OTHER_CATEGORY]).toBe((50 * 51) / 2);
  });
});
