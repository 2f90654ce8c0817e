/**
 * The analysis of an experiment from its SQL aggregates, with src/experiments/stats. Pure: the same
 * aggregates and running state give the same numbers on every replica.
 *
 * Per arm and metric: units, rate (binary: converting units / exposed units) or mean (numeric: over
 * the units with events, a unit's value being the sum of its events). Each arm after the first is
 * compared with the first (the control):
 * - lift with its confidence interval and p-value, each interval from the same test as its p-value
 *   (it excludes 0 exactly when p < α): rates, the pooled two-proportion score (z) test and its
 *   inverted interval (Mee's score interval, always within [−1, 1]); means, Welch's t-test and its
 *   t interval. Relative lifts use the delta method (an approximation, not the test), clipped at
 *   −1 where the lift cannot be lower (rates; means of events of one sign);
 * - sufficientData only when both arms have analysis.minUnitsPerArm units (default 30; binary:
 *   exposed units, numeric: units with events); figures below that are shown but flagged;
 * - the Bayesian chance to beat control (Beta(1,1) posteriors for rates, normal for means);
 * - mSPRT: this look's always-valid p-value and interval, and the running ones (minimum p and
 *   intersection of intervals over every look so far, kept in the store), valid however often the
 *   analysis is read. τ is fixed per comparison at its first look (see MetricDefinition.tau);
 * - Holm and Benjamini–Hochberg adjusted p-values over every arm × metric comparison.
 * A metric whose aggregates are unusable (stored values beyond ±MAX_METRIC_BOUND, or not finite)
 * is reported with `error` and no figures; the other metrics, the bandit and the canary are not
 * affected.
 * Plus a sample-ratio-mismatch check of the unit counts against the weights (flagged under
 * p = 0.001; only while the weights never changed: bandits and canaries move them on purpose), the
 * events of units never exposed (counted apart), and for bandits each arm's probability of being
 * best and the history of weights.
 */
import { currentProbabilityBest, rewardMetric } from './bandit-update.js';
import type { NormalizedCanaryConfig } from './canary/canary-config.js';
import type { CanaryHistoryEntry, CanaryStatus, Decision } from './canary/canary-controller.js';
import type { RequestStatsSnapshot } from './canary/request-stats.js';
import { absoluteMde, metricBounds, powerEstimate } from './experiment-definition.js';
import {
  DEFAULT_MIN_UNITS_PER_ARM,
  type Experiment,
  type ExperimentAggregates,
  MAX_METRIC_BOUND,
  type MetricDefinition,
  type PowerEstimate,
  type WeightsChange,
} from './experiment-types.js';
import type { ShadowSettings } from './live-settings.js';
import type { ShadowReport } from './shadow/shadow-stats.js';
import { chanceToBeatControlBinary, chanceToBeatControlMean } from './stats/bayesian.js';
import {
  type AlwaysValidState,
  combineLooks,
  type MsprtLook,
  msprtForMeans,
  msprtForProportions,
} from './stats/msprt.js';
import { benjaminiHochberg, holm } from './stats/multiple-comparisons.js';
import { type SrmResult, sampleRatioMismatch } from './stats/srm.js';
import { type Interval, twoProportionZTest } from './stats/two-proportion-test.js';
import { type MeanSummary, welchTTest } from './stats/welch-test.js';

const DEFAULT_ALPHA = 0.05;
/** mSPRT τ for binary metrics when neither metric.tau nor power's MDE gives one: 2 rate points. */
const DEFAULT_BINARY_TAU = 0.02;
/** For numeric metrics without tau: this share of the pooled standard deviation at the first look. */
const DEFAULT_NUMERIC_TAU_SD_SHARE = 0.1;

export interface ArmMetricSummary {
  kind: 'binary' | 'numeric';
  /** Binary: exposed units (the rate's denominator); numeric: units with events. */
  units: number;
  unitsWithEvents: number;
  events: number;
  /** Binary only. */
  conversions?: number;
  rate?: number | null;
  /** Numeric only. */
  mean?: number | null;
  variance?: number | null;
  sum: number;
  sumSq: number;
  /** Σ (x − mean)² over the units (numeric metrics' variance is m2 / (units − 1)). */
  m2: number;
  /** Stored events left out for values beyond ±MAX_METRIC_BOUND or not finite. */
  invalidEvents: number;
  /** Why this metric's figures could not be computed (its comparisons carry it too). */
  error?: string;
}

export interface ArmSummary {
  name: string;
  version?: number;
  alias?: string;
  /** The weight in force now. */
  weight: number;
  units: number;
  requests: number;
  metrics: Record<string, ArmMetricSummary>;
}

export interface SequentialResult {
  tau2: number;
  /** This look alone. */
  pValue: number;
  ci: Interval;
}

export interface Comparison {
  arm: string;
  control: string;
  metric: string;
  kind: 'binary' | 'numeric';
  test: 'two-proportion-z' | 'welch-t';
  /**
   * True when both arms have at least minUnitsPerArm units (binary: exposed units; numeric: units
   * with events). Below it the figures are still given when computable (binary: one unit per arm;
   * numeric: two with events), with `reason`.
   */
  sufficientData: boolean;
  /** The threshold applied. */
  minUnitsPerArm: number;
  reason?: string;
  /** The metric's aggregates are unusable: no figures (see ArmMetricSummary.error). */
  error?: string;
  controlValue?: number;
  treatmentValue?: number;
  difference?: number;
  differenceCi?: Interval;
  relativeLift?: number | null;
  relativeLiftCi?: Interval | null;
  /** z (rates) or t (means). */
  statistic?: number;
  /** Welch only. */
  df?: number;
  pValue?: number;
  pValueHolm?: number;
  pValueBh?: number;
  chanceToBeatControl?: number;
  /** mSPRT at this look; null while the variance is 0 (no evidence either way). */
  msprt?: SequentialResult | null;
  /** Running always-valid p-value and interval over every look so far. */
  alwaysValid?: AlwaysValidState | null;
}

/** A shadow test's report: the merge of every replica's persisted counters. */
export interface ShadowAnalysis {
  settings: ShadowSettings;
  /** Replicas whose rows were merged (a serving process counts once per start). */
  replicas: number;
  /** Rows that could not be read (skipped, not merged). */
  invalidRows: number;
  /** The newest row's write time; null before any replica wrote. */
  updatedAt: string | null;
  report: ShadowReport;
}

/** A canary release: its controller's state, the current step's window and what the figures say now. */
export interface CanaryAnalysis {
  status: CanaryStatus;
  stepIndex: number;
  steps: number[];
  /** The canary arm's share now. */
  weight: number;
  revision: number;
  stepStartedAt: string;
  config: NormalizedCanaryConfig;
  /** The binary metric whose outcome rate is judged, when thresholds.minOutcomeRatio is set. */
  outcomeMetric?: string;
  /** Both arms over the current step, merged over replicas (outcomes: over the whole experiment). */
  window: {
    stepIndex: number;
    replicas: number;
    invalidRows: number;
    production: RequestStatsSnapshot;
    canary: RequestStatsSnapshot;
  };
  /** What evaluate() decides on these figures now; applied by the next evaluation (any replica). */
  assessment: Decision;
  history: (Omit<CanaryHistoryEntry, 'at'> & { at: string })[];
}

export interface ExperimentAnalysis {
  experiment: Experiment;
  alpha: number;
  units: number;
  arms: ArmSummary[];
  comparisons: Comparison[];
  srm: (SrmResult & { observed: number[]; weights: number[] }) | null;
  srmNote?: string;
  unexposed: ExperimentAggregates['unexposed'];
  totalEvents: number;
  /** Events excluded by an admin: stored, not counted. */
  excludedEvents: number;
  power?: PowerEstimate;
  /** Shadow tests: the merged report of every replica. */
  shadow?: ShadowAnalysis;
  /** Canary releases: the controller's state and the current step's figures. */
  canary?: CanaryAnalysis;
  bandit?: {
    policy: string;
    metric: string | undefined;
    weights: number[];
    probabilityBest: Record<string, number>;
    history: WeightsChange[];
  };
}

/** Per comparison (`arm/metric`): τ² fixed at the first look, and the running always-valid state. */
export type SequentialState = Record<string, { tau2: number; state?: AlwaysValidState }>;

/**
 * Analyses `aggregates` and folds this look into `sequential` (returned as `sequential`; the caller
 * stores it). Folding the same aggregates twice changes nothing, so replicas reading one database
 * return the same numbers.
 */
export function analyzeExperiment(
  experiment: Experiment,
  aggregates: ExperimentAggregates,
  previous: SequentialState = {},
  opts: { alpha?: number } = {},
): { analysis: ExperimentAnalysis; sequential: SequentialState } {
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const sequential: SequentialState = JSON.parse(JSON.stringify(previous)) as SequentialState;
  const arms: ArmSummary[] = experiment.arms.map((a, i) => {
    const agg = aggregates.arms[i]!;
    const metrics: Record<string, ArmMetricSummary> = {};
    for (const m of experiment.metrics)
      metrics[m.name] = safeMetricSummary(m, agg.units, agg.metrics[m.name]!);
    return {
      name: a.name,
      ...(a.version !== undefined ? { version: a.version } : {}),
      ...(a.alias !== undefined ? { alias: a.alias } : {}),
      weight: experiment.weights[i] ?? a.weight,
      units: agg.units,
      requests: agg.requests,
      metrics,
    };
  });

  const comparisons: Comparison[] = [];
  const control = arms[0]!;
  const minUnitsPerArm = experiment.analysis?.minUnitsPerArm ?? DEFAULT_MIN_UNITS_PER_ARM;
  for (const metric of experiment.metrics) {
    const error = metricError(metric, arms);
    for (const arm of arms.slice(1)) {
      const base = comparisonBase(metric, control, arm, minUnitsPerArm);
      if (error !== undefined) {
        comparisons.push({ ...base, sufficientData: false, reason: error, error });
        continue;
      }
      // A look is folded into the running state only when the whole comparison succeeds.
      const draft = JSON.parse(JSON.stringify(sequential)) as SequentialState;
      try {
        comparisons.push(compare(experiment, metric, control, arm, alpha, draft, minUnitsPerArm));
        const key = `${arm.name}/${metric.name}`;
        if (draft[key] !== undefined) sequential[key] = draft[key]!;
      } catch (err) {
        const reason = `the figures could not be computed: ${err instanceof Error ? err.message : String(err)}`;
        comparisons.push({ ...base, sufficientData: false, reason, error: reason });
      }
    }
  }
  const tested = comparisons.filter((c) => c.pValue !== undefined);
  const ps = tested.map((c) => c.pValue!);
  const holmPs = holm(ps);
  const bhPs = benjaminiHochberg(ps);
  tested.forEach((c, i) => {
    c.pValueHolm = holmPs[i]!;
    c.pValueBh = bhPs[i]!;
  });

  const observed = arms.map((a) => a.units);
  let srm: ExperimentAnalysis['srm'] = null;
  let srmNote: string | undefined;
  if (experiment.weightsHistory.length > 1) {
    srmNote = 'the weights changed during the experiment (bandit or canary): no sample-ratio check';
  } else if (observed.reduce((s, n) => s + n, 0) === 0) {
    srmNote = 'no exposed units yet';
  } else {
    srm = {
      ...sampleRatioMismatch(observed, experiment.weights),
      observed,
      weights: [...experiment.weights],
    };
  }

  const analysis: ExperimentAnalysis = {
    experiment,
    alpha,
    units: observed.reduce((s, n) => s + n, 0),
    arms,
    comparisons,
    srm,
    ...(srmNote !== undefined ? { srmNote } : {}),
    unexposed: aggregates.unexposed,
    totalEvents: aggregates.totalEvents,
    excludedEvents: aggregates.excludedEvents,
  };
  const power = powerEstimate(experiment);
  if (power !== undefined) analysis.power = power;
  if (experiment.type === 'bandit' && experiment.bandit !== undefined) {
    const p = currentProbabilityBest(experiment, aggregates);
    analysis.bandit = {
      policy: experiment.bandit.policy,
      metric: rewardMetric(experiment),
      weights: [...experiment.weights],
      probabilityBest: Object.fromEntries(experiment.arms.map((a, i) => [a.name, p[i]!])),
      history: experiment.weightsHistory,
    };
  }
  return { analysis, sequential };
}

/** The first arm's error for `metric`, if any: the metric cannot be compared. */
function metricError(metric: MetricDefinition, arms: readonly ArmSummary[]): string | undefined {
  for (const arm of arms) {
    const error = arm.metrics[metric.name]?.error;
    if (error !== undefined) return error;
  }
  return undefined;
}

/**
 * A metric's summary for one arm, or its error: events with unusable values, aggregates that are not
 * finite, or anything the summary throws, are this metric's problem only.
 */
function safeMetricSummary(
  metric: MetricDefinition,
  exposedUnits: number,
  agg: ExperimentAggregates['arms'][number]['metrics'][string],
): ArmMetricSummary {
  const empty: ArmMetricSummary = {
    kind: metric.kind,
    units: metric.kind === 'binary' ? exposedUnits : agg.unitsWithEvents,
    unitsWithEvents: agg.unitsWithEvents,
    events: agg.events,
    sum: agg.sum,
    sumSq: agg.sumSq,
    m2: agg.m2,
    invalidEvents: agg.invalidEvents,
  };
  if (agg.invalidEvents > 0) {
    return {
      ...empty,
      error: `${agg.invalidEvents} stored event(s) of "${metric.name}" have values beyond ±${MAX_METRIC_BOUND} or not finite (written before values were bounded, or by hand); exclude them (POST …/events/exclude {"outOfRange": true, "reason": …} or ferry experiments exclude-events --out-of-range) to analyse this metric`,
    };
  }
  const figures = [agg.unitsWithEvents, agg.events, agg.sum, agg.m2, agg.conversions, exposedUnits];
  if (!figures.every(Number.isFinite)) {
    return { ...empty, error: `the aggregates of "${metric.name}" are not finite numbers` };
  }
  try {
    return metricSummary(metric, exposedUnits, agg);
  } catch (err) {
    return {
      ...empty,
      error: `the figures of "${metric.name}" could not be computed: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function metricSummary(
  metric: MetricDefinition,
  exposedUnits: number,
  agg: ExperimentAggregates['arms'][number]['metrics'][string],
): ArmMetricSummary {
  const base = {
    kind: metric.kind,
    unitsWithEvents: agg.unitsWithEvents,
    events: agg.events,
    sum: agg.sum,
    sumSq: agg.sumSq,
    m2: agg.m2,
    invalidEvents: agg.invalidEvents,
  };
  if (metric.kind === 'binary') {
    return {
      ...base,
      units: exposedUnits,
      conversions: agg.conversions,
      rate: exposedUnits > 0 ? agg.conversions / exposedUnits : null,
    };
  }
  const summary = agg.unitsWithEvents > 0 ? summaryOf(agg) : undefined;
  return {
    ...base,
    units: agg.unitsWithEvents,
    mean: summary?.mean ?? null,
    variance: summary === undefined || summary.n < 2 ? null : summary.variance,
  };
}

/** Mean and variance from the store's two-pass aggregates (Σx and Σ(x − mean)²). */
function summaryOf(agg: { unitsWithEvents: number; sum: number; m2: number }): MeanSummary {
  const n = agg.unitsWithEvents;
  return { n, mean: agg.sum / n, variance: n > 1 ? Math.max(0, agg.m2 / (n - 1)) : 0 };
}

function comparisonBase(
  metric: MetricDefinition,
  control: ArmSummary,
  arm: ArmSummary,
  minUnitsPerArm: number,
) {
  return {
    arm: arm.name,
    control: control.name,
    metric: metric.name,
    kind: metric.kind,
    test: metric.kind === 'binary' ? ('two-proportion-z' as const) : ('welch-t' as const),
    minUnitsPerArm,
  };
}

/** sufficientData and its reason, from the units of both arms (see Comparison.sufficientData). */
function sufficiency(
  c: ArmMetricSummary,
  t: ArmMetricSummary,
  minUnitsPerArm: number,
): { sufficientData: boolean; reason?: string } {
  const fewest = Math.min(c.units, t.units);
  if (fewest >= minUnitsPerArm) return { sufficientData: true };
  return {
    sufficientData: false,
    reason: `an arm has ${fewest} ${c.kind === 'binary' ? 'exposed units' : 'units with events'}, fewer than the ${minUnitsPerArm} needed (analysis.minUnitsPerArm): the figures are not reliable yet`,
  };
}

function compare(
  experiment: Experiment,
  metric: MetricDefinition,
  control: ArmSummary,
  arm: ArmSummary,
  alpha: number,
  sequential: SequentialState,
  minUnitsPerArm: number,
): Comparison {
  const base = comparisonBase(metric, control, arm, minUnitsPerArm);
  const key = `${arm.name}/${metric.name}`;
  const c = control.metrics[metric.name]!;
  const t = arm.metrics[metric.name]!;
  const enough = sufficiency(c, t, minUnitsPerArm);
  if (metric.kind === 'binary') {
    if (c.units < 1 || t.units < 1) {
      return { ...base, sufficientData: false, reason: 'an arm has no exposed units yet' };
    }
    const cArm = { units: c.units, conversions: c.conversions! };
    const tArm = { units: t.units, conversions: t.conversions! };
    const z = twoProportionZTest(cArm, tArm, { alpha });
    const tau = metric.tau ?? absoluteMde(experiment, metric.name) ?? DEFAULT_BINARY_TAU;
    const look = (tau2: number) => msprtForProportions(cArm, tArm, { tau2, alpha });
    // A difference of rates lies within [−1, 1]: so do its always-valid intervals.
    const seq = sequentialFor(sequential, key, tau * tau, look, [-1, 1]);
    return {
      ...base,
      ...enough,
      controlValue: z.controlRate,
      treatmentValue: z.treatmentRate,
      difference: z.difference,
      differenceCi: z.differenceCi,
      relativeLift: z.relativeLift,
      relativeLiftCi: z.relativeLiftCi,
      statistic: z.z,
      pValue: z.pValue,
      chanceToBeatControl: chanceToBeatControlBinary(cArm, tArm),
      ...seq,
    };
  }
  if (c.unitsWithEvents < 2 || t.unitsWithEvents < 2) {
    return { ...base, sufficientData: false, reason: 'an arm has fewer than two units with events' };
  }
  const cs = summaryOf(c);
  const ts = summaryOf(t);
  const w = welchTTest(cs, ts, { alpha });
  // A unit's value is a sum of events, unbounded however the events are: Welch's interval of the
  // difference is left as is. The lift of means of one sign (events all >= 0, or all <= 0) is a
  // ratio >= 0 minus 1, so its interval is clipped at −1 (the true lift is always above).
  const { min, max } = metricBounds(metric);
  const differenceCi = w.differenceCi;
  const relativeLiftCi: Interval | null =
    w.relativeLiftCi !== null && (min >= 0 || max <= 0)
      ? [Math.max(-1, w.relativeLiftCi[0]), w.relativeLiftCi[1]]
      : w.relativeLiftCi;
  const pooledSd = Math.sqrt(
    ((cs.n - 1) * cs.variance + (ts.n - 1) * ts.variance) / Math.max(1, cs.n + ts.n - 2),
  );
  const tau2 =
    metric.tau !== undefined
      ? metric.tau * metric.tau
      : (absoluteMde(experiment, metric.name) ?? DEFAULT_NUMERIC_TAU_SD_SHARE * pooledSd) ** 2;
  const look = (fixedTau2: number) => msprtForMeans(cs, ts, { tau2: fixedTau2, alpha });
  const seq = sequentialFor(sequential, key, tau2, look, [
    Number.NEGATIVE_INFINITY,
    Number.POSITIVE_INFINITY,
  ]);
  return {
    ...base,
    ...enough,
    controlValue: cs.mean,
    treatmentValue: ts.mean,
    difference: w.difference,
    differenceCi,
    relativeLift: w.relativeLift,
    relativeLiftCi,
    statistic: w.t,
    df: w.df,
    pValue: w.pValue,
    chanceToBeatControl: chanceToBeatControlMean(cs, ts),
    ...seq,
  };
}

/**
 * This look's mSPRT with τ² fixed at the comparison's first usable look, folded into the running
 * state. A look without spread (variance 0) carries no evidence and is not folded.
 */
function sequentialFor(
  sequential: SequentialState,
  key: string,
  proposedTau2: number,
  look: (tau2: number) => MsprtLook,
  bounds: Interval,
): Pick<Comparison, 'msprt' | 'alwaysValid'> {
  const entry = sequential[key];
  const tau2 = entry?.tau2 ?? proposedTau2;
  if (!(tau2 > 0) || !Number.isFinite(tau2)) return { msprt: null, alwaysValid: entry?.state ?? null };
  const raw = look(tau2);
  if (!Number.isFinite(raw.ci[0]) || !Number.isFinite(raw.ci[1])) {
    return { msprt: null, alwaysValid: entry?.state ?? null };
  }
  // The normal approximation can reach past what the difference can be (small samples): clip to
  // the possible range, which the true difference is always in, so coverage is kept.
  const current: MsprtLook = {
    ...raw,
    ci: [Math.max(bounds[0], raw.ci[0]), Math.min(bounds[1], raw.ci[1])],
  };
  const state = combineLooks(entry?.state, current);
  sequential[key] = { tau2, state };
  return { msprt: { tau2, pValue: current.pValue, ci: current.ci }, alwaysValid: state };
}
