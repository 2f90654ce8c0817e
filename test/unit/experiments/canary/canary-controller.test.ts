import { describe, expect, it } from 'vitest';
import { ErrorCode, FerryError } from '../../../../src/core/errors.js';
import type { CanaryConfig } from '../../../../src/experiments/canary/canary-config.js';
import {
  CanaryController,
  type CanarySnapshot,
  type Decision,
} from '../../../../src/experiments/canary/canary-controller.js';
import { RequestStats, type RequestStatsSnapshot } from '../../../../src/experiments/canary/request-stats.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2025, 0, 1);
const LABELS = ['nlp', 'cv', 'mlops', 'other'];

const CONFIG: CanaryConfig = {
  steps: [0.05, 0.25, 0.5, 1],
  minRequestsPerStep: 100,
  minStepDurationMs: 5 * MINUTE,
  thresholds: { maxErrorRateIncrease: 0.01, maxP99Ratio: 1.5, maxDistributionDistance: 0.1 },
};

interface ArmSpec {
  requests: number;
  errors?: number;
  /** Latency of request i is latencyMs · (1 + (i mod 10) / 10): a spread, so the p99 is not the mean. */
  latencyMs?: number;
  labels?: readonly string[];
  outcomes?: { units: number; successes: number };
}

/** One arm's window built the way the serving path would build it, through RequestStats. */
function arm(spec: ArmSpec): RequestStatsSnapshot {
  const stats = new RequestStats();
  const { requests, errors = 0, latencyMs = 10, labels = LABELS } = spec;
  for (let i = 0; i < requests; i++) {
    if (i < errors) stats.record({ error: true });
    else stats.record({ latencyMs: latencyMs * (1 + (i % 10) / 10), labels: [labels[i % labels.length]!] });
  }
  for (let u = 0; u < (spec.outcomes?.units ?? 0); u++) stats.recordOutcome(u < spec.outcomes!.successes);
  return stats.snapshot();
}

function window(canary: ArmSpec, production: ArmSpec): CanarySnapshot {
  return { canary: arm(canary), production: arm(production) };
}

/** A healthy window for a canary share w: canary and production alike, split by weight. */
function healthy(weight: number, total = 2_000): CanarySnapshot {
  const canary = Math.round(total * weight);
  return window({ requests: canary }, { requests: total - canary });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof FerryError ? e.code : 'not a FerryError';
  }
  return undefined;
}

describe('CanaryController: a healthy canary', () => {
  it('walks 5 → 25 → 50 → 100 % and then promotes', () => {
    const c = CanaryController.start(CONFIG, T0);
    expect(c.weight).toBe(0.05);
    const decisions: Decision[] = [];
    let now = T0;
    for (let i = 0; i < 4; i++) {
      now += 5 * MINUTE;
      decisions.push(c.evaluate(healthy(c.weight), now));
    }
    expect(decisions.map((d) => [d.action, d.weight])).toEqual([
      ['step', 0.25],
      ['step', 0.5],
      ['step', 1],
      ['promote', 1],
    ]);
    expect(c.status).toBe('promoted');
    expect(c.state.history.map((h) => [h.action, h.weight])).toEqual([
      ['start', 0.05],
      ['step', 0.25],
      ['step', 0.5],
      ['step', 1],
      ['promote', 1],
    ]);
    // At 100 % production had no requests: the last step was judged against production's previous window.
    expect(decisions[3]!.reason).toContain('production as of step 3');
    expect(c.state.revision).toBe(4);
    // Once promoted, evaluating again changes nothing.
    const again = c.evaluate(healthy(1), now + MINUTE);
    expect(again).toMatchObject({ action: 'wait', weight: 1 });
    expect(c.state.history).toHaveLength(5);
  });

  it('steps only after both the minimum requests and the minimum time', () => {
    const c = CanaryController.start(CONFIG, T0);
    const early = c.evaluate(healthy(0.05), T0 + 4 * MINUTE);
    expect(early).toMatchObject({ action: 'wait', weight: 0.05 });
    expect(early.reason).toContain('waiting for time');
    const few = c.evaluate(window({ requests: 99 }, { requests: 1_900 }), T0 + 10 * MINUTE);
    expect(few).toMatchObject({ action: 'wait', weight: 0.05 });
    expect(few.reason).toContain('waiting for traffic');
    expect(c.evaluate(healthy(0.05), T0 + 5 * MINUTE)).toMatchObject({ action: 'step', weight: 0.25 });
    // The new step's clock starts at the step.
    expect(c.evaluate(healthy(0.25), T0 + 9 * MINUTE).action).toBe('wait');
    expect(c.evaluate(healthy(0.25), T0 + 10 * MINUTE).action).toBe('step');
  });

  it('with no traffic, waits forever and never promotes', () => {
    const c = CanaryController.start(CONFIG, T0);
    const none = window({ requests: 0 }, { requests: 0 });
    for (let day = 1; day <= 30; day++) {
      const d = c.evaluate(none, T0 + day * 24 * 60 * MINUTE);
      expect(d).toMatchObject({ action: 'wait', weight: 0.05 });
    }
    expect(c.status).toBe('running');
    expect(c.state.history).toHaveLength(1);
    expect(c.state.revision).toBe(0);
  });

  it('waits for production traffic when there is nothing to compare the canary with yet', () => {
    const c = CanaryController.start(CONFIG, T0);
    const d = c.evaluate(window({ requests: 500 }, { requests: 10 }), T0 + MINUTE * 60);
    expect(d.action).toBe('wait');
    expect(d.reason).toContain('production traffic');
  });
});

describe('CanaryController: rollbacks', () => {
  it('a canary with a higher error rate rolls back at once, before the step’s minimum time', () => {
    const c = CanaryController.start(CONFIG, T0);
    const d = c.evaluate(window({ requests: 100, errors: 5 }, { requests: 1_900, errors: 2 }), T0 + SECOND);
    expect(d.action).toBe('rollback');
    expect(d.weight).toBe(0);
    expect(d.breaches?.map((b) => b.metric)).toEqual(['error_rate']);
    expect(d.breaches![0]!.canary).toBeCloseTo(0.05, 12);
    expect(d.reason).toContain('error rate 0.0500 on the canary vs 0.0011 on production');
    expect(c.status).toBe('rolled_back');
    expect(c.weight).toBe(0);
    expect(c.state.history.at(-1)).toMatchObject({ action: 'rollback', weight: 0, reason: d.reason });
    // Finished: later windows change nothing.
    expect(c.evaluate(healthy(0.05), T0 + 60 * MINUTE)).toMatchObject({ action: 'wait', weight: 0 });
  });

  it('an error rate within the allowed increase is healthy', () => {
    const c = CanaryController.start(CONFIG, T0);
    const d = c.evaluate(
      window({ requests: 200, errors: 2 }, { requests: 2_000, errors: 2 }),
      T0 + 5 * MINUTE,
    );
    expect(d.action).toBe('step');
  });

  it('a slower canary (p99 ratio breach) rolls back', () => {
    const c = CanaryController.start(CONFIG, T0);
    const d = c.evaluate(
      window({ requests: 100, latencyMs: 20 }, { requests: 1_900, latencyMs: 10 }),
      T0 + MINUTE,
    );
    expect(d).toMatchObject({ action: 'rollback', weight: 0 });
    expect(d.breaches?.map((b) => b.metric)).toEqual(['p99_latency']);
    expect(d.breaches![0]!.value).toBeGreaterThan(1.9);
    expect(d.reason).toContain('p99 latency');
    expect(d.reason).toContain('> max 1.5000');
  });

  it('does not roll back on a sub-millisecond p99 difference when minP99IncreaseMs allows for noise', () => {
    const config = { ...CONFIG, thresholds: { ...CONFIG.thresholds, minP99IncreaseMs: 1 } };
    const c = CanaryController.start(config, T0);
    const d = c.evaluate(
      window({ requests: 100, latencyMs: 0.2 }, { requests: 1_900, latencyMs: 0.1 }),
      T0 + 5 * MINUTE,
    );
    expect(d.action).toBe('step');
  });

  it('a different prediction distribution (JS divergence breach) rolls back', () => {
    const c = CanaryController.start(CONFIG, T0);
    const d = c.evaluate(window({ requests: 100, labels: ['nlp'] }, { requests: 1_900 }), T0 + MINUTE);
    expect(d).toMatchObject({ action: 'rollback', weight: 0 });
    expect(d.breaches?.map((b) => b.metric)).toEqual(['distribution']);
    // P = (1, 0, 0, 0) vs uniform: JS = H(M) − ½H(Q) with M = (5/8, 1/8, 1/8, 1/8) → 0.5487949407.
    expect(d.breaches![0]!.value).toBeCloseTo(0.5487949407, 3);
    expect(d.reason).toContain('Jensen–Shannon');
  });

  it('names every metric that breached', () => {
    const c = CanaryController.start(CONFIG, T0);
    const d = c.evaluate(
      window({ requests: 100, errors: 20, latencyMs: 40, labels: ['cv'] }, { requests: 1_900 }),
      T0 + MINUTE,
    );
    expect(d.breaches?.map((b) => b.metric)).toEqual(['error_rate', 'p99_latency', 'distribution']);
  });

  it('judges an outcome metric once both arms have enough units, and rolls back below the ratio', () => {
    const config = {
      ...CONFIG,
      thresholds: { ...CONFIG.thresholds, minOutcomeRatio: 0.95, minOutcomeUnits: 50 },
    };
    const c = CanaryController.start(config, T0);
    const fewUnits = c.evaluate(
      window(
        { requests: 100, outcomes: { units: 10, successes: 1 } },
        { requests: 1_900, outcomes: { units: 400, successes: 200 } },
      ),
      T0 + 5 * MINUTE,
    );
    expect(fewUnits.action).toBe('wait');
    expect(fewUnits.reason).toContain('waiting for outcomes');
    const worse = c.evaluate(
      window(
        { requests: 100, outcomes: { units: 100, successes: 40 } },
        { requests: 1_900, outcomes: { units: 400, successes: 200 } },
      ),
      T0 + 6 * MINUTE,
    );
    expect(worse).toMatchObject({ action: 'rollback', weight: 0 });
    expect(worse.breaches?.map((b) => b.metric)).toEqual(['outcome']);
    expect(worse.breaches![0]!.value).toBeCloseTo(0.8, 12);
  });

  it('an outcome rate as good as production’s steps up', () => {
    const config = {
      ...CONFIG,
      thresholds: { ...CONFIG.thresholds, minOutcomeRatio: 0.95, minOutcomeUnits: 50 },
    };
    const c = CanaryController.start(config, T0);
    const d = c.evaluate(
      window(
        { requests: 100, outcomes: { units: 100, successes: 49 } },
        { requests: 1_900, outcomes: { units: 400, successes: 200 } },
      ),
      T0 + 5 * MINUTE,
    );
    expect(d.action).toBe('step');
  });
});

describe('CanaryController: manual control', () => {
  it('pause freezes the canary at its weight; resume lets the analysis decide again', () => {
    const c = CanaryController.start(CONFIG, T0);
    expect(c.pause(T0 + MINUTE, 'checking a dashboard')).toMatchObject({ action: 'wait', weight: 0.05 });
    expect(c.status).toBe('paused');
    const paused = c.evaluate(healthy(0.05), T0 + 10 * MINUTE);
    expect(paused).toMatchObject({ action: 'wait', weight: 0.05 });
    expect(paused.reason).toContain('paused');
    expect(c.resume(T0 + 11 * MINUTE)).toMatchObject({ action: 'wait', weight: 0.05 });
    expect(c.evaluate(healthy(0.05), T0 + 11 * MINUTE)).toMatchObject({ action: 'step', weight: 0.25 });
    expect(c.state.history.map((h) => h.action)).toEqual(['start', 'pause', 'resume', 'step']);
    expect(c.state.history[1]!.reason).toBe('checking a dashboard');
  });

  it('abort sends the traffic back to production and records the reason', () => {
    const c = CanaryController.start(CONFIG, T0);
    c.evaluate(healthy(0.05), T0 + 5 * MINUTE);
    const d = c.abort(T0 + 6 * MINUTE, 'customer complaint');
    expect(d).toEqual({ action: 'rollback', reason: 'customer complaint', weight: 0 });
    expect(c.status).toBe('aborted');
    expect(c.state.history.at(-1)).toEqual({
      at: T0 + 6 * MINUTE,
      action: 'abort',
      reason: 'customer complaint',
      weight: 0,
    });
  });

  it('a manual promotion is forced, even from a pause and without traffic', () => {
    const c = CanaryController.start(CONFIG, T0);
    c.pause(T0 + MINUTE);
    expect(c.promote(T0 + 2 * MINUTE, 'hotfix')).toEqual({ action: 'promote', reason: 'hotfix', weight: 1 });
    expect(c.status).toBe('promoted');
    expect(c.weight).toBe(1);
  });

  it('refuses transitions that make no sense with a stable code, changing nothing', () => {
    const c = CanaryController.start(CONFIG, T0);
    expect(codeOf(() => c.resume(T0))).toBe(ErrorCode.EXPERIMENT_CANARY_TRANSITION);
    c.abort(T0 + MINUTE);
    const before = c.toJSON();
    for (const action of [() => c.promote(T0), () => c.pause(T0), () => c.abort(T0), () => c.resume(T0)]) {
      expect(codeOf(action)).toBe(ErrorCode.EXPERIMENT_CANARY_TRANSITION);
    }
    expect(c.toJSON()).toEqual(before);
    expect(codeOf(() => CanaryController.start(CONFIG, T0).pause(Number.NaN))).toBe(
      ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
    );
  });
});

describe('CanaryController: persistence', () => {
  it('a JSON round trip before every decision keeps the decisions identical', () => {
    const live = CanaryController.start(CONFIG, T0);
    let stored: unknown = JSON.parse(JSON.stringify(live.toJSON()));
    const inputs: [CanarySnapshot, number][] = [
      [healthy(0.05, 50), T0 + MINUTE],
      [healthy(0.05), T0 + 2 * MINUTE],
      [healthy(0.05), T0 + 5 * MINUTE],
      [window({ requests: 0 }, { requests: 0 }), T0 + 60 * MINUTE],
      [healthy(0.25), T0 + 61 * MINUTE],
      [healthy(0.5), T0 + 70 * MINUTE],
      [window({ requests: 2_000, latencyMs: 30 }, { requests: 0 }), T0 + 71 * MINUTE],
    ];
    for (const [snapshot, now] of inputs) {
      const restored = CanaryController.fromJSON(stored);
      const expected = live.evaluate(snapshot, now);
      expect(restored.evaluate(snapshot, now)).toEqual(expected);
      expect(restored.toJSON()).toEqual(live.toJSON());
      stored = JSON.parse(JSON.stringify(restored.toJSON()));
    }
    // The last window was slow at 100 %: judged against the stored production baseline, it rolled back.
    expect(live.status).toBe('rolled_back');
    expect(live.state.history.map((h) => h.action)).toEqual(['start', 'step', 'step', 'step', 'rollback']);
  });

  it('two replicas loading the same row make the same decision and the same revision', () => {
    const row = JSON.stringify(CanaryController.start(CONFIG, T0).toJSON());
    const a = CanaryController.fromJSON(JSON.parse(row));
    const b = CanaryController.fromJSON(JSON.parse(row));
    const snapshot = healthy(0.05);
    expect(a.evaluate(snapshot, T0 + 5 * MINUTE)).toEqual(b.evaluate(snapshot, T0 + 5 * MINUTE));
    expect(a.state.revision).toBe(1);
    expect(a.toJSON()).toEqual(b.toJSON());
  });

  it('the state getter is a copy: mutating it changes nothing', () => {
    const c = CanaryController.start(CONFIG, T0);
    const state = c.state;
    state.stepIndex = 3;
    state.history.push({ at: 0, action: 'promote', reason: 'x', weight: 1 });
    expect(c.weight).toBe(0.05);
    expect(c.state.history).toHaveLength(1);
  });

  it('rejects corrupt stored state', () => {
    const json = CanaryController.start(CONFIG, T0).toJSON();
    const bad = [
      { ...json, version: 2 },
      { ...json, state: { ...json.state, stepIndex: 4 } },
      { ...json, state: { ...json.state, status: 'exploded' } },
      {
        ...json,
        state: { ...json.state, history: [{ at: 'yesterday', action: 'start', reason: '', weight: 0 }] },
      },
      { ...json, state: { ...json.state, baseline: { stepIndex: 0, stats: { requests: -1 } } } },
      { ...json, state: null },
    ];
    for (const value of bad) {
      expect(codeOf(() => CanaryController.fromJSON(value))).toBe(ErrorCode.EXPERIMENT_INVALID_STATE);
    }
  });
});

describe('CanaryController: configuration', () => {
  it('rejects configurations that could never run a sound canary', () => {
    const bad: unknown[] = [
      { ...CONFIG, steps: [] },
      { ...CONFIG, steps: [0.5, 0.25, 1] },
      { ...CONFIG, steps: [0.1, 0.1, 1] },
      { ...CONFIG, steps: [1] },
      { ...CONFIG, steps: [0, 0.5] },
      { ...CONFIG, steps: [0.5, 1.5] },
      { ...CONFIG, minRequestsPerStep: 0 },
      { ...CONFIG, minStepDurationMs: -1 },
      { ...CONFIG, thresholds: { ...CONFIG.thresholds, maxErrorRateIncrease: 2 } },
      { ...CONFIG, thresholds: { ...CONFIG.thresholds, maxP99Ratio: 0 } },
      { ...CONFIG, thresholds: { ...CONFIG.thresholds, maxDistributionDistance: Number.NaN } },
      { ...CONFIG, thresholds: { ...CONFIG.thresholds, minOutcomeRatio: -1 } },
      { ...CONFIG, thresholds: undefined },
    ];
    for (const config of bad) {
      expect(codeOf(() => CanaryController.start(config as CanaryConfig, T0))).toBe(
        ErrorCode.EXPERIMENT_INVALID_CANARY_CONFIG,
      );
    }
  });

  it('fills in defaults once, so the stored config is complete', () => {
    const { config } = CanaryController.start(CONFIG, T0).toJSON();
    expect(config.thresholds).toEqual({ ...CONFIG.thresholds, minP99IncreaseMs: 0, minOutcomeUnits: 30 });
    expect(config.steps).not.toBe(CONFIG.steps);
  });
});
