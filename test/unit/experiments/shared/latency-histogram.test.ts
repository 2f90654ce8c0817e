import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../../src/core/errors.js';
import { seededRandom } from '../../../../src/core/random.js';
import { LatencyHistogram } from '../../../../src/experiments/shared/latency-histogram.js';

/** The definition the histogram approximates: smallest value with at least ceil(q·n) values at or below it. */
function nearestRank(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof FerryError ? e.code : 'not a FerryError';
  }
  return undefined;
}

describe('LatencyHistogram', () => {
  it('reports null quantiles, not zeros, when empty', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, p50: null, p99: null, max: null });
  });

  it('is within 1 % of the exact nearest-rank quantile on a long-tailed sample', () => {
    const random = seededRandom(7);
    const values: number[] = [];
    const h = new LatencyHistogram();
    for (let i = 0; i < 20_000; i++) {
      // Log-normal-ish: most requests a few ms, a tail to seconds.
      const v = Math.exp(1 + 1.5 * (random() + random() + random() - 1.5) * 2);
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.01, 0.1, 0.5, 0.9, 0.99, 0.999]) {
      const exact = nearestRank(values, q);
      const estimate = h.quantile(q)!;
      expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(0.01 + 1e-12);
    }
    expect(h.quantile(0)).toBe(values[0]);
    expect(h.quantile(1)).toBe(values[values.length - 1]);
  });

  it('keeps its memory bounded: at most ~1,100 buckets whatever the traffic', () => {
    const h = new LatencyHistogram();
    const random = seededRandom(1);
    for (let i = 0; i < 50_000; i++) h.record(random() * 10 ** (random() * 9 - 3));
    expect(h.toJSON().buckets.length).toBeLessThanOrEqual(1_200);
    expect(h.count).toBe(50_000);
  });

  it('handles zero and out-of-range values at the edges', () => {
    const h = new LatencyHistogram();
    h.record(0);
    h.record(0);
    h.record(7_200_000);
    expect(h.quantile(0.5)).toBe(0);
    expect(h.quantile(1)).toBe(7_200_000);
    expect(h.summary().max).toBe(7_200_000);
  });

  it('rejects a negative or non-finite latency without counting it', () => {
    const h = new LatencyHistogram();
    expect(codeOf(() => h.record(-1))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
    expect(codeOf(() => h.record(Number.NaN))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
    expect(codeOf(() => h.quantile(1.5))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
    expect(h.count).toBe(0);
  });

  it('merges exactly: two halves equal the whole, also through JSON', () => {
    const random = seededRandom(3);
    const all = new LatencyHistogram();
    const left = new LatencyHistogram();
    const right = new LatencyHistogram();
    for (let i = 0; i < 5_000; i++) {
      const v = random() * 200;
      all.record(v);
      (i % 3 === 0 ? left : right).record(v);
    }
    const stored = JSON.parse(JSON.stringify(left.toJSON()));
    const merged = LatencyHistogram.fromJSON(stored).merge(LatencyHistogram.fromJSON(right.toJSON()));
    expect(merged.toJSON()).toEqual(all.toJSON());
    expect(merged.summary()).toEqual(all.summary());
    expect(all.clone().toJSON()).toEqual(all.toJSON());
  });

  it('refuses to merge histograms whose buckets do not line up', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram({ relativeAccuracy: 0.02 });
    expect(codeOf(() => a.merge(b))).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
  });

  it('rejects corrupt JSON instead of reading wrong counts', () => {
    const good = new LatencyHistogram();
    good.record(5);
    const json = good.toJSON();
    expect(codeOf(() => LatencyHistogram.fromJSON({ ...json, count: 2 }))).toBe(
      ErrorCode.EXPERIMENT_INVALID_STATE,
    );
    expect(codeOf(() => LatencyHistogram.fromJSON({ ...json, buckets: [[1e9, 1]] }))).toBe(
      ErrorCode.EXPERIMENT_INVALID_STATE,
    );
    expect(codeOf(() => LatencyHistogram.fromJSON({ ...json, buckets: [[json.buckets[0]![0], -1]] }))).toBe(
      ErrorCode.EXPERIMENT_INVALID_STATE,
    );
    expect(codeOf(() => LatencyHistogram.fromJSON('nope'))).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
  });

  it('rejects options that would make no sense or allocate without bound', () => {
    expect(codeOf(() => new LatencyHistogram({ relativeAccuracy: 0 }))).toBe(ErrorCode.CONFIG_INVALID);
    expect(codeOf(() => new LatencyHistogram({ minMs: 10, maxMs: 1 }))).toBe(ErrorCode.CONFIG_INVALID);
    expect(codeOf(() => new LatencyHistogram({ relativeAccuracy: 1e-7 }))).toBe(ErrorCode.CONFIG_INVALID);
  });
});
