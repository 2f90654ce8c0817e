/**
 * The `canary` and `shadow` settings of an experiment definition: checked at creation (400 with
 * FERRY_EXPERIMENT_INVALID_CANARY_CONFIG / FERRY_EXPERIMENT_INVALID_SHADOW_CONFIG) and completed with
 * the defaults below whenever they are used, so every replica reads the same values from the same
 * stored definition (which keeps the settings as given).
 */
import { ErrorCode, FerryError } from '../core/errors.js';
import { type NormalizedCanaryConfig, normalizeCanaryConfig } from './canary/canary-config.js';
import type { ExperimentDefinition } from './experiment-types.js';

const DEFAULT_CANARY_STEPS: readonly number[] = [0.05, 0.25, 0.5, 1];
const DEFAULT_MIN_REQUESTS_PER_STEP = 100;
const DEFAULT_MIN_STEP_DURATION_MS = 60_000;
/** Thresholds of a canary when its definition does not give them (each may be given alone). */
const DEFAULT_CANARY_THRESHOLDS = {
  maxErrorRateIncrease: 0.01,
  maxP99Ratio: 1.5,
  maxDistributionDistance: 0.1,
  /** At sub-millisecond latencies a ratio alone would roll back on scheduler noise. */
  minP99IncreaseMs: 10,
} as const;

const DEFAULT_SHADOW_SAMPLE_RATE = 1;
const DEFAULT_SHADOW_MAX_QUEUE = 10_000;
const DEFAULT_SHADOW_MAX_BATCH_SIZE = 32;

export interface CanarySettings {
  config: NormalizedCanaryConfig;
  /**
   * The binary metric whose outcome rate is compared when `thresholds.minOutcomeRatio` is set
   * (default: the experiment's first binary metric); undefined when outcomes are not judged.
   */
  metric: string | undefined;
}

export interface ShadowSettings {
  sampleRate: number;
  maxQueue: number;
  maxBatchSize: number;
}

const CANARY_KEYS = ['steps', 'minRequestsPerStep', 'minStepDurationMs', 'thresholds', 'metric'];
const THRESHOLD_KEYS = [
  'maxErrorRateIncrease',
  'maxP99Ratio',
  'maxDistributionDistance',
  'minOutcomeRatio',
  'minP99IncreaseMs',
  'minOutcomeUnits',
];
const SHADOW_KEYS = ['sampleRate', 'maxQueue', 'maxBatchSize'];

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function canaryError(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_CANARY_CONFIG, `invalid canary config: ${message}`, {
    details: { field: 'canary', ...details },
  });
}

function shadowError(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_SHADOW_CONFIG, `invalid shadow settings: ${message}`, {
    details: { field: 'shadow', ...details },
  });
}

function unknownKeys(obj: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(obj).find((k) => !allowed.includes(k));
}

/** The canary's settings with defaults, validated by canary-config.ts; throws 400 when invalid. */
export function canarySettings(def: Pick<ExperimentDefinition, 'canary' | 'metrics'>): CanarySettings {
  const raw = def.canary ?? {};
  if (!isObject(raw)) throw canaryError('canary must be an object');
  const unknown = unknownKeys(raw, CANARY_KEYS);
  if (unknown !== undefined) {
    throw canaryError(`unknown field ${JSON.stringify(unknown)}; allowed: ${CANARY_KEYS.join(', ')}`, {
      field: `canary.${unknown}`,
    });
  }
  const thresholds = raw.thresholds ?? {};
  if (!isObject(thresholds)) throw canaryError('thresholds must be an object');
  const unknownThreshold = unknownKeys(thresholds, THRESHOLD_KEYS);
  if (unknownThreshold !== undefined) {
    throw canaryError(
      `unknown threshold ${JSON.stringify(unknownThreshold)}; allowed: ${THRESHOLD_KEYS.join(', ')}`,
      { field: `canary.thresholds.${unknownThreshold}` },
    );
  }
  const config = normalizeCanaryConfig({
    steps: raw.steps ?? [...DEFAULT_CANARY_STEPS],
    minRequestsPerStep: raw.minRequestsPerStep ?? DEFAULT_MIN_REQUESTS_PER_STEP,
    minStepDurationMs: raw.minStepDurationMs ?? DEFAULT_MIN_STEP_DURATION_MS,
    thresholds: { ...DEFAULT_CANARY_THRESHOLDS, ...thresholds },
  });
  let metric: string | undefined;
  if (raw.metric !== undefined) {
    const m = def.metrics.find((x) => x.name === raw.metric);
    if (m === undefined || m.kind !== 'binary') {
      throw canaryError("metric must name one of the experiment's binary metrics", {
        field: 'canary.metric',
        value: raw.metric,
      });
    }
    metric = m.name;
  } else {
    metric = def.metrics.find((m) => m.kind === 'binary')?.name;
  }
  if (config.thresholds.minOutcomeRatio !== undefined && metric === undefined) {
    throw canaryError('thresholds.minOutcomeRatio needs a binary metric (the outcome) in "metrics"', {
      field: 'canary.thresholds.minOutcomeRatio',
    });
  }
  return { config, metric: config.thresholds.minOutcomeRatio === undefined ? undefined : metric };
}

/** The weights a canary routes with when its arm has `share` of the traffic: [production, canary]. */
export function canaryWeights(share: number): [number, number] {
  return [1 - share, share];
}

/** The step whose share the canary arm has now, or -1 (rolled back, aborted, or moved by hand). */
export function canaryStepOf(config: NormalizedCanaryConfig, weights: readonly number[]): number {
  const share = weights[1];
  if (share === undefined) return -1;
  return config.steps.findIndex((s) => Math.abs(s - share) < 1e-9);
}

/** The shadow's settings with defaults; throws 400 when invalid. */
export function shadowSettings(def: Pick<ExperimentDefinition, 'shadow'>): ShadowSettings {
  const raw = def.shadow ?? {};
  if (!isObject(raw)) throw shadowError('shadow must be an object');
  const unknown = unknownKeys(raw, SHADOW_KEYS);
  if (unknown !== undefined) {
    throw shadowError(`unknown field ${JSON.stringify(unknown)}; allowed: ${SHADOW_KEYS.join(', ')}`, {
      field: `shadow.${unknown}`,
    });
  }
  const sampleRate = raw.sampleRate ?? DEFAULT_SHADOW_SAMPLE_RATE;
  if (!(typeof sampleRate === 'number' && sampleRate >= 0 && sampleRate <= 1)) {
    throw shadowError('sampleRate must be a number within [0, 1]', { value: sampleRate });
  }
  const maxQueue = raw.maxQueue ?? DEFAULT_SHADOW_MAX_QUEUE;
  if (!(Number.isSafeInteger(maxQueue) && (maxQueue as number) >= 1 && (maxQueue as number) <= 10_000_000)) {
    throw shadowError('maxQueue (items) must be an integer within [1, 10000000]', { value: maxQueue });
  }
  const maxBatchSize = raw.maxBatchSize ?? DEFAULT_SHADOW_MAX_BATCH_SIZE;
  if (!(Number.isSafeInteger(maxBatchSize) && (maxBatchSize as number) >= 1)) {
    throw shadowError('maxBatchSize must be an integer >= 1', { value: maxBatchSize });
  }
  return { sampleRate, maxQueue: maxQueue as number, maxBatchSize: maxBatchSize as number };
}
