import { weightedMetrics } from '../../train/metrics.js';

/**
 * The last N labels with what each model answered before the label was learned (progressive
 * validation: the learner predicts an example, then learns it, so every prediction is on unseen
 * data). Besides the learner, the window keeps the answers of the versions the guardrails compare
 * it with (production, and after a promotion the version production had before), each tagged with
 * its version, so that two models are only ever compared on the SAME labels.
 */
export interface WindowEntry {
  readonly label: string;
  /** The learner's answer; null while it knew no class. */
  readonly learner: string | null;
  /** Answers of registry versions: [version, label]. */
  readonly versions: ReadonlyArray<readonly [number, string]>;
}

export interface WindowFigures {
  readonly labels: number;
  readonly accuracy: number;
  readonly weightedF1: number;
}

export class ProgressiveWindow {
  private entries: WindowEntry[] = [];

  constructor(readonly size: number) {}

  push(entry: WindowEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.size) this.entries.splice(0, this.entries.length - this.size);
  }

  get length(): number {
    return this.entries.length;
  }

  toJSON(): WindowEntry[] {
    return this.entries;
  }

  static fromJSON(size: number, entries: readonly WindowEntry[]): ProgressiveWindow {
    const w = new ProgressiveWindow(size);
    for (const e of entries) w.push(e);
    return w;
  }

  /** The learner's figures over the whole window. */
  learnerFigures(): WindowFigures {
    return figures(
      this.entries.map((e) => e.label),
      this.entries.map((e) => e.learner ?? ''),
    );
  }

  /**
   * The learner against `version` (and `other` when given) on the labels every one of them
   * answered: the same labels for all, as the guardrails require.
   */
  compare(
    version: number,
    other?: number,
  ): { learner: WindowFigures; version: WindowFigures; other?: WindowFigures } {
    const rows = this.entries.filter(
      (e) => answerOf(e, version) !== undefined && (other === undefined || answerOf(e, other) !== undefined),
    );
    const truth = rows.map((e) => e.label);
    return {
      learner: figures(
        truth,
        rows.map((e) => e.learner ?? ''),
      ),
      version: figures(
        truth,
        rows.map((e) => answerOf(e, version)!),
      ),
      ...(other !== undefined
        ? {
            other: figures(
              truth,
              rows.map((e) => answerOf(e, other)!),
            ),
          }
        : {}),
    };
  }
}

function answerOf(e: WindowEntry, version: number): string | undefined {
  for (const [v, label] of e.versions) if (v === version) return label;
  return undefined;
}

/** Accuracy and scikit-learn's weighted F1 (over the classes of the true labels and the answers). */
export function figures(truth: readonly string[], answers: readonly string[]): WindowFigures {
  if (truth.length === 0) return { labels: 0, accuracy: 0, weightedF1: 0 };
  const classes = [...new Set([...truth, ...answers])].sort();
  let correct = 0;
  truth.forEach((t, i) => {
    if (answers[i] === t) correct++;
  });
  return {
    labels: truth.length,
    accuracy: correct / truth.length,
    weightedF1: weightedMetrics(truth, answers, classes).f1,
  };
}
