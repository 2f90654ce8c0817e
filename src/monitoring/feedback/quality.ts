import { perClassMetrics, weightedMetrics } from '../../train/metrics.js';
import type { FeedbackSource, LabeledPrediction, LabeledWindow } from '../feedback-types.js';

/** Quality of one model version on the labels its predictions received. */
export interface VersionQuality {
  version: number;
  /** Labels joined to this version's predictions. */
  labels: number;
  /** Of those, predictions without a top label (scores, several outputs): not in the figures below. */
  withoutPrediction: number;
  /** Labels compared with a predicted label: what accuracy and F1 are computed on. */
  compared: number;
  /** Share of compared labels the model got right; null when none was compared. */
  accuracy: number | null;
  /** scikit-learn's f1_score(average="weighted") over the classes seen; null when none was compared. */
  weightedF1: number | null;
  /** F1 and support (true labels) per class, over the classes in the labels and the predictions. */
  perClass: Record<string, { f1: number; support: number }>;
}

export interface QualityReport {
  /** Labels joined to a prediction (every version). */
  matched: number;
  /** Labels whose prediction is not known (yet). */
  unmatched: number;
  /** Versions in ascending order. */
  versions: VersionQuality[];
}

function versionQuality(version: number, rows: readonly LabeledPrediction[]): VersionQuality {
  const compared = rows.filter(
    (r): r is LabeledPrediction & { predicted: string } => r.predicted !== undefined,
  );
  const yTrue = compared.map((r) => r.label);
  const yPred = compared.map((r) => r.predicted);
  const out: VersionQuality = {
    version,
    labels: rows.length,
    withoutPrediction: rows.length - compared.length,
    compared: compared.length,
    accuracy: null,
    weightedF1: null,
    perClass: {},
  };
  if (compared.length === 0) return out;
  // As scikit-learn's unique_labels: every class in either list, sorted.
  const classes = [...new Set([...yTrue, ...yPred])].sort();
  out.accuracy = yTrue.filter((t, i) => t === yPred[i]).length / compared.length;
  out.weightedF1 = weightedMetrics(yTrue, yPred, classes).f1;
  for (const [c, m] of Object.entries(perClassMetrics(yTrue, yPred, classes)))
    out.perClass[c] = { f1: m.f1, support: m.num_samples };
  return out;
}

/** Accuracy, weighted F1 and per-class F1 per version of the labels in `window`. */
export function qualityOf(window: LabeledWindow): QualityReport {
  const byVersion = new Map<number, LabeledPrediction[]>();
  for (const m of window.matched) {
    let list = byVersion.get(m.version);
    if (list === undefined) {
      list = [];
      byVersion.set(m.version, list);
    }
    list.push(m);
  }
  return {
    matched: window.matched.length,
    unmatched: window.unmatched,
    versions: [...byVersion.keys()].sort((a, b) => a - b).map((v) => versionQuality(v, byVersion.get(v)!)),
  };
}

/** A rolling window of labels: by the time they were received, the last N received, or both. */
export interface RollingWindow {
  /** Labels received in the last `windowMs` before `now`. */
  windowMs?: number;
  /** At most the last `last` labels received (of the time window when both are given). */
  last?: number;
  version?: number;
  now?: Date;
}

/** The quality of `model` over a rolling window of labels, read from `source`. */
export async function rollingQuality(
  source: FeedbackSource,
  model: string,
  window: RollingWindow,
): Promise<QualityReport> {
  const now = window.now ?? new Date();
  const labeled = await source.labeled(model, {
    ...(window.windowMs !== undefined
      ? { since: new Date(now.getTime() - window.windowMs).toISOString() }
      : {}),
    until: new Date(now.getTime() + 1).toISOString(),
    ...(window.last !== undefined ? { last: window.last } : {}),
    ...(window.version !== undefined ? { version: window.version } : {}),
  });
  return qualityOf(labeled);
}
