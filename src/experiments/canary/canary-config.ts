/** The canary's configuration, validated and completed with defaults once, so every replica reads the same. */
import { ErrorCode, FerryError } from '../../core/errors.js';

export interface CanaryThresholds {
  /** Absolute: canary error rate minus production's, e.g. 0.01. */
  maxErrorRateIncrease: number;
  /** Canary p99 / production p99, e.g. 1.5. */
  maxP99Ratio: number;
  /** Jensen–Shannon divergence (bits, in [0, 1]) between the arms' predicted labels, e.g. 0.1. */
  maxDistributionDistance: number;
  /** Canary outcome rate / production's, e.g. 0.95; without it outcomes are not judged. */
  minOutcomeRatio?: number;
  /**
   * A p99 breach also needs the canary to be this many ms slower (default 0): at sub-millisecond latencies
   * a ratio alone would roll back on scheduler noise.
   */
  minP99IncreaseMs?: number;
  /** Units each arm needs before outcomes are judged; until then the step waits. Default 30. */
  minOutcomeUnits?: number;
}

export interface CanaryConfig {
  /** Canary shares, strictly increasing, in (0, 1], the first below 1, e.g. [0.05, 0.25, 0.5, 1]. */
  steps: number[];
  /** Canary requests a step needs before any decision: no traffic, no decision. */
  minRequestsPerStep: number;
  /** Time a step needs before it may step up or promote; a rollback does not wait for it. */
  minStepDurationMs: number;
  thresholds: CanaryThresholds;
}

export type NormalizedCanaryConfig = CanaryConfig & {
  thresholds: CanaryThresholds & { minP99IncreaseMs: number; minOutcomeUnits: number };
};

const DEFAULT_MIN_OUTCOME_UNITS = 30;

export function normalizeCanaryConfig(value: unknown): NormalizedCanaryConfig {
  const config = asConfigRecord(value, 'config');
  const { steps, minRequestsPerStep, minStepDurationMs } = config;
  if (!Array.isArray(steps) || steps.length === 0)
    throw configError('steps must be a non-empty array', { steps });
  steps.forEach((w: unknown, i) => {
    const previous = i === 0 ? 0 : (steps[i - 1] as number);
    if (!(typeof w === 'number' && w > previous && w <= 1)) {
      throw configError('steps must be strictly increasing shares in (0, 1]', { steps });
    }
  });
  if (steps[0] === 1) {
    // Production must keep some traffic at the first step, or there is nothing to compare the canary with.
    throw configError('the first step must be below 1', { steps });
  }
  if (!(Number.isSafeInteger(minRequestsPerStep) && (minRequestsPerStep as number) >= 1)) {
    throw configError('minRequestsPerStep must be an integer >= 1', { minRequestsPerStep });
  }
  if (!isFiniteAtLeast(minStepDurationMs, 0)) {
    throw configError('minStepDurationMs must be a finite number >= 0', { minStepDurationMs });
  }
  const t = asConfigRecord(config.thresholds, 'thresholds');
  const within = (name: string, ok: (x: number) => boolean, rule: string): number => {
    const x = t[name];
    if (!(typeof x === 'number' && Number.isFinite(x) && ok(x))) {
      throw configError(`thresholds.${name} must be ${rule}`, { [name]: x });
    }
    return x;
  };
  const thresholds: NormalizedCanaryConfig['thresholds'] = {
    maxErrorRateIncrease: within('maxErrorRateIncrease', (x) => x >= 0 && x <= 1, 'within [0, 1]'),
    maxP99Ratio: within('maxP99Ratio', (x) => x > 0, 'a number > 0'),
    maxDistributionDistance: within('maxDistributionDistance', (x) => x >= 0 && x <= 1, 'within [0, 1]'),
    minP99IncreaseMs:
      t.minP99IncreaseMs === undefined ? 0 : within('minP99IncreaseMs', (x) => x >= 0, '>= 0'),
    minOutcomeUnits:
      t.minOutcomeUnits === undefined
        ? DEFAULT_MIN_OUTCOME_UNITS
        : within('minOutcomeUnits', (x) => Number.isSafeInteger(x) && x >= 1, 'an integer >= 1'),
  };
  if (t.minOutcomeRatio !== undefined) {
    thresholds.minOutcomeRatio = within('minOutcomeRatio', (x) => x > 0, 'a number > 0');
  }
  return {
    steps: [...(steps as number[])],
    minRequestsPerStep: minRequestsPerStep as number,
    minStepDurationMs: minStepDurationMs as number,
    thresholds,
  };
}

function isFiniteAtLeast(x: unknown, min: number): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x >= min;
}

function asConfigRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(`${what} must be an object`, {});
  }
  return value as Record<string, unknown>;
}

function configError(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_CANARY_CONFIG, `invalid canary config: ${message}`, {
    details,
  });
}
