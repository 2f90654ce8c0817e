import { ErrorCode, isFerryError } from '../core/errors.js';
import type { TextModel } from '../model/model.js';
import { textSignature } from '../model/text-tensors.js';
import { loadTextModel } from '../registry/load-model.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import {
  DEFAULT_MIN_TRAIN_ROWS,
  decidePromotion,
  type PromotionComparison,
  type PromotionDecision,
} from '../registry/promotion.js';
import type { ModelVersion } from '../registry/types.js';
import type { LabeledProject } from './dataset.js';
import { weightedMetrics } from './metrics.js';
import type { TrainOutcome } from './pipeline.js';

export interface RegisterOptions {
  name: string;
  promote: boolean;
  force: boolean;
  alias: string;
  gitCommit: string | null;
  /**
   * Labeled rows to score the candidate (the registered model) and the current version on
   * (`--eval-loc`). Default: the candidate's validation split, scored with its train-part model.
   */
  evalSet?: { source: string; rows: readonly LabeledProject[] };
  /** A candidate trained on fewer rows is not promoted (default DEFAULT_MIN_TRAIN_ROWS). */
  minTrainRows?: number;
}

export interface Registered {
  version: ModelVersion;
  promotion: PromotionDecision | null;
}

/** Registers a trained model as a new version and, when asked, moves the alias if it passes the gate. */
export async function registerTrained(
  registry: ModelRegistry,
  outcome: TrainOutcome,
  opts: RegisterOptions,
): Promise<Registered> {
  const version = await registry.register(opts.name, outcome.model.toArtifact(), {
    kind: outcome.model.kind,
    signature: textSignature(outcome.model.classes),
    params: { ...outcome.params },
    metrics: outcome.metrics,
    dataset: { ...outcome.dataset },
    tags: { trainer: 'ferry train' },
    gitCommit: opts.gitCommit,
  });
  if (!opts.promote) return { version, promotion: null };
  const current = await registry.resolve(`${opts.name}@${opts.alias}`).catch((e: unknown) => {
    if (isFerryError(e, ErrorCode.REGISTRY_NOT_FOUND)) return null;
    throw e;
  });
  // The current version's model is loaded (checksum-verified) only when the gate needs it.
  const currentModel =
    current && !opts.force
      ? (await loadTextModel(registry, `${current.name}/${current.version}`)).model
      : null;
  const comparison =
    current && currentModel ? compareOnSameRows(outcome, current, currentModel, opts.evalSet) : null;
  const decision = decidePromotion(
    {
      candidate: version,
      current,
      candidateClasses: outcome.model.classes,
      currentClasses: currentModel?.classes ?? [],
      trainRows: outcome.dataset.rows,
      comparison,
    },
    { force: opts.force, alias: opts.alias, minTrainRows: opts.minTrainRows ?? DEFAULT_MIN_TRAIN_ROWS },
  );
  // The comparison is reported even when another rule decided, so the user sees both scores.
  const promotion: PromotionDecision = comparison ? { ...decision, comparison } : decision;
  if (promotion.promote) await registry.setAlias(opts.name, opts.alias, version.version, promotion.reason);
  return {
    version: {
      ...version,
      aliases: promotion.promote ? [...version.aliases, opts.alias].sort() : version.aliases,
    },
    promotion,
  };
}

/**
 * Scores the candidate and the current model on one set of rows. On the validation split the
 * candidate is its train-part model (the registered one was refit on those rows). When the current
 * version was trained on the same file with the same split, its stored val_f1 was measured the same
 * way on the same rows, and is used: its registered model saw those rows, so scoring it again would
 * favour it. Otherwise it is scored on the candidate's validation rows (which it may have seen if
 * its data overlaps: the gate is then stricter; `--eval-loc` gives both unseen data).
 */
function compareOnSameRows(
  outcome: TrainOutcome,
  currentVersion: ModelVersion,
  current: TextModel,
  evalSet: RegisterOptions['evalSet'],
): PromotionComparison {
  const stored = currentVersion.metrics.val_f1;
  const theirs = currentVersion.dataset;
  if (
    !evalSet &&
    typeof stored === 'number' &&
    theirs.sha256 === outcome.dataset.sha256 &&
    theirs.seed === outcome.dataset.seed &&
    theirs.validationFraction === outcome.dataset.validationFraction
  ) {
    return {
      on: `the validation split of ${outcome.dataset.source} (the split ${currentVersion.name}/${currentVersion.version} was measured on)`,
      rows: outcome.heldOut.rows.length,
      candidateF1: outcome.validation.overall.f1,
      currentF1: stored,
    };
  }
  const rows = evalSet?.rows ?? outcome.heldOut.rows;
  const candidate: TextModel = evalSet ? outcome.model : outcome.heldOut.model;
  const yTrue = rows.map((r) => r.tag);
  const classes = [...new Set([...candidate.classes, ...current.classes, ...yTrue])].sort();
  const f1 = (m: TextModel) =>
    weightedMetrics(
      yTrue,
      m.predictBatch(rows).map((p) => p.prediction),
      classes,
    ).f1;
  return {
    on: evalSet ? evalSet.source : `the validation split of ${outcome.dataset.source}`,
    rows: rows.length,
    candidateF1: f1(candidate),
    currentF1: f1(current),
  };
}
