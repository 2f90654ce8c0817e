/**
 * The comparison at the heart of a canary step: the canary's window against production's, metric by metric,
 * each against its threshold. Pure, so every replica given the same figures reaches the same verdict.
 */
import type { NormalizedCanaryConfig } from './canary-config.js';
import { jensenShannonDivergence } from './distribution-distance.js';
import type { RequestStatsSnapshot } from './request-stats.js';

export type CanaryMetric = 'error_rate' | 'p99_latency' | 'distribution' | 'outcome';

/** One threshold crossed, with the values that crossed it. */
export interface Breach {
  metric: CanaryMetric;
  canary: number;
  production: number;
  /** The compared figure: the increase, the ratio or the divergence. */
  value: number;
  threshold: number;
  message: string;
}

export interface Analysis {
  breaches: Breach[];
  /** The figures of every metric that could be measured, for the history's reasons. */
  summary: string;
}

/** Both snapshots must have requests (the controller's minimums guarantee it). */
export function analyzeCanary(
  canary: RequestStatsSnapshot,
  production: RequestStatsSnapshot,
  thresholds: NormalizedCanaryConfig['thresholds'],
): Analysis {
  const breaches: Breach[] = [];
  const figures: string[] = [];

  const canaryErrors = canary.errors / canary.requests;
  const productionErrors = production.errors / production.requests;
  const increase = canaryErrors - productionErrors;
  figures.push(`error rate ${fmt(canaryErrors)} vs ${fmt(productionErrors)}`);
  if (increase > thresholds.maxErrorRateIncrease) {
    breaches.push({
      metric: 'error_rate',
      canary: canaryErrors,
      production: productionErrors,
      value: increase,
      threshold: thresholds.maxErrorRateIncrease,
      message:
        `error rate ${fmt(canaryErrors)} on the canary vs ${fmt(productionErrors)} on production: ` +
        `an increase of ${fmt(increase)} > max ${fmt(thresholds.maxErrorRateIncrease)}`,
    });
  }

  const canaryP99 = canary.latency.p99;
  const productionP99 = production.latency.p99;
  if (canaryP99 !== null && productionP99 !== null) {
    const ratio =
      productionP99 > 0 ? canaryP99 / productionP99 : canaryP99 > 0 ? Number.POSITIVE_INFINITY : 1;
    figures.push(`p99 ${ms(canaryP99)} vs ${ms(productionP99)}`);
    if (ratio > thresholds.maxP99Ratio && canaryP99 - productionP99 > thresholds.minP99IncreaseMs) {
      breaches.push({
        metric: 'p99_latency',
        canary: canaryP99,
        production: productionP99,
        value: ratio,
        threshold: thresholds.maxP99Ratio,
        message:
          `p99 latency ${ms(canaryP99)} on the canary vs ${ms(productionP99)} on production: ` +
          `a ratio of ${fmt(ratio)} > max ${fmt(thresholds.maxP99Ratio)}`,
      });
    }
  }

  // An arm with no labels (every request failed) has no distribution; the error rate speaks for it.
  if (hasCounts(canary.labelCounts) && hasCounts(production.labelCounts)) {
    const divergence = jensenShannonDivergence(canary.labelCounts, production.labelCounts);
    figures.push(`JS divergence ${fmt(divergence)}`);
    if (divergence > thresholds.maxDistributionDistance) {
      breaches.push({
        metric: 'distribution',
        canary: divergence,
        production: 0,
        value: divergence,
        threshold: thresholds.maxDistributionDistance,
        message:
          `prediction distribution: a Jensen–Shannon divergence of ${fmt(divergence)} ` +
          `from production's > max ${fmt(thresholds.maxDistributionDistance)}`,
      });
    }
  }

  const minOutcomeRatio = thresholds.minOutcomeRatio;
  const canaryRate = outcomeRate(canary, thresholds.minOutcomeUnits);
  const productionRate = outcomeRate(production, thresholds.minOutcomeUnits);
  if (minOutcomeRatio !== undefined && canaryRate !== null && productionRate !== null) {
    // Against a production rate of 0 the canary cannot do worse, so the ratio passes.
    const ratio = productionRate > 0 ? canaryRate / productionRate : 1;
    figures.push(`outcome rate ${fmt(canaryRate)} vs ${fmt(productionRate)}`);
    if (ratio < minOutcomeRatio) {
      breaches.push({
        metric: 'outcome',
        canary: canaryRate,
        production: productionRate,
        value: ratio,
        threshold: minOutcomeRatio,
        message:
          `outcome rate ${fmt(canaryRate)} on the canary vs ${fmt(productionRate)} on production: ` +
          `a ratio of ${fmt(ratio)} < min ${fmt(minOutcomeRatio)}`,
      });
    }
  }

  return { breaches, summary: figures.join(', ') };
}

export function outcomeUnits(s: RequestStatsSnapshot): number {
  return s.outcomes?.units ?? 0;
}

/** Null below `minUnits`: one unlucky unit must not decide a release. */
function outcomeRate(s: RequestStatsSnapshot, minUnits: number): number | null {
  const units = outcomeUnits(s);
  return units >= Math.max(1, minUnits) ? (s.outcomes?.successes ?? 0) / units : null;
}

function hasCounts(counts: Readonly<Record<string, number>>): boolean {
  return Object.values(counts).some((n) => n > 0);
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}

function ms(x: number): string {
  return `${x.toFixed(2)} ms`;
}
