import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import type { Model } from './model.js';
import { isTextModel } from './model.js';
import { concatRows, isBatchable, type NamedTensors, rowCount, splitRows } from './tensor.js';
import { predictionRows } from './text-tensors.js';

/*
 * Items, as serving, the cache, the log and experiments handle them: for a batchable model one
 * item is one row (each tensor without its batch dimension); for any other model one item is one
 * whole request. `inferRows` runs items through a model either way.
 */

/** Runs items through the model: stacked in one call when it is batchable, one call each otherwise. */
export async function inferRows(model: Model, rows: readonly NamedTensors[]): Promise<NamedTensors[]> {
  if (rows.length === 0) return [];
  if (isTextModel(model)) {
    // The built-in classifier's fast path: no stacking of string tensors, one predictBatch.
    const inputs = rows.map((r) => ({
      title: String(r.title?.data[0] ?? ''),
      description: String(r.description?.data[0] ?? ''),
    }));
    return predictionRows(model.classes, model.predictBatch(inputs));
  }
  if (!isBatchable(model.signature)) {
    const out: NamedTensors[] = [];
    for (const row of rows) out.push(await guardedInfer(model, row));
    return out;
  }
  const outputs = await guardedInfer(model, concatRows(rows));
  if (rowCount(outputs) !== rows.length) {
    throw new FerryError(
      ErrorCode.MODEL_PREDICT_FAILED,
      `the model answered ${rowCount(outputs) ?? 'an unequal number of'} rows for ${rows.length}`,
    );
  }
  return splitRows(outputs, rows.length);
}

async function guardedInfer(model: Model, inputs: NamedTensors): Promise<NamedTensors> {
  try {
    return await model.infer(inputs);
  } catch (e) {
    if (isFerryError(e)) throw e;
    // A kind's own failure must not become a 500 with its internals: a stable code, its message only.
    const message = e instanceof Error ? e.message : String(e);
    throw new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `the model failed: ${message.slice(0, 500)}`, {
      cause: e,
    });
  }
}

/**
 * One label per answered item, for what compares answers (shadow agreement, canary label mix): the
 * `label` output when there is one (classifiers), else the first output read as a class: a scalar
 * as itself, a float vector as the index of its largest value, anything else as its JSON.
 */
export function outputLabel(outputs: NamedTensors | undefined): string | undefined {
  if (outputs === undefined) return undefined;
  const t = outputs.label ?? Object.values(outputs)[0];
  // Answers come from models and remote servers: anything not shaped like a tensor has no label.
  if (typeof t !== 'object' || t === null || !Array.isArray(t.data)) return undefined;
  if (t.data.length === 1) return String(t.data[0]);
  if ((t.datatype === 'FP32' || t.datatype === 'FP64') && t.shape.length === 1) {
    const values = t.data as readonly number[];
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
    return `argmax:${best}`;
  }
  const text = JSON.stringify(t.data);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
