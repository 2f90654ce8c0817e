import type { ModelVersion } from './types.js';

/** `--min-train-rows`' default: fewer rows than this cannot make a useful tag classifier (the sample has 160). */
export const DEFAULT_MIN_TRAIN_ROWS = 100;

/** Candidate and current scored on the same labeled rows (never each on its own data). */
export interface PromotionComparison {
  /** What the rows are, for humans: "the validation split of <source>" or the --eval-loc source. */
  on: string;
  rows: number;
  /** Weighted F1 (scikit-learn's definition) of each model on those rows. */
  candidateF1: number;
  currentF1: number;
}

export interface PromotionInput {
  candidate: ModelVersion;
  /** What the alias points at now, or null. */
  current: ModelVersion | null;
  candidateClasses: readonly string[];
  /** The classes of the current version's model (empty when there is no current version). */
  currentClasses: readonly string[];
  /** Rows the candidate was trained on (its whole dataset). */
  trainRows: number;
  /** Null when there is nothing to compare (no current version, or forced). */
  comparison: PromotionComparison | null;
}

export interface PromotionOptions {
  force: boolean;
  alias: string;
  minTrainRows: number;
}

export interface PromotionDecision {
  promote: boolean;
  reason: string;
  /** The same-data comparison the decision rests on, when there was one. */
  comparison?: PromotionComparison;
}

/**
 * `--promote`'s gate, pure. In order: `force` promotes; a candidate trained on fewer than
 * `minTrainRows` rows is refused (a 6-row model can score 1.0 on its 2 validation rows); with no
 * current version the candidate is promoted; a candidate that lacks any class the current version
 * predicts is refused (it would silently stop answering that class); otherwise the candidate must
 * be at least as good as the current version on the same rows.
 */
export function decidePromotion(input: PromotionInput, opts: PromotionOptions): PromotionDecision {
  const { candidate, current } = input;
  const ref = `${candidate.name}/${candidate.version}`;
  if (opts.force) return { promote: true, reason: `forced: ${ref} becomes ${opts.alias}` };
  if (input.trainRows < opts.minTrainRows) {
    return {
      promote: false,
      reason: `${ref} was trained on ${input.trainRows} rows, fewer than the minimum of ${opts.minTrainRows} (--min-train-rows); use --force to promote anyway`,
    };
  }
  if (!current)
    return { promote: true, reason: `no ${opts.alias} version yet: ${ref} becomes ${opts.alias}` };
  const currentRef = `${current.name}/${current.version}`;
  const known = new Set(input.candidateClasses);
  const missing = input.currentClasses.filter((c) => !known.has(c));
  if (missing.length > 0) {
    return {
      promote: false,
      reason: `${ref} does not know ${missing.length === 1 ? 'the class' : 'the classes'} ${missing.join(', ')} that ${currentRef} (${opts.alias}) predicts; use --force to promote anyway`,
    };
  }
  const cmp = input.comparison;
  if (!cmp) {
    // Only reachable when a caller skips the evaluation: refuse rather than compare unlike numbers.
    return { promote: false, reason: `${ref} was not compared with ${currentRef} on the same data` };
  }
  const scores = `weighted F1 ${cmp.candidateF1.toFixed(4)} vs ${cmp.currentF1.toFixed(4)} of ${currentRef}, both on ${cmp.on} (${cmp.rows} rows)`;
  return cmp.candidateF1 >= cmp.currentF1
    ? { promote: true, reason: `${ref} is at least as good (${scores})`, comparison: cmp }
    : {
        promote: false,
        reason: `${ref} is worse than the current ${opts.alias} (${scores}); use --force to promote anyway`,
        comparison: cmp,
      };
}
