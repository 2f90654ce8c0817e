import { sha256Hex } from '../../core/hash.js';
import type { LabeledPrediction } from '../../monitoring/feedback-types.js';
import { isTextLogItem } from '../../ports/prediction-log-sink.js';
import type { Dataset, LabeledProject } from '../../train/dataset.js';

/** How the labeled feedback was folded into the dataset, for the run's record. */
export interface FeedbackUse {
  /** Labeled predictions read. */
  readonly read: number;
  /** Rows added to the dataset. */
  readonly added: number;
  /** Same text as a dataset row: the dataset's row is kept (it is curated), the feedback dropped. */
  readonly duplicatesOfDataset: number;
  /** Of those, how many gave another label than the dataset's (worth a human look). */
  readonly conflictsWithDataset: number;
  /** The same text labeled more than once: the newest label is kept. */
  readonly repeated: number;
  /** Labels that are no class of the dataset: left out (see combineRows). */
  readonly unknownLabels: Readonly<Record<string, number>>;
  /** Items of other model kinds (tensors), which the text classifier cannot learn from. */
  readonly notText: number;
}

/** The text a row is identified by: case, spacing and the title/description cut do not matter. */
function textKey(title: string, description: string): string {
  return `${title} ${description}`.toLowerCase().replace(/\s+/gu, ' ').trim();
}

/**
 * The dataset plus the labeled feedback, as one dataset to split and train on.
 *
 * - Text items become {title, description, tag}; tensor items are counted and skipped.
 * - A feedback row whose text is a dataset row's is dropped: the dataset is curated, and a row in
 *   both would be in the training and the evaluation part at once. A differing label is counted.
 * - The same text labeled twice: the newest prediction's label wins (one row, no contradiction).
 * - A label no dataset row has is left out and counted: a class with a handful of rows cannot be
 *   learned nor measured (a stratified split needs two rows of it, the gate a meaningful F1), and
 *   a candidate that suddenly predicts a new class would reach production unmeasured. Feedback only
 *   accepts the served model's classes, so this happens when the dataset dropped a class; the fix is
 *   to add that class's rows to the dataset, which the record points at.
 */
export function combineRows(
  data: Dataset,
  feedback: readonly LabeledPrediction[],
): { dataset: Dataset; use: FeedbackUse } {
  const classes = new Set(data.rows.map((r) => r.tag));
  const inDataset = new Map<string, string>();
  for (const r of data.rows) inDataset.set(textKey(r.title, r.description), r.tag);
  const unknownLabels: Record<string, number> = {};
  let notText = 0;
  let duplicatesOfDataset = 0;
  let conflictsWithDataset = 0;
  let repeated = 0;
  const added = new Map<string, { row: LabeledProject; at: string }>();
  for (const f of feedback) {
    if (!isTextLogItem(f.logged)) {
      notText++;
      continue;
    }
    const { title, description } = f.logged;
    const key = textKey(title, description);
    const known = inDataset.get(key);
    if (known !== undefined) {
      duplicatesOfDataset++;
      if (known !== f.label) conflictsWithDataset++;
      continue;
    }
    if (!classes.has(f.label)) {
      unknownLabels[f.label] = (unknownLabels[f.label] ?? 0) + 1;
      continue;
    }
    const before = added.get(key);
    if (before) {
      repeated++;
      if (before.at > f.at) continue;
    }
    added.set(key, {
      row: { id: `feedback:${f.requestId}:${f.item}`, title, description, tag: f.label, line: 0 },
      at: f.at,
    });
  }
  // Sorted by id so the combined rows (and so the seeded split) do not depend on the read order.
  const extra = [...added.values()]
    .map((a) => a.row)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rows = [...data.rows, ...extra];
  const sha256 =
    extra.length === 0
      ? data.sha256
      : sha256Hex(JSON.stringify([data.sha256, extra.map((r) => [r.title, r.description, r.tag])]));
  return {
    dataset: {
      source: extra.length === 0 ? data.source : `${data.source} + ${extra.length} labeled feedback rows`,
      sha256,
      rows,
    },
    use: {
      read: feedback.length,
      added: extra.length,
      duplicatesOfDataset,
      conflictsWithDataset,
      repeated,
      unknownLabels,
      notText,
    },
  };
}
