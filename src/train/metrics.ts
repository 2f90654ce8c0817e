/** Classification metrics with scikit-learn's definitions (zero_division = 0). */
export interface PrfMetrics {
  precision: number;
  recall: number;
  f1: number;
  num_samples: number;
}

function prf(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Per-class metrics; `num_samples` is the class's support in y_true. */
export function perClassMetrics(
  yTrue: readonly string[],
  yPred: readonly string[],
  classes: readonly string[],
): Record<string, PrfMetrics> {
  const out: Record<string, PrfMetrics> = {};
  for (const c of classes) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    yTrue.forEach((t, i) => {
      const p = yPred[i];
      if (t === c && p === c) tp++;
      else if (p === c) fp++;
      else if (t === c) fn++;
    });
    out[c] = { ...prf(tp, fp, fn), num_samples: tp + fn };
  }
  return out;
}

/** Support-weighted average of the per-class metrics, as `average="weighted"`. */
export function weightedMetrics(
  yTrue: readonly string[],
  yPred: readonly string[],
  classes: readonly string[],
): PrfMetrics {
  const per = perClassMetrics(yTrue, yPred, classes);
  const total = yTrue.length;
  const acc = { precision: 0, recall: 0, f1: 0 };
  for (const m of Object.values(per)) {
    acc.precision += (m.precision * m.num_samples) / total;
    acc.recall += (m.recall * m.num_samples) / total;
    acc.f1 += (m.f1 * m.num_samples) / total;
  }
  return { ...acc, num_samples: total };
}

/** Micro-averaged metrics, as the course reports for slices (single-label: all equal accuracy). */
export function microMetrics(yTrue: readonly string[], yPred: readonly string[]): PrfMetrics {
  const correct = yTrue.filter((t, i) => t === yPred[i]).length;
  const n = yTrue.length;
  const v = n === 0 ? 0 : correct / n;
  return { precision: v, recall: v, f1: v, num_samples: n };
}
