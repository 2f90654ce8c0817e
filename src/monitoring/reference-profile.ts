/**
 * What a model version's data looked like when it was registered: the reference a drift report
 * compares a window of the prediction log with. Stored per version (migration store
 * `reference-profiles`), built from the validation split by `ferry train`/`ferry retrain`, from a
 * data file by `ferry monitor profile`, for any model kind.
 *
 * Features are named the same way on both sides, by one extractor of a logged item
 * (`monitoring/profile/observe.ts`): for a text model `text_length` and `token_count`; for a tensor
 * model one numeric feature per input column (`pixels[3]`) and one categorical per BYTES input; the
 * outputs of a classifier as `predicted_label` (categorical) and `confidence` (numeric).
 */

/** Values kept per numeric feature: enough for KS and Wasserstein at Evidently's sizes, small as JSON. */
export const PROFILE_SAMPLE_SIZE = 5000;
/** Categories kept per categorical feature; the rest are counted under OTHER_CATEGORY. */
export const MAX_CATEGORIES = 200;
export const OTHER_CATEGORY = '__other__';
/** Texts kept for the domain classifier. */
export const TEXT_SAMPLE_SIZE = 2000;

export interface NumericSummary {
  readonly type: 'numeric';
  /** Finite values seen (the sample may hold fewer). */
  readonly count: number;
  /** Values seen that were missing or not finite. */
  readonly missing: number;
  /** A uniform (seeded reservoir) sample of at most PROFILE_SAMPLE_SIZE values, ascending. */
  readonly sample: readonly number[];
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
}

export interface CategoricalSummary {
  readonly type: 'categorical';
  readonly count: number;
  readonly missing: number;
  /** Count per category; beyond MAX_CATEGORIES the rarest are summed under OTHER_CATEGORY. */
  readonly counts: Readonly<Record<string, number>>;
}

export type FeatureSummary = NumericSummary | CategoricalSummary;

export interface TextSummary {
  /** Up to TEXT_SAMPLE_SIZE texts (title and description joined), for the domain classifier. */
  readonly sample: readonly string[];
  /** The tokens the model was trained on, most frequent first (what "out of vocabulary" means). */
  readonly vocabulary: readonly string[];
  /** Share of the reference rows' tokens outside the vocabulary. */
  readonly oovRate: number;
}

export interface ReferenceProfile {
  readonly schema: 1;
  readonly model: string;
  readonly version: number;
  readonly createdAt: string;
  /** What it was built from, for humans: "the validation split of data/dataset.csv". */
  readonly source: string;
  readonly rows: number;
  readonly features: Readonly<Record<string, FeatureSummary>>;
  readonly outputs: Readonly<Record<string, FeatureSummary>>;
  /** The true labels of the rows, when they were labeled. */
  readonly labels?: CategoricalSummary;
  readonly text?: TextSummary;
}
