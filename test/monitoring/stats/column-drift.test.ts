import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import type { CategoricalSummary, NumericSummary } from '../../../src/monitoring/reference-profile.js';
import { columnDrift } from '../../../src/monitoring/stats/column-drift.js';
import { datasetDrift } from '../../../src/monitoring/stats/dataset-drift.js';

function normals(n: number, seed: number, shift = 0): number[] {
  const random = seededRandom(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = 1 - random();
    out.push(shift + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random()));
  }
  return out.sort((a, b) => a - b);
}

function numeric(sample: number[], count = sample.length): NumericSummary {
  const n = sample.length;
  const mean = n === 0 ? 0 : sample.reduce((s, v) => s + v, 0) / n;
  return {
    type: 'numeric',
    count,
    missing: 0,
    sample,
    mean,
    std: 0,
    min: sample[0] ?? 0,
    max: sample[n - 1] ?? 0,
  };
}

function categorical(counts: Record<string, number>): CategoricalSummary {
  return { type: 'categorical', count: Object.values(counts).reduce((s, v) => s + v, 0), missing: 0, counts };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return err.code;
    throw err;
  }
  return undefined;
}

describe('columnDrift', () => {
  it('finds no drift between a sample and itself, whatever the method', () => {
    const s = numeric(normals(800, 1));
    for (const method of ['ks', 'wasserstein', 'psi'] as const) {
      const r = columnDrift(s, s, { method });
      expect(r.drifted, method).toBe(false);
      expect(r.psi).toBeCloseTo(0, 12);
    }
    expect(columnDrift(s, s)).toMatchObject({ method: 'ks', score: 1, drifted: false });
  });

  it('picks KS at most 1000 reference values and Wasserstein above, by count not sample size', () => {
    const ref = normals(1000, 2);
    expect(columnDrift(numeric(ref), numeric(normals(300, 3))).method).toBe('ks');
    expect(columnDrift(numeric(ref, 5000), numeric(normals(300, 3))).method).toBe('wasserstein');
  });

  it('detects a normal sample of 2000 shifted by half a standard deviation', () => {
    const ref = numeric(normals(2000, 4));
    const cur = numeric(normals(2000, 5, 0.5));
    const r = columnDrift(ref, cur);
    expect(r.method).toBe('wasserstein');
    expect(r.score).toBeGreaterThan(0.4);
    expect(r.score).toBeLessThan(0.6);
    expect(r.drifted).toBe(true);
    expect(r.psi).toBeGreaterThan(0.1);
    const same = columnDrift(ref, numeric(normals(2000, 6)));
    expect(same.drifted).toBe(false);
    expect(same.score).toBeLessThan(0.1);
    const ks = columnDrift(ref, cur, { method: 'ks' });
    expect(ks.drifted).toBe(true);
    expect(ks.score).toBeLessThan(1e-20);
  });

  it('tests a numeric column with at most five distinct values as categories', () => {
    const ref = numeric([1, 1, 1, 2, 2, 3, 3, 3, 3].flatMap((v) => [v, v, v]));
    expect(columnDrift(ref, ref).method).toBe('chi-square');
    const binary = numeric([0, 0, 0, 1, 1, 1, 1]);
    expect(columnDrift(binary, binary)).toMatchObject({ method: 'z-test', score: 1, drifted: false });
  });

  it('picks chi-square, the z-test or Jensen–Shannon for categories', () => {
    const small = categorical({ a: 50, b: 30, c: 20 });
    expect(columnDrift(small, categorical({ a: 10, b: 10, c: 80 }))).toMatchObject({
      method: 'chi-square',
      drifted: true,
    });
    expect(columnDrift(categorical({ yes: 60, no: 40 }), categorical({ yes: 55, no: 45 }))).toMatchObject({
      method: 'z-test',
      drifted: false,
    });
    const large = categorical({ a: 5000, b: 3000, c: 2000 });
    const js = columnDrift(large, categorical({ a: 500, b: 300, c: 200 }));
    expect(js).toMatchObject({ method: 'jensen-shannon', score: 0, drifted: false, threshold: 0.1 });
    expect(columnDrift(large, categorical({ a: 100, b: 300, c: 600 })).drifted).toBe(true);
  });

  it('uses a forced method and threshold', () => {
    const r = columnDrift(categorical({ a: 50, b: 50 }), categorical({ a: 60, b: 40 }), {
      method: 'psi',
      threshold: 0.01,
    });
    expect(r.method).toBe('psi');
    expect(r.score).toBe(r.psi);
    expect(r.threshold).toBe(0.01);
    expect(r.drifted).toBe(true);
  });

  it('answers "no data" without NaN when a side is empty', () => {
    const empties = [
      columnDrift(numeric(normals(100, 7)), numeric([])),
      columnDrift(numeric([]), numeric(normals(100, 7))),
      columnDrift(numeric(normals(3000, 7)), numeric([])),
      columnDrift(categorical({ a: 3 }), categorical({})),
      columnDrift(categorical({ a: 3, b: 2 }), categorical({ a: 0 })),
    ];
    for (const r of empties) {
      expect(r.noData).toBe(true);
      expect(r.drifted).toBe(false);
      for (const v of [r.score, r.psi, r.threshold]) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('refuses NaN and Infinity in samples, mismatched types and methods', () => {
    const ok = numeric([1, 2, 3]);
    expect(code(() => columnDrift(ok, numeric([1, Number.NaN, 3])))).toBe('FERRY_MONITOR_INVALID');
    expect(code(() => columnDrift(numeric([1, Number.POSITIVE_INFINITY]), ok))).toBe('FERRY_MONITOR_INVALID');
    expect(code(() => columnDrift(ok, categorical({ a: 1 })))).toBe('FERRY_MONITOR_INVALID');
    expect(code(() => columnDrift(categorical({ a: 1 }), categorical({ a: 1 }), { method: 'ks' }))).toBe(
      'FERRY_MONITOR_INVALID',
    );
    expect(code(() => columnDrift(ok, ok, { method: 'domain-classifier' }))).toBe('FERRY_MONITOR_INVALID');
    expect(code(() => columnDrift(categorical({ a: Number.NaN }), categorical({ a: 1 })))).toBe(
      'FERRY_MONITOR_INVALID',
    );
    expect(code(() => columnDrift(ok, ok, { threshold: Number.NaN }))).toBe('FERRY_MONITOR_INVALID');
  });

  it('sorts a sample given out of order', () => {
    const sorted = normals(200, 8);
    const shuffled = [...sorted].reverse();
    expect(columnDrift(numeric(sorted), numeric(shuffled, 200))).toMatchObject({ score: 1, drifted: false });
  });
});

describe('datasetDrift', () => {
  const drifted = columnDrift(categorical({ a: 50, b: 50 }), categorical({ a: 90, b: 10 }));
  const steady = columnDrift(categorical({ a: 50, b: 50 }), categorical({ a: 50, b: 50 }));
  const empty = columnDrift(categorical({ a: 50, b: 50 }), categorical({}));

  it('drifts when at least half the compared columns drifted, columns without data left out', () => {
    expect(datasetDrift([drifted, steady, empty])).toEqual({
      columns: 2,
      driftedColumns: 1,
      share: 0.5,
      threshold: 0.5,
      drifted: true,
    });
    expect(datasetDrift([drifted, steady, steady]).drifted).toBe(false);
    expect(datasetDrift([drifted, steady, steady], { driftShare: 0.3 }).drifted).toBe(true);
  });

  it('has no NaN with no column compared, and refuses a bad share', () => {
    expect(datasetDrift([empty])).toMatchObject({ columns: 0, share: 0, drifted: false });
    expect(datasetDrift([])).toMatchObject({ share: 0, drifted: false });
    expect(code(() => datasetDrift([], { driftShare: 0 }))).toBe('FERRY_MONITOR_INVALID');
  });
});
