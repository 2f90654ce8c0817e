import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { analyzeExperiment } from '../../src/experiments/experiment-analysis.js';
import {
  checkOverlap,
  nextStatus,
  parseEvents,
  parseExperimentDefinition,
  powerEstimate,
} from '../../src/experiments/experiment-definition.js';
import type { Experiment, ExperimentAggregates } from '../../src/experiments/experiment-types.js';
import { sampleRatioMismatch } from '../../src/experiments/stats/srm.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';
import { abRaw } from './helpers.js';

function experiment(raw: Record<string, unknown> = {}, life: Partial<Experiment> = {}): Experiment {
  const def = parseExperimentDefinition(abRaw(raw));
  const at = '2025-06-01T00:00:00.000Z';
  const weights = def.arms.map((a) => a.weight);
  return {
    ...def,
    status: 'running',
    weights,
    weightsHistory: [{ at, weights, reason: 'created' }],
    conclusion: null,
    banditPeriod: 0,
    createdAt: at,
    updatedAt: at,
    revision: 1,
    ...life,
  };
}

function aggregates(arms: [units: number, conversions: number][]): ExperimentAggregates {
  return {
    arms: arms.map(([units, conversions], i) => ({
      arm: ['control', 'treatment', 'third'][i]!,
      units,
      requests: units,
      metrics: {
        accepted: {
          unitsWithEvents: conversions,
          events: conversions,
          sum: conversions,
          sumSq: conversions,
          m2: 0,
          conversions,
          invalidEvents: 0,
        },
      },
    })),
    unexposed: { events: 0, units: 0, byMetric: {} },
    totalEvents: arms.reduce((s, [, c]) => s + c, 0),
    excludedEvents: 0,
  };
}

describe('parseExperimentDefinition', () => {
  it('fills the defaults: type ab, coverage 1, seed = name, equal weights when none are given', () => {
    const def = parseExperimentDefinition({
      name: 'three-way',
      model: 'tagifai',
      arms: [
        { name: 'a', version: 1 },
        { name: 'b', version: 2 },
        { name: 'c', alias: 'production' },
      ],
      metrics: [{ name: 'clicked', kind: 'binary' }],
    });
    expect(def).toMatchObject({ type: 'ab', coverage: 1, seed: 'three-way' });
    expect(def.arms.map((a) => a.weight)).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });

  it('bandit defaults: thompson, floor 0.05, 100 units per arm, hourly, reward = first metric', () => {
    const def = parseExperimentDefinition(abRaw({ type: 'bandit' }));
    expect(def.bandit).toEqual({
      policy: 'thompson',
      floor: 0.05,
      minUnitsPerArm: 100,
      updateEveryMs: 3_600_000,
      metric: 'accepted',
    });
    expectFerryErrorSync(
      () => parseExperimentDefinition(abRaw({ type: 'bandit', bandit: { floor: 0.6 } })),
      ErrorCode.EXPERIMENT_INVALID,
      400,
    );
    expectFerryErrorSync(
      () => parseExperimentDefinition(abRaw({ bandit: { policy: 'ucb1' } })),
      ErrorCode.EXPERIMENT_INVALID,
      400,
    );
  });

  it('canary and shadow take exactly two arms; their settings are kept for their controllers', () => {
    const canary = parseExperimentDefinition(
      abRaw({
        type: 'canary',
        metrics: [],
        arms: [
          { name: 'production', alias: 'production', weight: 0.95 },
          { name: 'canary', version: 2, weight: 0.05 },
        ],
        canary: { steps: [0.05, 0.25, 0.5, 1] },
      }),
    );
    expect(canary.canary).toEqual({ steps: [0.05, 0.25, 0.5, 1] });
    expectFerryErrorSync(
      () => parseExperimentDefinition(abRaw({ canary: { steps: [] } })),
      ErrorCode.EXPERIMENT_INVALID,
      400,
    );
  });

  it('the overlap rule: routing vs routing conflicts, shadow vs routing does not, shadow vs shadow does', () => {
    const running = experiment();
    const other = parseExperimentDefinition(abRaw({ name: 'other' }));
    expectFerryErrorSync(() => checkOverlap(other, [running]), ErrorCode.EXPERIMENT_CONFLICT, 409);
    checkOverlap(other, [{ ...running, status: 'stopped' }]);
    checkOverlap({ ...other, model: 'elsewhere' }, [running]);
    const shadow = parseExperimentDefinition({
      name: 'shadow',
      type: 'shadow',
      model: 'tagifai',
      arms: [
        { name: 'production', alias: 'production', weight: 1 },
        { name: 'candidate', version: 2, weight: 0 },
      ],
    });
    checkOverlap(shadow, [running]);
    expectFerryErrorSync(
      () => checkOverlap({ ...shadow, name: 'shadow-2' }, [{ ...running, ...shadow, status: 'paused' }]),
      ErrorCode.EXPERIMENT_CONFLICT,
      409,
    );
  });

  it('status moves', () => {
    expect(nextStatus('running', 'pause')).toBe('paused');
    expect(nextStatus('paused', 'resume')).toBe('running');
    expect(nextStatus('paused', 'stop')).toBe('stopped');
    expect(nextStatus('stopped', 'conclude')).toBe('concluded');
    expect(nextStatus('stopped', 'stop')).toBe('stopped');
    for (const [from, action] of [
      ['stopped', 'resume'],
      ['stopped', 'pause'],
      ['concluded', 'stop'],
      ['concluded', 'conclude'],
    ] as const) {
      expectFerryErrorSync(() => nextStatus(from, action), ErrorCode.EXPERIMENT_CONFLICT, 409);
    }
  });

  it('events: binary true/false become 1/0, `at` is normalised, at most maxEvents', () => {
    const e = experiment();
    expect(
      parseEvents(
        { unit: 'u', metric: 'accepted', value: true, event_id: 'a', at: '2025-06-01T02:00:00+02:00' },
        e,
        10,
      ),
    ).toEqual([{ unit: 'u', metric: 'accepted', value: 1, eventId: 'a', at: '2025-06-01T00:00:00.000Z' }]);
    const many = {
      events: Array.from({ length: 11 }, (_, i) => ({
        unit: 'u',
        metric: 'accepted',
        value: 0,
        event_id: `${i}`,
      })),
    };
    expectFerryErrorSync(() => parseEvents(many, e, 10), ErrorCode.EXPERIMENT_INVALID, 400);
  });

  it('power: units scale with the smallest arm and the coverage', () => {
    const p = powerEstimate(
      parseExperimentDefinition(
        abRaw({
          coverage: 0.5,
          arms: [
            { name: 'control', version: 1, weight: 0.8 },
            { name: 'treatment', version: 2, weight: 0.2 },
          ],
          power: { baseline: 0.2, mde: 0.05 },
        }),
      ),
    )!;
    expect(p.exposedUnits).toBe(Math.ceil(p.unitsPerArm / 0.2));
    expect(p.eligibleUnits).toBe(Math.ceil(p.exposedUnits / 0.5));
  });
});

describe('analyzeExperiment', () => {
  it('flags a sample-ratio mismatch (p < 0.001) and agrees with the SRM function', () => {
    const { analysis } = analyzeExperiment(
      experiment(),
      aggregates([
        [1000, 100],
        [850, 90],
      ]),
    );
    const expected = sampleRatioMismatch([1000, 850], [0.5, 0.5]);
    expect(analysis.srm).toMatchObject({ pValue: expected.pValue, mismatch: true });
    expect(expected.pValue).toBeLessThan(0.001);
  });

  it('no data: comparisons say so instead of failing; no SRM check', () => {
    const { analysis, sequential } = analyzeExperiment(
      experiment(),
      aggregates([
        [0, 0],
        [0, 0],
      ]),
    );
    expect(analysis.comparisons).toEqual([
      expect.objectContaining({ sufficientData: false, reason: 'an arm has no exposed units yet' }),
    ]);
    expect(analysis.srm).toBeNull();
    expect(sequential).toEqual({});
  });

  it('no conversions anywhere: the z-test says p = 1 and the sequential test records no look', () => {
    const { analysis, sequential } = analyzeExperiment(
      experiment(),
      aggregates([
        [100, 0],
        [100, 0],
      ]),
    );
    expect(analysis.comparisons[0]).toMatchObject({
      sufficientData: true,
      pValue: 1,
      msprt: null,
      alwaysValid: null,
    });
    expect(sequential).toEqual({});
  });

  it('the always-valid state only tightens across looks and keeps τ² from its first look', () => {
    const e = experiment();
    const first = analyzeExperiment(
      e,
      aggregates([
        [500, 50],
        [500, 70],
      ]),
    );
    const second = analyzeExperiment(
      e,
      aggregates([
        [1000, 100],
        [1000, 150],
      ]),
      first.sequential,
    );
    const a = first.analysis.comparisons[0]!;
    const b = second.analysis.comparisons[0]!;
    expect(b.alwaysValid!.pValue).toBeLessThanOrEqual(a.alwaysValid!.pValue);
    expect(b.alwaysValid!.ci[0]).toBeGreaterThanOrEqual(a.alwaysValid!.ci[0]);
    expect(b.alwaysValid!.ci[1]).toBeLessThanOrEqual(a.alwaysValid!.ci[1]);
    expect(second.sequential['treatment/accepted']!.tau2).toBe(0.02 ** 2);
    // Folding the same look twice changes nothing.
    expect(
      analyzeExperiment(
        e,
        aggregates([
          [1000, 100],
          [1000, 150],
        ]),
        second.sequential,
      ).sequential,
    ).toEqual(second.sequential);
  });

  it('three arms: every arm against the first, Holm and BH over the family', () => {
    const e = experiment({
      arms: [
        { name: 'control', version: 1, weight: 0.4 },
        { name: 'treatment', version: 2, weight: 0.3 },
        { name: 'third', version: 2, weight: 0.3 },
      ],
    });
    const { analysis } = analyzeExperiment(
      e,
      aggregates([
        [400, 40],
        [300, 45],
        [300, 31],
      ]),
    );
    expect(analysis.comparisons.map((c) => c.arm)).toEqual(['treatment', 'third']);
    for (const c of analysis.comparisons) {
      expect(c.pValueHolm!).toBeGreaterThanOrEqual(c.pValue!);
      expect(c.pValueBh!).toBeGreaterThanOrEqual(c.pValue!);
      expect(c.pValueBh!).toBeLessThanOrEqual(c.pValueHolm!);
    }
  });
});

describe('analysis sufficiency and bounded intervals (issue 8, item 23)', () => {
  it('5 control units vs 1 treatment unit: not sufficient, and the interval stays within [-1, 1]', () => {
    const { analysis } = analyzeExperiment(
      experiment(),
      aggregates([
        [5, 3],
        [1, 0],
      ]),
    );
    const c = analysis.comparisons[0]!;
    expect(c.sufficientData).toBe(false);
    expect(c.minUnitsPerArm).toBe(30);
    expect(c.reason).toMatch(/an arm has 1 exposed units, fewer than the 30 needed/);
    // The figures are still shown: p = 0.273 (pooled z), and the score interval of the same test
    // contains 0 — the Wald interval was [-1.03, -0.17], below -1 and excluding 0 next to p = 0.27.
    expect(c.pValue).toBeCloseTo(0.2733, 4);
    const [low, high] = c.differenceCi!;
    expect(low).toBeGreaterThanOrEqual(-1);
    expect(high).toBeLessThanOrEqual(1);
    expect(low).toBeLessThan(0);
    expect(high).toBeGreaterThan(0);
    expect(c.relativeLiftCi![0]).toBeGreaterThanOrEqual(-1);
    // The always-valid (mSPRT) intervals are normal approximations: clipped to [-1, 1] as well.
    for (const ci of [c.msprt!.ci, c.alwaysValid!.ci]) {
      expect(ci[0]).toBeGreaterThanOrEqual(-1);
      expect(ci[1]).toBeLessThanOrEqual(1);
    }
  });

  it('minUnitsPerArm is per experiment (default 30); at or above it the comparison is sufficient', () => {
    const e = experiment({ analysis: { minUnitsPerArm: 5 } });
    expect(e.analysis).toEqual({ minUnitsPerArm: 5 });
    const at = (units: number) =>
      analyzeExperiment(
        e,
        aggregates([
          [units, 2],
          [units, 3],
        ]),
      ).analysis.comparisons[0]!;
    expect(at(4).sufficientData).toBe(false);
    expect(at(5).sufficientData).toBe(true);
    expect(experiment().analysis).toEqual({ minUnitsPerArm: 30 });
    for (const bad of [0, 1, 2.5, '30']) {
      expectFerryErrorSync(
        () => parseExperimentDefinition(abRaw({ analysis: { minUnitsPerArm: bad } })),
        ErrorCode.EXPERIMENT_INVALID,
        400,
      );
    }
  });
});
