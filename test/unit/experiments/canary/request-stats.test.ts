import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../../src/core/errors.js';
import { seededRandom } from '../../../../src/core/random.js';
import { RequestStats } from '../../../../src/experiments/canary/request-stats.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof FerryError ? e.code : 'not a FerryError';
  }
  return undefined;
}

describe('RequestStats', () => {
  it('counts requests, errors, latencies of successes, labels per item and outcomes', () => {
    const s = new RequestStats();
    s.record({ latencyMs: 10, labels: ['nlp', 'cv'] });
    s.record({ latencyMs: 20, labels: ['nlp'] });
    s.record({ error: true, latencyMs: 1 });
    s.record({ latencyMs: 30, labels: ['other'] });
    s.recordOutcome(true);
    s.recordOutcome(false);
    s.recordOutcome(true);
    const snap = s.snapshot();
    expect(snap).toMatchObject({
      requests: 4,
      errors: 1,
      errorRate: 0.25,
      labelCounts: { cv: 1, nlp: 2, other: 1 },
      outcomes: { units: 3, successes: 2 },
    });
    expect(snap.outcomes!.rate).toBeCloseTo(2 / 3, 12);
    // The failed request's 1 ms is not a latency sample: fast failures must not flatter the p99.
    expect(snap.latency).toEqual({ count: 3, p50: expect.closeTo(20, 0) as number, p99: 30, max: 30 });
  });

  it('the per-request parts (failure, success, label) count what record does', () => {
    const whole = new RequestStats();
    const parts = new RequestStats();
    whole.record({ latencyMs: 10, labels: ['nlp', 'cv'] });
    parts.recordSuccess(10);
    parts.countLabel('nlp');
    parts.countLabel('cv');
    whole.record({ error: true });
    parts.recordFailure();
    whole.record({ labels: ['other'] }); // a cache hit: no latency sample
    parts.recordSuccess(undefined);
    parts.countLabel('other');
    expect(parts.snapshot()).toEqual(whole.snapshot());
    expect(parts.toJSON()).toEqual(whole.toJSON());
    expect(codeOf(() => parts.recordSuccess(Number.NaN))).toBe(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT);
    expect(parts.snapshot().requests).toBe(3);
  });

  it('reports nulls, not zeros, without data', () => {
    const snap = new RequestStats().snapshot();
    expect(snap).toMatchObject({
      requests: 0,
      errorRate: null,
      latency: { p99: null },
      outcomes: { rate: null },
    });
  });

  it('rejects a bad record without counting any of it', () => {
    const s = new RequestStats();
    expect(codeOf(() => s.record({ latencyMs: -3, labels: ['a'] }))).toBe(
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
    );
    expect(codeOf(() => s.record({ labels: [7 as unknown as string] }))).toBe(
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
    );
    expect(s.snapshot()).toMatchObject({ requests: 0, labelCounts: {} });
  });

  it('merges replicas exactly and survives a JSON round trip', () => {
    const random = seededRandom(21);
    const all = new RequestStats();
    const replicas = [new RequestStats(), new RequestStats(), new RequestStats()];
    const labels = ['nlp', 'cv', 'mlops', 'other', '__proto__'];
    for (let i = 0; i < 3_000; i++) {
      const record = {
        error: random() < 0.03,
        latencyMs: random() * 80,
        labels: [labels[Math.floor(random() * labels.length)]!],
      };
      const replica = replicas[i % 3]!;
      all.record(record);
      replica.record(record);
      if (random() < 0.2) {
        const success = random() < 0.6;
        all.recordOutcome(success);
        replica.recordOutcome(success);
      }
    }
    const merged = replicas
      .map((r) => RequestStats.fromJSON(JSON.parse(JSON.stringify(r.toJSON()))))
      .reduce((a, b) => a.merge(b), new RequestStats());
    expect(merged.toJSON()).toEqual(all.toJSON());
    expect(merged.snapshot()).toEqual(all.snapshot());
    expect(Object.keys(merged.snapshot().labelCounts)).toContain('__proto__');
    expect(all.clone().toJSON()).toEqual(all.toJSON());
  });

  it('rejects stored rows that do not add up', () => {
    const s = new RequestStats();
    s.record({ latencyMs: 5, labels: ['a'] });
    const json = s.toJSON();
    const codeOfJson = (value: unknown) => codeOf(() => RequestStats.fromJSON(value));
    expect(codeOfJson({ ...json, errors: 2 })).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
    expect(codeOfJson({ ...json, requests: 0 })).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
    expect(codeOfJson({ ...json, outcomes: { units: 1, successes: 2 } })).toBe(
      ErrorCode.EXPERIMENT_INVALID_STATE,
    );
    expect(codeOfJson({ ...json, labelCounts: { a: 'x' } })).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
    expect(codeOfJson({ ...json, version: 3 })).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
  });
});
