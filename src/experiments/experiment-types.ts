/**
 * Online experiments over the versions of one model: A/B tests, bandits, canary releases and shadow
 * tests share one definition, one store and one router.
 *
 * Rules that hold for every experiment (see experiment-definition.ts for the checks):
 * - An experiment routes traffic of one model between its arms; an arm names a registered version
 *   (`version`) or an alias (`alias`) of that model, and carries a weight; weights sum to 1.
 * - Assignment is GrowthBook's (hash version 2) over `seed` (default: the experiment's name) and the
 *   unit id, with the experiment's current weights and coverage: deterministic and sticky, with no
 *   lookup, across restarts and replicas.
 * - At most one *routing* experiment (ab, bandit, canary) per model is running or paused at a time;
 *   a shadow may run beside it (at most one shadow per model). A second one is refused with 409.
 */

import type { ExperimentStatus, ExperimentType, MetricKind } from '../ports/experiment-api.js';
import type { ExperimentRoute } from '../ports/experiment-routing.js';

// The API's vocabulary lives with its contract (ports/experiment-api.ts), where the HTTP layer reads it.
export {
  EXPERIMENT_STATUSES,
  EXPERIMENT_TYPES,
  type ExperimentStatus,
  type ExperimentType,
  METRIC_KINDS,
  type MetricKind,
} from '../ports/experiment-api.js';

/** Types whose arms answer users (the router picks one); a shadow's candidate never answers. */
export const ROUTING_TYPES: readonly ExperimentType[] = ['ab', 'bandit', 'canary'];

/** Statuses that hold the model (overlap rule) and that the router keeps in memory. */
export const ACTIVE_STATUSES: readonly ExperimentStatus[] = ['running', 'paused'];

export const BANDIT_POLICIES = ['thompson', 'ucb1', 'epsilon-greedy'] as const;
export type BanditPolicyName = (typeof BANDIT_POLICIES)[number];

export interface ArmDefinition {
  name: string;
  /** Exactly one of version and alias. */
  version?: number;
  alias?: string;
  /** Share of the covered units; the weights of an experiment sum to 1. */
  weight: number;
}

export interface MetricDefinition {
  name: string;
  kind: MetricKind;
  /**
   * mSPRT mixing scale τ: the size of true effects expected, on the metric's absolute scale (rate
   * points for binary metrics). Defaults: the absolute MDE of `power` when it targets this metric,
   * else 0.02 for binary metrics; for numeric ones 0.1 × the pooled standard deviation at the first
   * look with data, then kept.
   */
  tau?: number;
  /**
   * Numeric metrics: the bounds of one event's value, inclusive; an event outside them is refused
   * (400). Defaults ±DEFAULT_METRIC_BOUND (1e9); never beyond ±MAX_METRIC_BOUND (1e12), so that sums
   * and squares of stored values cannot overflow a double. Binary metrics are 0/1 and take neither.
   */
  min?: number;
  max?: number;
}

/** Default bound of a numeric event's value: |value| <= 1e9 unless the metric says otherwise. */
export const DEFAULT_METRIC_BOUND = 1e9;
/**
 * The widest bound a metric may declare; stored values beyond it (data written before bounds
 * existed, or by hand) are left out of every aggregate and counted as invalid instead.
 */
export const MAX_METRIC_BOUND = 1e12;

/** How the analysis judges an arm × metric comparison. */
export interface AnalysisSettings {
  /**
   * A comparison is `sufficientData` only when both arms have at least this many units (binary:
   * exposed units; numeric: units with events). Default DEFAULT_MIN_UNITS_PER_ARM.
   */
  minUnitsPerArm: number;
}

/**
 * 30 units per arm: below it the normal approximations behind the z- and t-tests are unreliable
 * (the usual rule of thumb); the figures are still shown, flagged as insufficient.
 */
export const DEFAULT_MIN_UNITS_PER_ARM = 30;

export interface BanditSettings {
  policy: BanditPolicyName;
  /** Least share any arm keeps, within [0, 1/arms]. */
  floor: number;
  /** No reallocation until every arm has this many units (units with events, for numeric metrics). */
  minUnitsPerArm: number;
  /** Weights are recomputed once per period of this length (ms), counted from createdAt. */
  updateEveryMs: number;
  /** The reward metric; default the first metric. */
  metric?: string;
  /** epsilon-greedy only; default 0.1. */
  epsilon?: number;
  /** ucb1 only: width of the reward range (1 for rates). */
  rewardRange?: number;
}

/** A units-needed estimate asked for at creation (power analysis), kept with the definition. */
export interface PowerRequest {
  /** The metric it is for; default the first metric. */
  metric?: string;
  /** Binary metrics: the control's expected rate. */
  baseline?: number;
  /** Numeric metrics: the outcome's standard deviation. */
  sigma?: number;
  /** Minimum detectable effect: absolute, or relative to the baseline when `relative`. */
  mde: number;
  relative?: boolean;
  alpha?: number;
  power?: number;
}

export interface PowerEstimate {
  metric: string;
  kind: MetricKind;
  /** Units needed in each arm (the smallest arm needs this many). */
  unitsPerArm: number;
  /** Exposed units needed so that the smallest arm gets unitsPerArm at the configured weights. */
  exposedUnits: number;
  /** Units to send (exposed units / coverage). */
  eligibleUnits: number;
  alpha: number;
  power: number;
  /** Binary: the rate the treatment must reach. */
  treatmentRate?: number;
}

/** What a user submits (after validation: every default filled in). */
export interface ExperimentDefinition {
  name: string;
  type: ExperimentType;
  model: string;
  arms: ArmDefinition[];
  /** Share of units in the experiment, [0, 1]; default 1. */
  coverage: number;
  /** Hashing seed; default the experiment's name. */
  seed: string;
  metrics: MetricDefinition[];
  bandit?: BanditSettings;
  power?: PowerRequest;
  description?: string;
  /** Canary settings (steps, thresholds…), kept as given for the canary controller. */
  canary?: Record<string, unknown>;
  /** Shadow settings (sample rate…), kept as given for the shadow mirror. */
  shadow?: Record<string, unknown>;
  /** Analysis settings; absent in experiments stored before they existed (defaults apply). */
  analysis?: AnalysisSettings;
}

/** One change of an experiment's weights (creation, bandit update, canary step, manual change). */
export interface WeightsChange {
  at: string;
  weights: number[];
  reason: string;
  /** Bandit updates: the period (since createdAt, in updateEveryMs) it was made for. */
  period?: number;
  /** Bandit updates: each arm's posterior probability of being best at the update. */
  probabilityBest?: number[];
  /** Bandit updates: the units per arm the update saw. */
  units?: number[];
}

export interface Conclusion {
  at: string;
  winner: string | null;
  reason?: string;
  /** Canaries: how the release ended (the controller's final status). */
  outcome?: 'promoted' | 'rolled_back' | 'aborted';
}

/** An experiment as stored: the definition plus its life. */
export interface Experiment extends ExperimentDefinition {
  status: ExperimentStatus;
  /** Weights in force (bandits and canaries move them; others keep the definition's). */
  weights: number[];
  weightsHistory: WeightsChange[];
  conclusion: Conclusion | null;
  /** Bandits: the last period for which an update ran (0: none yet). */
  banditPeriod: number;
  createdAt: string;
  updatedAt: string;
  /** Increases on every change; the router uses it to notice changes. */
  revision: number;
}

/** An outcome posted for a unit. */
export interface ExperimentEvent {
  eventId: string;
  unit: string;
  metric: string;
  value: number;
  /** ISO 8601; default the time it was received. */
  at?: string;
}

/** An exposure: a unit answered by an arm (buffered, then upserted; the first arm is kept). */
export interface Exposure {
  experiment: string;
  unit: string;
  arm: string;
  version: number | null;
  at: string;
  requests: number;
}

export interface MetricAggregate {
  /** Exposed units of the arm with at least one event of the metric. */
  unitsWithEvents: number;
  /** Events of those units. */
  events: number;
  /** Σ over units of the unit's value (sum of its events). */
  sum: number;
  /** Σ over units of the unit's value squared (derived from m2: informative only). */
  sumSq: number;
  /**
   * Σ over units of (unit's value − the arm's mean)², computed in two passes by the database: the
   * variance without the cancellation of Σx² − (Σx)²/n.
   */
  m2: number;
  /** Stored events of the metric whose value is beyond ±MAX_METRIC_BOUND or not finite: left out. */
  invalidEvents: number;
  /** Units with at least one event whose value is > 0 (binary: converting units). */
  conversions: number;
}

export interface ArmAggregate {
  arm: string;
  /** Exposed units. */
  units: number;
  /** Routed requests of those units. */
  requests: number;
  metrics: Record<string, MetricAggregate>;
}

/** What the analysis needs, computed in SQL, so replicas on one database agree. */
export interface ExperimentAggregates {
  /** In the definition's arm order, arms without units included. */
  arms: ArmAggregate[];
  /** Events of units that were never exposed: stored, counted apart, not analysed. */
  unexposed: { events: number; units: number; byMetric: Record<string, { events: number; units: number }> };
  totalEvents: number;
  /** Events excluded by an admin (POST …/events/exclude): stored, never counted. */
  excludedEvents: number;
}

/** The arm the router picked for a request (what the request path sees, and the router's own fields). */
export interface RouteDecision extends ExperimentRoute {
  type: ExperimentType;
  armIndex: number;
}
