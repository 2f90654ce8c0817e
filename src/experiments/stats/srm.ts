/**
 * Sample-ratio mismatch: Pearson's chi-square goodness of fit of the observed unit counts per arm
 * against the configured weights, X² = Σ (oᵢ − eᵢ)²/eᵢ with eᵢ = N·wᵢ/Σw and k − 1 degrees of
 * freedom (as scipy.stats.chisquare). A split this far off by chance is rare, so p < 0.001 means
 * assignment, logging or filtering is broken and the experiment's results cannot be trusted.
 */
import { ErrorCode, FerryError } from '../../core/errors.js';
import { chiSquareSf } from './distributions.js';
import { requireCount, requireNonNegative } from './validate.js';

const SRM_THRESHOLD = 0.001;

export interface SrmResult {
  chiSquare: number;
  df: number;
  pValue: number;
  /** True when pValue < threshold. */
  mismatch: boolean;
  expected: number[];
}

export function sampleRatioMismatch(
  observed: readonly number[],
  weights: readonly number[],
  opts: { threshold?: number } = {},
): SrmResult {
  const threshold = opts.threshold ?? SRM_THRESHOLD;
  if (observed.length !== weights.length || observed.length < 2) {
    throw new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, 'need one count per weight, two or more', {
      details: { observed, weights },
    });
  }
  for (let i = 0; i < observed.length; i++) {
    requireCount(`observed[${i}]`, observed[i]!);
    requireNonNegative(`weights[${i}]`, weights[i]!);
  }
  const total = observed.reduce((s, o) => s + o, 0);
  const weightSum = weights.reduce((s, w) => s + w, 0);
  if (!(weightSum > 0)) {
    throw new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, 'weights must not all be zero', {
      details: { weights },
    });
  }
  const expected = weights.map((w) => (total * w) / weightSum);
  if (total === 0) return { chiSquare: 0, df: weights.length - 1, pValue: 1, mismatch: false, expected };
  let chiSquare = 0;
  let cells = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    const o = observed[i]!;
    if (e === 0) {
      // Units in an arm that should get none: certain mismatch. Empty zero-weight arms add nothing.
      if (o > 0) chiSquare = Number.POSITIVE_INFINITY;
      continue;
    }
    cells++;
    chiSquare += ((o - e) * (o - e)) / e;
  }
  const df = Math.max(1, cells - 1);
  const pValue = Number.isFinite(chiSquare) ? chiSquareSf(chiSquare, df) : 0;
  return { chiSquare, df, pValue, mismatch: pValue < threshold, expected };
}
