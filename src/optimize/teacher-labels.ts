import { ErrorCode, FerryError } from '../core/errors.js';
import type { Model, TextInput } from '../model/model.js';
import type { NamedTensors } from '../model/tensor.js';

const BATCH = 256;

/**
 * The teacher's probabilities for `texts` (rows × classes, in `teacher.classes` order), asked for
 * through the tensor contract in batches, so that any model serving the text contract can teach.
 */
export async function teacherProbabilities(
  teacher: Model,
  texts: readonly TextInput[],
  onProgress?: (done: number, total: number) => void,
): Promise<Float64Array> {
  const K = teacher.classes.length;
  if (K < 2) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_UNSUPPORTED,
      `the teacher (${teacher.kind}) names ${K} classes; distillation needs a classifier that names at least 2`,
    );
  }
  const names = teacher.signature.inputs.map((i) => i.name);
  const outputs = teacher.signature.outputs.map((o) => o.name);
  if (!names.includes('title') || !outputs.includes('probabilities')) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_UNSUPPORTED,
      `the teacher (${teacher.kind}) does not have the text contract (title, description in; label, probabilities out)`,
    );
  }
  const out = new Float64Array(texts.length * K);
  for (let start = 0; start < texts.length; start += BATCH) {
    const batch = texts.slice(start, start + BATCH);
    const n = batch.length;
    const inputs: NamedTensors = {
      title: { datatype: 'BYTES', shape: [n], data: batch.map((t) => t.title) },
      description: { datatype: 'BYTES', shape: [n], data: batch.map((t) => t.description) },
    };
    const probs = (await teacher.infer(inputs)).probabilities;
    const data = probs?.data;
    if (!probs || !Array.isArray(data) || data.length !== n * K) {
      throw new FerryError(
        ErrorCode.OPTIMIZE_UNSUPPORTED,
        `the teacher (${teacher.kind}) answered probabilities of shape [${probs?.shape.join(', ') ?? ''}], not [${n}, ${K}]`,
      );
    }
    for (let i = 0; i < n * K; i++) {
      const p = Number(data[i]);
      out[start * K + i] = Number.isFinite(p) && p > 0 ? p : 0;
    }
    onProgress?.(start + n, texts.length);
  }
  return out;
}

/**
 * Soft labels at temperature T: p^(1/T) renormalised, which is softmax(log p / T), the teacher's
 * distribution at T recovered from its probabilities (its logits are not in the contract). A row
 * with no mass (a broken teacher) becomes uniform.
 */
export function softenProbabilities(probs: Float64Array, classes: number, temperature: number): Float64Array {
  const out = new Float64Array(probs.length);
  for (let r = 0; r < probs.length / classes; r++) {
    const at = r * classes;
    let max = 0;
    for (let c = 0; c < classes; c++) max = Math.max(max, probs[at + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      // Dividing by the max first keeps p^(1/T) from underflowing for small T.
      const v = max > 0 ? (probs[at + c]! / max) ** (1 / temperature) : 1;
      out[at + c] = v;
      sum += v;
    }
    for (let c = 0; c < classes; c++) out[at + c]! /= sum;
  }
  return out;
}
