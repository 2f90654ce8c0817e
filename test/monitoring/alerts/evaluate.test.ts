import { describe, expect, it } from 'vitest';
import { type Alert, evaluateRules, type RuleStates } from '../../../src/monitoring/alerts/evaluate.js';
import type { AlertRule } from '../../../src/monitoring/alerts/rules.js';

const RULE: AlertRule = {
  name: 'share',
  metric: 'dataset_drift_share',
  op: '>=',
  threshold: 0.5,
  forMs: 5 * 60_000,
  severity: 'warning',
};
const MIN = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** Drives the state machine tick by tick with a fake clock (one tick a minute). */
function run(shares: Array<number | undefined>, rule: AlertRule = RULE) {
  let states: RuleStates = {};
  const fired: Alert[] = [];
  const resolved: string[] = [];
  const phases: string[] = [];
  shares.forEach((share, i) => {
    const values = new Map<string, number>(share === undefined ? [] : [['dataset_drift_share', share]]);
    const e = evaluateRules({
      model: 'm',
      version: 2,
      rules: [rule],
      states,
      values,
      now: T0 + i * MIN,
      report: { tick: i },
    });
    states = e.states;
    fired.push(...e.fired);
    resolved.push(...e.resolved.map((r) => r.resolvedAt));
    phases.push(states.share!.phase);
  });
  return { fired, resolved, phases };
}

describe('the for-duration state machine', () => {
  it('fires once after the condition held for the duration, then resolves', () => {
    const { fired, resolved, phases } = run([0.1, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.2, 0.1]);
    expect(phases).toEqual([
      'inactive',
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
      'firing',
      'firing',
      'inactive',
      'inactive',
    ]);
    expect(fired).toHaveLength(1);
    const alert = fired[0]!;
    // Pending from minute 1; 5 minutes later (minute 6) it fires, with the value of that tick.
    expect(alert.pendingSince).toBe(new Date(T0 + MIN).toISOString());
    expect(alert.firedAt).toBe(new Date(T0 + 6 * MIN).toISOString());
    expect(alert.value).toBe(0.7);
    expect(alert.evidence).toEqual({ values: { dataset_drift_share: 0.7 }, report: { tick: 6 } });
    expect(alert.message).toContain('dataset_drift_share = 0.7000 >= 0.5 for 5m');
    expect(resolved).toEqual([new Date(T0 + 8 * MIN).toISOString()]);
  });

  it('a dip before the duration resets the hold; absent values (no data) do not hold', () => {
    expect(run([0.6, 0.6, 0.6, 0.6, 0.1, 0.6, 0.6, 0.6, 0.6]).fired).toHaveLength(0);
    expect(run([0.6, 0.6, undefined, 0.6, 0.6, 0.6, 0.6]).fired).toHaveLength(0);
    const r = run([0.6, 0.6, 0.6, 0.6, 0.6, 0.6, undefined]);
    expect(r.fired).toHaveLength(1);
    expect(r.resolved).toHaveLength(1);
  });

  it('a rule without a duration fires on the first tick; a second firing is a second alert', () => {
    const r = run([1, 0, 2, 2], { ...RULE, forMs: 0, op: '>', threshold: 0 });
    expect(r.fired.map((a) => a.firedAt)).toEqual([T0, T0 + 2 * MIN].map((t) => new Date(t).toISOString()));
    expect(r.fired[0]!.message).toContain('at once');
  });

  it('each operator, and NaN never holds', () => {
    const at = (op: AlertRule['op'], v: number) =>
      evaluateRules({
        model: 'm',
        version: 1,
        states: {},
        now: T0,
        rules: [{ ...RULE, op, forMs: 0, threshold: 0.5 }],
        values: new Map([['dataset_drift_share', v]]),
      }).fired.length;
    expect([at('>', 0.5), at('>=', 0.5), at('<', 0.5), at('<=', 0.5)]).toEqual([0, 1, 0, 1]);
    expect([at('>', 0.6), at('<', 0.4)]).toEqual([1, 1]);
    expect([at('>=', Number.NaN), at('<', Number.NaN)]).toEqual([0, 0]);
  });
});
