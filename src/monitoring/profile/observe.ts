import type { Model } from '../../model/model.js';
import { outputLabel } from '../../model/rows.js';
import type { NamedTensors } from '../../model/tensor.js';
import { projectText, tokenize } from '../../model/text/clean.js';
import {
  isTextLogItem,
  type LoggedTensor,
  type PredictionLogItem,
  TRUNCATION_MARKER,
} from '../../ports/prediction-log-sink.js';

/*
 * The one extractor from a logged item (or a reference row shaped like one) to named feature
 * values: a reference profile and a window of the prediction log are summarised through it, so a
 * feature means the same thing on both sides of a drift report.
 */

/** A feature's value in one item: a number (numeric feature), a string (categorical), null (missing). */
export type FeatureValue = number | string | null;

export interface Observation {
  readonly features: Readonly<Record<string, FeatureValue>>;
  readonly outputs: Readonly<Record<string, FeatureValue>>;
  /** A text model's input (title and description joined) and its tokens, as the model cleans them. */
  readonly text?: { readonly value: string; readonly tokens: readonly string[] };
}

export interface ObserveOptions {
  /** Outputs read as `predicted_label` and `confidence` (see `isClassifier`), else one feature per column. */
  readonly classifier: boolean;
}

/**
 * Columns read per tensor: a tensor input of 784 pixels would otherwise make 784 features, each
 * with its own sample of thousands of values in the profile. The first ones are kept.
 */
const MAX_COLUMNS_PER_TENSOR = 64;

const TEXT_LENGTH = 'text_length';
const TOKEN_COUNT = 'token_count';
export const PREDICTED_LABEL = 'predicted_label';
const CONFIDENCE = 'confidence';

/** A classifier: it names its classes or answers a `label` output. */
export function isClassifier(model: Pick<Model, 'classes' | 'signature'>): boolean {
  return model.classes.length > 0 || model.signature.outputs.some((o) => o.name === 'label');
}

/** A text cut to fit the log's byte cap loses its marker, so the marker's words are not counted as input. */
function untruncated(text: string): string {
  return text.endsWith(TRUNCATION_MARKER) ? text.slice(0, -TRUNCATION_MARKER.length) : text;
}

export function observe(item: PredictionLogItem, opts: ObserveOptions): Observation {
  if (isTextLogItem(item)) {
    const value = projectText(untruncated(item.title), untruncated(item.description));
    const tokens = tokenize(value);
    let confidence: number | null = null;
    for (const p of Object.values(item.probabilities)) {
      if (typeof p === 'number' && Number.isFinite(p) && (confidence === null || p > confidence))
        confidence = p;
    }
    return {
      features: { [TEXT_LENGTH]: codePoints(value), [TOKEN_COUNT]: tokens.length },
      outputs: { [PREDICTED_LABEL]: item.prediction, [CONFIDENCE]: confidence },
      text: { value, tokens },
    };
  }
  const features: Record<string, FeatureValue> = {};
  for (const [name, tensor] of Object.entries(item.inputs)) columns(name, tensor, features);
  const outputs: Record<string, FeatureValue> = {};
  if (opts.classifier) {
    outputs[PREDICTED_LABEL] = outputLabel(item.outputs as NamedTensors) ?? null;
    outputs[CONFIDENCE] = confidenceOf(item.outputs);
  } else {
    for (const [name, tensor] of Object.entries(item.outputs)) columns(name, tensor, outputs);
  }
  return { features, outputs };
}

/** Characters as people count them (code points), without building an array per text. */
function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** `name` for a scalar, `name[i]` per flat position otherwise; BYTES as categories, the rest as numbers. */
function columns(name: string, tensor: LoggedTensor, out: Record<string, FeatureValue>): void {
  if (typeof tensor !== 'object' || tensor === null || !Array.isArray(tensor.data)) return;
  const scalar = tensor.shape.length === 0;
  const n = Math.min(tensor.data.length, MAX_COLUMNS_PER_TENSOR);
  for (let i = 0; i < n; i++) {
    const key = scalar ? name : `${name}[${i}]`;
    out[key] = featureValueOf(tensor.datatype, tensor.data[i]);
  }
}

function featureValueOf(datatype: string, v: unknown): FeatureValue {
  if (datatype === 'BYTES')
    return typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/**
 * The classifier's confidence: the largest of its `probabilities` (or `scores`) output, else of its
 * first floating-point output with more than one value; null when it has none.
 */
function confidenceOf(outputs: Readonly<Record<string, LoggedTensor>>): number | null {
  const floats = (t: LoggedTensor | undefined) =>
    t !== undefined && (t.datatype === 'FP32' || t.datatype === 'FP64' || t.datatype === 'FP16')
      ? t
      : undefined;
  const tensor =
    floats(outputs.probabilities) ??
    floats(outputs.scores) ??
    Object.values(outputs).find((t) => floats(t) !== undefined && t.data.length > 1);
  if (tensor === undefined) return null;
  let best: number | null = null;
  for (const v of tensor.data) {
    if (typeof v === 'number' && Number.isFinite(v) && (best === null || v > best)) best = v;
  }
  return best;
}
