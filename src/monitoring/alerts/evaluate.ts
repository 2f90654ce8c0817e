import type { AlertOp, AlertRule, AlertSeverity } from './rules.js';

/**
 * The for-duration state machine of each (model, rule), pure: inactive → pending when the condition
 * first holds, pending → firing once it held for `forMs` (one alert, then none while it keeps
 * holding), firing → resolved (back to inactive) when it stops holding. A value that is absent (no
 * data in the window, no labels yet) does not hold: a pending rule goes back to inactive, a firing
 * one resolves.
 */
export type RulePhase = 'inactive' | 'pending' | 'firing';

export interface RuleState {
  readonly phase: RulePhase;
  /** Epoch ms the condition started holding (pending and firing). */
  readonly since?: number;
  /** Epoch ms the alert fired (firing). */
  readonly firedAt?: number;
}

/** One model's rule states by rule name (JSON-safe: persisted with the loop's cursors). */
export type RuleStates = Readonly<Record<string, RuleState>>;

/** The values of one tick by metric name (see rules.ts); absent: no data. */
export type MetricValues = ReadonlyMap<string, number>;

export interface AlertEvidence {
  /** Every value of the tick that fired it. */
  readonly values: Readonly<Record<string, number>>;
  /** An excerpt of the tick's drift report (window, counts, the most drifted features), when there was one. */
  readonly report?: unknown;
}

export interface Alert {
  readonly rule: string;
  readonly model: string;
  readonly version: number;
  readonly severity: AlertSeverity;
  readonly metric: string;
  readonly op: AlertOp;
  readonly threshold: number;
  readonly value: number;
  readonly forMs: number;
  /** ISO 8601: when the condition started holding, and when it fired. */
  readonly pendingSince: string;
  readonly firedAt: string;
  readonly message: string;
  readonly evidence: AlertEvidence;
}

export interface Resolution {
  readonly rule: string;
  readonly model: string;
  readonly firedAt: string;
  readonly resolvedAt: string;
}

export interface EvaluationInput {
  readonly model: string;
  readonly version: number;
  readonly rules: readonly AlertRule[];
  readonly states: RuleStates;
  readonly values: MetricValues;
  readonly now: number;
  readonly report?: unknown;
}

export interface Evaluation {
  readonly states: RuleStates;
  readonly fired: readonly Alert[];
  readonly resolved: readonly Resolution[];
}

function holds(op: AlertOp, value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

function formatMs(ms: number): string {
  if (ms === 0) return 'at once';
  if (ms % 3_600_000 === 0) return `for ${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `for ${ms / 60_000}m`;
  if (ms % 1000 === 0) return `for ${ms / 1000}s`;
  return `for ${ms}ms`;
}

/** Runs every rule once; states of rules no longer configured are dropped. */
export function evaluateRules(input: EvaluationInput): Evaluation {
  const { model, version, rules, values, now } = input;
  const states: Record<string, RuleState> = {};
  const fired: Alert[] = [];
  const resolved: Resolution[] = [];
  const valuesObject = Object.fromEntries(values);
  for (const rule of rules) {
    const before = input.states[rule.name] ?? { phase: 'inactive' };
    const value = values.get(rule.metric);
    const held = value !== undefined && Number.isFinite(value) && holds(rule.op, value, rule.threshold);
    if (!held) {
      if (before.phase === 'firing' && before.firedAt !== undefined) {
        resolved.push({
          rule: rule.name,
          model,
          firedAt: new Date(before.firedAt).toISOString(),
          resolvedAt: new Date(now).toISOString(),
        });
      }
      states[rule.name] = { phase: 'inactive' };
      continue;
    }
    if (before.phase === 'firing') {
      states[rule.name] = before;
      continue;
    }
    const since = before.phase === 'pending' && before.since !== undefined ? before.since : now;
    if (now - since < rule.forMs) {
      states[rule.name] = { phase: 'pending', since };
      continue;
    }
    states[rule.name] = { phase: 'firing', since, firedAt: now };
    fired.push({
      rule: rule.name,
      model,
      version,
      severity: rule.severity,
      metric: rule.metric,
      op: rule.op,
      threshold: rule.threshold,
      value,
      forMs: rule.forMs,
      pendingSince: new Date(since).toISOString(),
      firedAt: new Date(now).toISOString(),
      message: `${model} version ${version}: ${rule.metric} = ${round(value)} ${rule.op} ${rule.threshold} ${formatMs(rule.forMs)} (rule ${rule.name})`,
      evidence: { values: valuesObject, ...(input.report !== undefined ? { report: input.report } : {}) },
    });
  }
  return { states, fired, resolved };
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
