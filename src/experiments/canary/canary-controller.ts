/**
 * A canary release as a pure state machine: no clock, no I/O, no randomness. The integrator feeds it the
 * window's figures and the time, applies the returned weight to the router and persists toJSON(); any
 * replica that loads the same JSON and sees the same figures makes the same decision.
 */
import { ErrorCode, FerryError } from '../../core/errors.js';
import { asRecord, invalidState, readCount, readNumber } from '../shared/persisted-json.js';
import { analyzeCanary, type Breach, outcomeUnits } from './canary-analysis.js';
import { type CanaryConfig, type NormalizedCanaryConfig, normalizeCanaryConfig } from './canary-config.js';
import type { RequestStatsSnapshot } from './request-stats.js';

export type CanaryStatus = 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';

export interface Decision {
  action: 'wait' | 'step' | 'promote' | 'rollback';
  reason: string;
  /** The canary's share of traffic after the decision. */
  weight: number;
  /** On a rollback by analysis, the thresholds crossed (branch on `metric`, not on the reason's text). */
  breaches?: Breach[];
}

export interface CanaryHistoryEntry {
  at: number;
  action: 'start' | 'step' | 'promote' | 'rollback' | 'pause' | 'resume' | 'abort';
  reason: string;
  weight: number;
}

export interface CanaryState {
  stepIndex: number;
  stepStartedAt: number;
  status: CanaryStatus;
  /** +1 on every transition: store with compare-and-set on it so two replicas cannot both apply a step. */
  revision: number;
  /** Production's figures at the last step that had enough of them: the yardstick once production's share is 0. */
  baseline: { stepIndex: number; stats: RequestStatsSnapshot } | null;
  history: CanaryHistoryEntry[];
}

/** Both arms' figures over the current step's window. */
export interface CanarySnapshot {
  canary: RequestStatsSnapshot;
  production: RequestStatsSnapshot;
}

export interface CanaryControllerJSON {
  version: 1;
  config: NormalizedCanaryConfig;
  state: CanaryState;
}

const STATUSES: readonly CanaryStatus[] = ['running', 'paused', 'promoted', 'rolled_back', 'aborted'];
const HISTORY_ACTIONS: readonly CanaryHistoryEntry['action'][] = [
  'start',
  'step',
  'promote',
  'rollback',
  'pause',
  'resume',
  'abort',
];

export class CanaryController {
  readonly config: NormalizedCanaryConfig;
  private current: CanaryState;

  private constructor(config: NormalizedCanaryConfig, state: CanaryState) {
    this.config = config;
    this.current = state;
  }

  static start(config: CanaryConfig, now: number): CanaryController {
    const normalized = normalizeCanaryConfig(config);
    requireTime(now);
    const weight = normalized.steps[0]!;
    return new CanaryController(normalized, {
      stepIndex: 0,
      stepStartedAt: now,
      status: 'running',
      revision: 0,
      baseline: null,
      history: [{ at: now, action: 'start', reason: `canary started at ${pct(weight)}`, weight }],
    });
  }

  static fromJSON(value: unknown): CanaryController {
    const json = asRecord(value, 'canary');
    if (json.version !== 1) throw invalidState('unknown canary version', { version: json.version });
    const config = normalizeCanaryConfig(json.config);
    return new CanaryController(config, readState(json.state, config));
  }

  toJSON(): CanaryControllerJSON {
    return { version: 1, config: structuredClone(this.config), state: this.state };
  }

  /** A copy: the state changes only through evaluate() and the manual actions. */
  get state(): CanaryState {
    return structuredClone(this.current);
  }

  get status(): CanaryStatus {
    return this.current.status;
  }

  /** The canary's share of traffic now. */
  get weight(): number {
    const { status, stepIndex } = this.current;
    if (status === 'promoted') return 1;
    if (status === 'rolled_back' || status === 'aborted') return 0;
    return this.config.steps[stepIndex]!;
  }

  evaluate(snapshot: CanarySnapshot, now: number): Decision {
    requireTime(now);
    const { status, stepIndex, stepStartedAt } = this.current;
    if (status === 'paused') return this.wait('paused: no automatic decision until resumed');
    if (status !== 'running')
      return this.wait(`the canary is ${status.replace('_', ' ')}; nothing to decide`);
    const { canary, production } = snapshot;
    requireSnapshot(canary, 'canary');
    requireSnapshot(production, 'production');
    const { minRequestsPerStep, minStepDurationMs, thresholds, steps } = this.config;
    const at = `step ${stepIndex + 1} of ${steps.length} (${pct(this.weight)})`;
    if (canary.requests < minRequestsPerStep) {
      return this.wait(
        `waiting for traffic at ${at}: ${canary.requests} of ${minRequestsPerStep} canary requests`,
      );
    }
    const fresh = production.requests >= minRequestsPerStep;
    const baseline = fresh ? { stepIndex, stats: production } : this.current.baseline;
    if (baseline === null) {
      return this.wait(
        `waiting for production traffic at ${at}: ${production.requests} of ${minRequestsPerStep} requests to compare with`,
      );
    }
    const from = fresh ? '' : ` (production as of step ${baseline.stepIndex + 1})`;
    const analysis = analyzeCanary(canary, baseline.stats, thresholds);
    // A breach needs enough requests but not the step's minimum time: a failing canary leaves at once.
    if (analysis.breaches.length > 0) {
      const reason = `rolled back at ${at}${from}: ${analysis.breaches.map((b) => b.message).join('; ')}`;
      const decision = this.transition(now, 'rollback', 'rolled_back', reason, 'rollback');
      return { ...decision, breaches: analysis.breaches };
    }
    const elapsed = now - stepStartedAt;
    if (elapsed < minStepDurationMs) {
      return this.wait(`waiting for time at ${at}: ${elapsed} of ${minStepDurationMs} ms`);
    }
    const minUnits = thresholds.minOutcomeUnits;
    if (
      thresholds.minOutcomeRatio !== undefined &&
      Math.min(outcomeUnits(canary), outcomeUnits(baseline.stats)) < minUnits
    ) {
      return this.wait(
        `waiting for outcomes at ${at}: ${outcomeUnits(canary)} canary and ` +
          `${outcomeUnits(baseline.stats)} production units of ${minUnits}`,
      );
    }
    const healthy = `healthy at ${at} after ${canary.requests} canary requests${from}: ${analysis.summary}`;
    if (stepIndex === steps.length - 1)
      return this.transition(now, 'promote', 'promoted', healthy, 'promote');
    if (fresh) this.current.baseline = structuredClone(baseline);
    this.current.stepIndex += 1;
    this.current.stepStartedAt = now;
    return this.transition(now, 'step', 'running', healthy, 'step');
  }

  /** Freezes the canary at its weight; evaluate() waits until resume(). */
  pause(now: number, reason = 'paused by an operator'): Decision {
    this.require(['running'], 'pause');
    return this.transition(now, 'pause', 'paused', reason, 'wait');
  }

  resume(now: number, reason = 'resumed by an operator'): Decision {
    this.require(['paused'], 'resume');
    return this.transition(now, 'resume', 'running', reason, 'wait');
  }

  /** Forced promotion, whatever the figures say. */
  promote(now: number, reason = 'promoted by an operator'): Decision {
    this.require(['running', 'paused'], 'promote');
    return this.transition(now, 'promote', 'promoted', reason, 'promote');
  }

  /** Sends the canary's traffic back to production; the decision's action is a rollback. */
  abort(now: number, reason = 'aborted by an operator'): Decision {
    this.require(['running', 'paused'], 'abort');
    return this.transition(now, 'abort', 'aborted', reason, 'rollback');
  }

  private wait(reason: string): Decision {
    return { action: 'wait', reason, weight: this.weight };
  }

  private transition(
    now: number,
    recorded: CanaryHistoryEntry['action'],
    status: CanaryStatus,
    reason: string,
    action: Decision['action'],
  ): Decision {
    requireTime(now);
    this.current.status = status;
    this.current.revision += 1;
    const weight = this.weight;
    this.current.history.push({ at: now, action: recorded, reason, weight });
    return { action, reason, weight };
  }

  private require(allowed: readonly CanaryStatus[], action: string): void {
    const { status } = this.current;
    if (allowed.includes(status)) return;
    throw new FerryError(
      ErrorCode.EXPERIMENT_CANARY_TRANSITION,
      `cannot ${action} a canary that is ${status}`,
      {
        details: { status, action, allowed },
      },
    );
  }
}

function pct(weight: number): string {
  return `${Math.round(weight * 1000) / 10} %`;
}

function requireTime(now: number): void {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, 'now must be a finite number of ms', {
      details: { now },
    });
  }
}

function requireSnapshot(s: RequestStatsSnapshot | undefined, arm: string): void {
  const ok =
    typeof s === 'object' &&
    s !== null &&
    Number.isSafeInteger(s.requests) &&
    Number.isSafeInteger(s.errors) &&
    s.requests >= 0 &&
    s.errors >= 0 &&
    s.errors <= s.requests &&
    typeof s.latency === 'object' &&
    typeof s.labelCounts === 'object';
  if (!ok) {
    throw new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, `the ${arm} snapshot is malformed`, {
      details: { arm },
    });
  }
}

function readState(value: unknown, config: NormalizedCanaryConfig): CanaryState {
  const what = 'canary state';
  const s = asRecord(value, what);
  const stepIndex = readCount(s, 'stepIndex', what);
  if (stepIndex >= config.steps.length)
    throw invalidState(`${what}.stepIndex is past the last step`, { stepIndex });
  const status = s.status as CanaryStatus;
  if (!STATUSES.includes(status)) throw invalidState(`${what}.status is unknown`, { status });
  if (!Array.isArray(s.history)) throw invalidState(`${what}.history must be an array`);
  const history = (s.history as unknown[]).map((e): CanaryHistoryEntry => {
    const entry = asRecord(e, `${what}.history`);
    const action = entry.action as CanaryHistoryEntry['action'];
    if (!HISTORY_ACTIONS.includes(action) || typeof entry.reason !== 'string') {
      throw invalidState(`${what}.history has an invalid entry`, { entry });
    }
    return {
      at: readNumber(entry, 'at', `${what}.history`),
      action,
      reason: entry.reason,
      weight: readNumber(entry, 'weight', `${what}.history`),
    };
  });
  let baseline: CanaryState['baseline'] = null;
  if (s.baseline !== null && s.baseline !== undefined) {
    const b = asRecord(s.baseline, `${what}.baseline`);
    const stats = b.stats as RequestStatsSnapshot;
    try {
      requireSnapshot(stats, 'baseline');
    } catch (e) {
      throw invalidState(`${what}.baseline is malformed`, { cause: String(e) });
    }
    baseline = { stepIndex: readCount(b, 'stepIndex', `${what}.baseline`), stats: structuredClone(stats) };
  }
  return {
    stepIndex,
    stepStartedAt: readNumber(s, 'stepStartedAt', what),
    status,
    revision: readCount(s, 'revision', what),
    baseline,
    history,
  };
}
