import { isTextModel, type Model, type TextInput } from '../../model/model.js';
import { inferRows } from '../../model/rows.js';
import type { NamedTensors } from '../../model/tensor.js';
import { projectText, tokenize } from '../../model/text/clean.js';
import { predictionOfRow, textInputsOf, textRow } from '../../model/text-tensors.js';
import type { PredictionLogItem } from '../../ports/prediction-log-sink.js';
import type { ReferenceProfile } from '../reference-profile.js';
import { labelSummary, ObservationAccumulator } from './accumulate.js';
import { isClassifier, observe } from './observe.js';

/** Tokens kept as the vocabulary, most frequent first: the course's data has a few thousand. */
const MAX_VOCABULARY = 50_000;
/** Rows run through the model per call. */
const CHUNK = 256;
const DEFAULT_PROFILE_SEED = 42;

export interface BuildProfileOptions {
  readonly model: Model;
  readonly name: string;
  readonly version: number;
  /** The rows (model inputs, one item each as serving cuts them), in batches: a file is streamed. */
  readonly rows: Iterable<readonly NamedTensors[]> | AsyncIterable<readonly NamedTensors[]>;
  /** For humans: "the validation split of data/dataset.csv". */
  readonly source: string;
  /** The rows' true labels, in row order, when they are labeled. */
  readonly labels?: readonly string[];
  /** Text models: the tokens the model was trained on (see `vocabularyOf`). */
  readonly vocabulary?: readonly string[];
  readonly seed?: number;
  readonly now?: Date;
}

/**
 * A reference profile for any model kind: the rows are run through the model, each answer shaped as
 * the prediction log would keep it, and summarised through the same extractor as a window of the log.
 */
export async function buildProfile(opts: BuildProfileOptions): Promise<ReferenceProfile> {
  const { model } = opts;
  const vocabulary = opts.vocabulary === undefined ? undefined : new Set(opts.vocabulary);
  const acc = new ObservationAccumulator({
    seed: opts.seed ?? DEFAULT_PROFILE_SEED,
    ...(vocabulary !== undefined ? { vocabulary } : {}),
  });
  const classifier = isClassifier(model);
  let rows = 0;
  for await (const batch of opts.rows) {
    for (let start = 0; start < batch.length; start += CHUNK) {
      const chunk = batch.slice(start, start + CHUNK);
      const outputs = await inferRows(model, chunk);
      for (const [i, input] of chunk.entries()) {
        acc.add(observe(loggedItem(model, input, outputs[i]!), { classifier }));
      }
      rows += chunk.length;
    }
  }
  return profileOf(acc, rows, opts);
}

/** The profile's fields around what the accumulator summarised. */
function profileOf(
  acc: ObservationAccumulator,
  rows: number,
  opts: Omit<BuildProfileOptions, 'model' | 'rows'>,
): ReferenceProfile {
  const result = acc.result();
  return {
    schema: 1,
    model: opts.name,
    version: opts.version,
    createdAt: (opts.now ?? new Date()).toISOString(),
    source: opts.source,
    rows,
    features: result.features,
    outputs: result.outputs,
    ...(opts.labels !== undefined && opts.labels.length > 0 ? { labels: labelSummary(opts.labels) } : {}),
    ...(result.text !== undefined
      ? {
          text: {
            sample: result.text.sample,
            vocabulary: opts.vocabulary ?? [],
            oovRate: result.text.oovRate ?? 0,
          },
        }
      : {}),
  };
}

/**
 * A classifier's reference profile from answers it already gave, shaped as the log keeps them: the
 * online learner's progressive answers (each given before the example was learned, as live traffic
 * is answered), where running the model again on learned rows would overstate its confidence.
 */
export function profileFromLoggedItems(
  items: readonly PredictionLogItem[],
  opts: Omit<BuildProfileOptions, 'model' | 'rows'>,
): ReferenceProfile {
  const vocabulary = opts.vocabulary === undefined ? undefined : new Set(opts.vocabulary);
  const acc = new ObservationAccumulator({
    seed: opts.seed ?? DEFAULT_PROFILE_SEED,
    ...(vocabulary !== undefined ? { vocabulary } : {}),
  });
  for (const item of items) acc.add(observe(item, { classifier: true }));
  return profileOf(acc, items.length, opts);
}

/** What serving would have logged for this input and answer (prediction-service.ts does the same). */
function loggedItem(model: Model, input: NamedTensors, output: NamedTensors): PredictionLogItem {
  if (isTextModel(model)) {
    const [text] = textInputsOf(input);
    const p = predictionOfRow(model.classes, output);
    return {
      title: text?.title ?? '',
      description: text?.description ?? '',
      prediction: p.prediction,
      probabilities: { ...p.probabilities },
      source: 'model',
    };
  }
  return { inputs: input, outputs: output, source: 'model' };
}

/** Text rows as the text classifier's items. */
export function textRows(rows: readonly TextInput[]): NamedTensors[] {
  return rows.map((r) => textRow({ title: r.title, description: r.description }));
}

/** The tokens of the texts as the model cleans them, most frequent first (ties by name), capped. */
export function vocabularyOf(rows: Iterable<TextInput>): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) {
    for (const t of tokenize(projectText(r.title, r.description))) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_VOCABULARY)
    .map(([t]) => t);
}
