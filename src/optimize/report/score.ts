import { perClassMetrics, weightedMetrics } from '../../train/metrics.js';
import type { TextPredictions } from './text-contract.js';

/** Weighted and per-class F1 with the training's definitions (train/metrics.ts), over the model's classes and the true labels. */
export function scoreF1(
  yTrue: readonly string[],
  predicted: TextPredictions,
  modelClasses: readonly string[],
): { weightedF1: number; perClassF1: Record<string, number> } {
  const classes = [...new Set([...modelClasses, ...yTrue])].sort();
  const per = perClassMetrics(yTrue, predicted.labels, classes);
  const perClassF1: Record<string, number> = {};
  for (const c of classes) perClassF1[c] = per[c]!.f1;
  return { weightedF1: weightedMetrics(yTrue, predicted.labels, classes).f1, perClassF1 };
}

/**
 * How close a variant's answers are to its parent's on the same rows: the share of equal top-1
 * labels, and the mean absolute difference of probabilities over the parent's classes (a class the
 * variant does not name counts as probability 0), null when either gives no probabilities.
 */
export function agreementWith(
  parent: TextPredictions,
  parentClasses: readonly string[],
  variant: TextPredictions,
): { top1: number; meanAbsProbabilityDiff: number | null } {
  const n = parent.labels.length;
  if (n === 0) return { top1: 0, meanAbsProbabilityDiff: null };
  const same = parent.labels.filter((label, i) => label === variant.labels[i]).length;
  let meanAbsProbabilityDiff: number | null = null;
  if (parent.probabilities !== null && variant.probabilities !== null && parentClasses.length > 0) {
    let sum = 0;
    parent.probabilities.forEach((row, i) => {
      const other = variant.probabilities![i]!;
      for (const c of parentClasses) sum += Math.abs(row[c]! - (other[c] ?? 0));
    });
    meanAbsProbabilityDiff = sum / (n * parentClasses.length);
  }
  return { top1: same / n, meanAbsProbabilityDiff };
}
