import { isTextLogItem, type LoggedTensor, type PredictionLogItem } from '../../ports/prediction-log-sink.js';

const FLOAT_TYPES = new Set(['FP16', 'FP32', 'FP64']);
const PROBABILITY_NAMES = /^(probabilities|probs?|scores?|confidences?|output_probability)$/i;

function probabilitiesOf(t: LoggedTensor): number[] | undefined {
  if (!FLOAT_TYPES.has(t.datatype) || t.data.length === 0) return undefined;
  const values: number[] = [];
  for (const v of t.data) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) return undefined;
    values.push(v);
  }
  return values;
}

/**
 * The confidence of a logged prediction: the top class's probability. For a text item, the highest
 * of its probabilities; for a tensor item, the highest value of its probability output (one named
 * like `probabilities`, else the first floating-point output whose values all lie in [0, 1]; a single
 * value p, a binary classifier's, gives max(p, 1 − p)). Undefined when the item has none (a
 * regressor), or its values are not finite: such an item feeds no detector.
 */
export function confidenceOf(item: PredictionLogItem): number | undefined {
  if (isTextLogItem(item)) {
    let top = Number.NEGATIVE_INFINITY;
    for (const p of Object.values(item.probabilities)) if (typeof p === 'number' && p > top) top = p;
    return Number.isFinite(top) ? top : undefined;
  }
  const outputs = Object.entries(item.outputs);
  const named = outputs.find(([name]) => PROBABILITY_NAMES.test(name));
  const candidates = named ? [named] : outputs;
  for (const [, tensor] of candidates) {
    const values = probabilitiesOf(tensor);
    if (values === undefined) continue;
    if (values.length === 1) return Math.max(values[0]!, 1 - values[0]!);
    return Math.max(...values);
  }
  return undefined;
}
