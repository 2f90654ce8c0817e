import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Model, TextInput } from '../../model/model.js';
import { elementCount, type NamedTensors, type Signature, type TensorSpec } from '../../model/tensor.js';

/*
 * The text contract as the report uses it, for any kind: `title` and `description` BYTES in (both,
 * or title alone), a `label` BYTES and/or `probabilities` over named classes out. A model that has
 * it can be scored on labelled rows and compared with its parent; one that does not cannot.
 */

const TEXT_INPUTS = new Set(['title', 'description']);

/** What a model's outputs say about a batch: a label per row, and the probabilities by class when given. */
export interface TextPredictions {
  labels: string[];
  /** Per row, probability by class name; null when the model gives no probabilities over named classes. */
  probabilities: Record<string, number>[] | null;
}

function isNumeric(spec: TensorSpec): boolean {
  return spec.datatype !== 'BYTES' && spec.datatype !== 'BOOL';
}

/**
 * Whether the report can feed the model texts and read a label from what it answers: text inputs
 * that take one row (every dimension variable or 1), a label or named probabilities out.
 */
export function hasTextContract(model: Model): boolean {
  const { inputs, outputs } = model.signature;
  const title = inputs.find((t) => t.name === 'title');
  const fits = (t: TensorSpec) =>
    TEXT_INPUTS.has(t.name) && t.datatype === 'BYTES' && t.shape.every((d) => d === -1 || d === 1);
  if (title?.datatype !== 'BYTES' || !inputs.every(fits)) return false;
  const label = outputs.find((t) => t.name === 'label');
  const probabilities = outputs.find((t) => t.name === 'probabilities');
  return (
    label?.datatype === 'BYTES' ||
    (probabilities !== undefined && isNumeric(probabilities) && model.classes.length > 0)
  );
}

/**
 * The shape of an input holding `n` rows: the first dimension is the row count, any other variable
 * dimension 1 (a column `[n, 1]`); a scalar input (`[]`) holds one row only.
 */
function rowShape(spec: TensorSpec, n: number): number[] {
  if (spec.shape.length === 0) return [];
  return [n, ...spec.shape.slice(1).map((d) => (d === -1 ? 1 : d))];
}

/** The rows as the model's text inputs, in the shapes its signature asks for. */
export function textInputs(signature: Signature, rows: readonly TextInput[]): NamedTensors {
  const out: Record<string, NamedTensors[string]> = {};
  for (const spec of signature.inputs) {
    const data = rows.map((r) => (spec.name === 'title' ? r.title : r.description));
    const shape = rowShape(spec, rows.length);
    if (elementCount(shape) !== rows.length) {
      throw new RangeError(`input "${spec.name}" of shape [${spec.shape}] cannot hold ${rows.length} rows`);
    }
    out[spec.name] = { datatype: 'BYTES', shape, data };
  }
  return out;
}

/**
 * Labels (the `label` output when present, else the argmax of `probabilities` named by
 * model.classes) and probabilities by class of `n` rows of outputs.
 */
export function readTextOutputs(model: Model, outputs: NamedTensors, n: number): TextPredictions {
  const classes = model.classes;
  const probs = outputs.probabilities;
  const width = probs !== undefined && n > 0 ? probs.data.length / n : 0;
  const named = probs !== undefined && classes.length > 0 && width === classes.length;
  const probabilities = named
    ? Array.from({ length: n }, (_, r) => {
        const row: Record<string, number> = {};
        classes.forEach((c, k) => {
          row[c] = Number(probs.data[r * width + k]);
        });
        return row;
      })
    : null;
  const labelData = outputs.label?.data;
  let labels: string[];
  if (labelData !== undefined && labelData.length === n) labels = labelData.map((v) => String(v));
  else if (probabilities !== null) labels = probabilities.map((row) => argmax(classes, row));
  else {
    throw new FerryError(
      ErrorCode.MODEL_PREDICT_FAILED,
      `the model answered neither ${n} labels nor ${n} rows of probabilities over its ${classes.length} classes`,
    );
  }
  return { labels, probabilities };
}

function argmax(classes: readonly string[], row: Record<string, number>): string {
  let best = classes[0]!;
  for (const c of classes) if (row[c]! > row[best]!) best = c;
  return best;
}
