/**
 * What GET /v1/experiments and GET /v1/experiments/:id answer (src/experiments/experiment-types.ts
 * and experiment-analysis.ts): only the fields these pages read. Every field is read defensively,
 * since an experiment stored by an older server may lack the newer ones.
 */

export const STATUSES = ['running', 'paused', 'stopped', 'concluded'] as const;
export type Status = (typeof STATUSES)[number];
export const KINDS = ['ab', 'bandit', 'canary', 'shadow'] as const;
export type Kind = (typeof KINDS)[number];

export interface Arm {
  name: string;
  version?: number;
  alias?: string;
  weight: number;
}

export interface Metric {
  name: string;
  kind: 'binary' | 'numeric';
}

export interface WeightsChange {
  at: string;
  weights: number[];
  reason: string;
  probabilityBest?: number[];
  units?: number[];
}

export interface Experiment {
  name: string;
  type: Kind;
  model: string;
  arms: Arm[];
  coverage: number;
  metrics: Metric[];
  description?: string;
  status: Status;
  weights: number[];
  weightsHistory: WeightsChange[];
  conclusion: {
    at: string;
    winner: string | null;
    reason?: string;
    outcome?: 'promoted' | 'rolled_back' | 'aborted';
  } | null;
  bandit?: { policy: string; updateEveryMs: number; minUnitsPerArm: number; floor: number };
  createdAt: string;
  updatedAt: string;
}

export interface ExperimentPage {
  experiments: Experiment[];
  total?: number;
  offset?: number;
  limit?: number;
}

export type Interval = [number, number];

export interface ArmMetricSummary {
  kind: 'binary' | 'numeric';
  units: number;
  unitsWithEvents: number;
  events: number;
  conversions?: number;
  rate?: number | null;
  mean?: number | null;
  variance?: number | null;
  error?: string;
}

export interface ArmSummary {
  name: string;
  version?: number;
  alias?: string;
  weight: number;
  units: number;
  requests: number;
  metrics: Record<string, ArmMetricSummary>;
}

export interface Comparison {
  arm: string;
  control: string;
  metric: string;
  kind: 'binary' | 'numeric';
  test: string;
  sufficientData: boolean;
  minUnitsPerArm: number;
  reason?: string;
  error?: string;
  controlValue?: number;
  treatmentValue?: number;
  difference?: number;
  differenceCi?: Interval;
  relativeLift?: number | null;
  relativeLiftCi?: Interval | null;
  pValue?: number;
  pValueHolm?: number;
  pValueBh?: number;
  chanceToBeatControl?: number;
  msprt?: { pValue: number; ci: Interval } | null;
  alwaysValid?: { pValue: number; ci: Interval } | null;
}

export interface PowerEstimate {
  metric: string;
  kind: 'binary' | 'numeric';
  unitsPerArm: number;
  exposedUnits: number;
  eligibleUnits: number;
  alpha: number;
  power: number;
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface RequestStats {
  requests: number;
  errors: number;
  errorRate: number | null;
  latency: LatencySummary;
  labelCounts: Record<string, number>;
  outcomes?: { units: number; successes: number; rate: number | null };
}

export interface CanaryView {
  status: 'running' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';
  stepIndex: number;
  steps: number[];
  weight: number;
  stepStartedAt: string;
  config: { minRequestsPerStep: number; minStepDurationMs: number };
  window: { stepIndex: number; replicas: number; production: RequestStats; canary: RequestStats };
  assessment: { action: 'wait' | 'step' | 'promote' | 'rollback'; reason: string; weight: number };
  history: { at: string; action: string; reason: string; weight: number }[];
}

export interface ShadowView {
  settings: { sampleRate: number; maxQueue: number; maxBatchSize: number };
  replicas: number;
  updatedAt: string | null;
  report: {
    offered: number;
    mirrored: number;
    dropped: number;
    discarded: number;
    compared: number;
    agreed: number;
    agreement: number | null;
    confusion: Record<string, Record<string, number>>;
    latency: { production: LatencySummary; shadow: LatencySummary };
    errors: { production: number; shadow: number };
  };
}

export interface Analysis {
  experiment: Experiment;
  alpha: number;
  units: number;
  arms: ArmSummary[];
  comparisons: Comparison[];
  srm: {
    pValue: number;
    mismatch: boolean;
    observed: number[];
    weights: number[];
    expected: number[];
  } | null;
  srmNote?: string;
  unexposed: { events: number; units: number };
  totalEvents: number;
  excludedEvents: number;
  power?: PowerEstimate;
  shadow?: ShadowView;
  canary?: CanaryView;
  bandit?: {
    policy: string;
    metric: string | undefined;
    weights: number[];
    probabilityBest: Record<string, number>;
    history: WeightsChange[];
  };
}
