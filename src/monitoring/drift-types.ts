import type { FeatureSummary } from './reference-profile.js';

/**
 * The statistics a drift report uses, with Evidently's defaults (`monitoring/stats/column-drift.ts`
 * picks one per column when none is given):
 * - numeric, reference of at most 1000 values: two-sample Kolmogorov–Smirnov, drift when p < 0.05;
 *   more: Wasserstein distance normalised by the reference's standard deviation, drift when ≥ 0.1;
 * - categorical, at most 1000: chi-square (two categories: the proportions' z-test), p < 0.05;
 *   more: Jensen–Shannon distance (base 2), drift when ≥ 0.1;
 * - text: a domain classifier's ROC AUC (reference vs current), drift when above the threshold a
 *   random classifier rarely reaches (for small samples, a permutation bound; else 0.55);
 * - PSI is computed for every column beside its method, for those who alert on it (0.1 / 0.25).
 */
export type DriftMethod =
  | 'ks'
  | 'wasserstein'
  | 'chi-square'
  | 'z-test'
  | 'jensen-shannon'
  | 'psi'
  | 'domain-classifier';

/** Tests' scores are p-values (drift below the threshold); the others' are distances (drift at or above). */
export const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set(['ks', 'chi-square', 'z-test']);

export interface ColumnDriftOptions {
  /** Force a method; default by type and reference size as above. */
  readonly method?: DriftMethod;
  /** Default per method: 0.05 for p-values, 0.1 for distances and PSI. */
  readonly threshold?: number;
}

export interface ColumnDrift {
  readonly method: DriftMethod;
  readonly score: number;
  readonly threshold: number;
  readonly drifted: boolean;
  readonly referenceCount: number;
  readonly currentCount: number;
  /** Population stability index over the reference's deciles (numeric) or categories. */
  readonly psi: number;
  /**
   * Set when either side has no values (a window with no traffic for this column): nothing was
   * compared, `drifted` is false, `score` is the no-drift value (1 for p-values, 0 for distances)
   * and `psi` 0. Show it as "no data", not as a score.
   */
  readonly noData?: true;
}

export interface TextDrift {
  readonly method: 'domain-classifier';
  /** ROC AUC of a classifier telling current texts from reference texts on held-out rows. */
  readonly rocAuc: number;
  readonly threshold: number;
  readonly drifted: boolean;
  /** Words that most mark current texts (what changed), most telling first. */
  readonly topTerms: readonly string[];
  readonly referenceCount: number;
  readonly currentCount: number;
  /** Set when either side has no texts: nothing was compared, rocAuc is 0.5 and drifted false. */
  readonly noData?: true;
}

/** The signature `monitoring/stats/column-drift.ts` implements. */
export type ColumnDriftFn = (
  reference: FeatureSummary,
  current: FeatureSummary,
  opts?: ColumnDriftOptions,
) => ColumnDrift;

/** The signature `monitoring/stats/domain-classifier.ts` implements (seeded: same inputs, same result). */
export type TextDriftFn = (
  reference: readonly string[],
  current: readonly string[],
  opts?: { readonly seed?: number; readonly threshold?: number },
) => TextDrift;
