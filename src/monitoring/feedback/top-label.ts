import type { LoggedTensor, PredictionLogItem } from '../../ports/prediction-log-sink.js';
import { isTextLogItem } from '../../ports/prediction-log-sink.js';
import type { StoredPrediction, StoredTensor } from '../../ports/prediction-store.js';

/**
 * The one label an output tensor names: a single string element (a classifier's `label` output,
 * `[]` or `[1]`). Anything else (scores, several labels, numbers) has no top label: feedback on it
 * is counted apart rather than compared with a guess.
 */
function labelOf(t: LoggedTensor | StoredTensor | undefined): string | undefined {
  if (t === undefined || !Array.isArray(t.data) || t.data.length !== 1) return undefined;
  const v: unknown = t.data[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function outputsLabel(outputs: Readonly<Record<string, LoggedTensor | StoredTensor>>): string | undefined {
  if (outputs.label !== undefined) return labelOf(outputs.label);
  const all = Object.values(outputs);
  return all.length === 1 ? labelOf(all[0]) : undefined;
}

/** What the model answered for a logged item, when its output names one label. */
export function topLabel(item: PredictionLogItem): string | undefined {
  if (isTextLogItem(item)) return item.prediction === '' ? undefined : item.prediction;
  return outputsLabel(item.outputs);
}

/** What a stored (batch) prediction answered, when it names one label. */
export function storedTopLabel(p: StoredPrediction): string | undefined {
  if (p.prediction !== undefined && p.prediction !== '') return p.prediction;
  return outputsLabel(p.outputs);
}
