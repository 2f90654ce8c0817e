/**
 * One bandit update of an experiment, from the store's aggregates, with src/experiments/bandits.
 *
 * Periods: period p covers [createdAt + p·updateEveryMs, createdAt + (p+1)·updateEveryMs). The
 * weights of period p ≥ 1 are computed once, by whichever replica first sees p begin (under the
 * experiment's lock, see ExperimentRouter.updateBandits), from the outcomes so far; every replica
 * then routes with them until p + 1. Within a period the weights do not change, so a unit's arm
 * (a pure function of seed, unit id and weights) does not either. At an update only units whose
 * hash left their arm's range move (with two arms exactly |Δw| of them); their exposure keeps the
 * first arm (intent-to-treat).
 *
 * Thompson draws use a PRNG seeded from the experiment's name and the period, so replaying an
 * update gives the same weights.
 */

import type { BanditArm } from './bandits/arms.js';
import { type BanditPolicy, type Reallocation, reallocate } from './bandits/reallocate.js';
import { probabilityBest } from './bandits/thompson.js';
import type { BanditSettings, Experiment, ExperimentAggregates } from './experiment-types.js';
import { fnv1a32 } from './hashing.js';

function banditPolicy(settings: BanditSettings): BanditPolicy {
  switch (settings.policy) {
    case 'ucb1':
      return settings.rewardRange !== undefined
        ? { kind: 'ucb1', rewardRange: settings.rewardRange }
        : { kind: 'ucb1' };
    case 'epsilon-greedy':
      return { kind: 'epsilon-greedy', epsilon: settings.epsilon ?? 0.1 };
    default:
      return { kind: 'thompson' };
  }
}

/** The reward metric's name (bandit.metric, else the first metric). */
export function rewardMetric(experiment: Experiment): string | undefined {
  return experiment.bandit?.metric ?? experiment.metrics[0]?.name;
}

/**
 * The bandit's view of the arms: for a binary reward, exposed units and converting units; for a
 * numeric one, the units with events with Σ and Σ² of their values.
 */
function banditArms(experiment: Experiment, aggregates: ExperimentAggregates): BanditArm[] {
  const metricName = rewardMetric(experiment);
  const metric = experiment.metrics.find((m) => m.name === metricName);
  return aggregates.arms.map((a) => {
    const m = metricName === undefined ? undefined : a.metrics[metricName];
    if (metric?.kind === 'numeric') {
      return {
        name: a.arm,
        units: m?.unitsWithEvents ?? 0,
        sum: m?.sum ?? 0,
        sumSq: m?.sumSq ?? 0,
        m2: m?.m2 ?? 0,
      };
    }
    return { name: a.arm, units: a.units, successes: Math.min(a.units, m?.conversions ?? 0) };
  });
}

/** The period `now` falls in (0 during the first updateEveryMs). */
export function banditPeriodAt(experiment: Experiment, now: Date): number {
  const every = experiment.bandit?.updateEveryMs;
  if (every === undefined || every <= 0) return 0;
  const elapsed = now.getTime() - Date.parse(experiment.createdAt);
  return elapsed <= 0 ? 0 : Math.floor(elapsed / every);
}

function banditSeed(name: string, period: number): number {
  return fnv1a32(`${name}#${period}`);
}

/** New weights for `period` (unchanged while an arm has fewer than minUnitsPerArm units). */
export function computeBanditUpdate(
  experiment: Experiment,
  aggregates: ExperimentAggregates,
  period: number,
): Reallocation & { arms: BanditArm[] } {
  const settings = experiment.bandit;
  if (settings === undefined) throw new Error(`experiment "${experiment.name}" is not a bandit`);
  const arms = banditArms(experiment, aggregates);
  if (!armsUsable(arms)) {
    // Aggregates the policies cannot use (not finite): keep the weights in force rather than fail
    // every later update; the analysis reports the metric's error.
    const weights = [...experiment.weights];
    return {
      weights,
      byArm: Object.fromEntries(arms.map((a, i) => [a.name, weights[i]!])),
      probabilityBest: arms.map(() => Number.NaN),
      updated: false,
      reason: 'unusable-aggregates',
      arms,
    };
  }
  const result = reallocate(arms, banditPolicy(settings), {
    floor: settings.floor,
    minUnitsPerArm: settings.minUnitsPerArm,
    seed: banditSeed(experiment.name, period),
    currentWeights: experiment.weights,
  });
  return { ...result, arms };
}

function armsUsable(arms: readonly BanditArm[]): boolean {
  return arms.every((a) =>
    'successes' in a
      ? Number.isFinite(a.successes)
      : Number.isFinite(a.sum) && Number.isFinite(a.sumSq) && Number.isFinite(a.m2 ?? 0),
  );
}

/** Each arm's probability of being best now (Thompson draws seeded by the name: replicas agree). */
export function currentProbabilityBest(experiment: Experiment, aggregates: ExperimentAggregates): number[] {
  const arms = banditArms(experiment, aggregates);
  if (!armsUsable(arms)) return arms.map(() => Number.NaN);
  return probabilityBest(arms, { seed: fnv1a32(experiment.name) });
}
