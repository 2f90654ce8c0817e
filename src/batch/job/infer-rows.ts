import { ErrorCode, isFerryError } from '../../core/errors.js';
import type { Model } from '../../model/model.js';
import { inferRows as runRows } from '../../model/rows.js';
import { isBatchable, type NamedTensors } from '../../model/tensor.js';

/** One row's outputs (row shape), or why the model refused the row. */
export type RowOutcome = { ok: true; outputs: NamedTensors } | { ok: false; reason: string };

/**
 * Runs a model that is not the text classifier over rows of tensors, in this thread:
 * - batchable: rows of the same shapes are stacked (concatRows) and run with one `infer` call;
 *   the answer is cut back into rows (splitRows);
 * - not batchable: each row is a whole request, one `infer` call each, in order.
 *
 * A row the model refuses as invalid (FERRY_MODEL_INVALID_TENSOR: the model's own checks of its
 * input) becomes a reject; a stacked call refused that way is run again row by row, so one bad row
 * costs only itself. Any other failure (a model that throws, a remote server down, a timeout)
 * fails the chunk, which stays undone and is retried when the job resumes: a passing outage must
 * not turn rows into rejects. Outputs holding NaN or ±Infinity are rejects too, as the store keeps
 * JSON.
 */
export async function inferRows(model: Model, rows: readonly NamedTensors[]): Promise<RowOutcome[]> {
  const out: RowOutcome[] = new Array(rows.length);
  if (!isBatchable(model.signature)) {
    for (let i = 0; i < rows.length; i++) out[i] = await inferOne(model, rows[i]!);
    return out;
  }
  for (const indices of groupsOfSameShapes(rows)) {
    const group = indices.map((i) => rows[i]!);
    let outcomes: RowOutcome[];
    if (group.length === 1) outcomes = [await inferOne(model, group[0]!, true)];
    else {
      try {
        outcomes = await inferStacked(model, group);
      } catch (e) {
        if (!isFerryError(e, ErrorCode.MODEL_INVALID_TENSOR)) throw e;
        outcomes = [];
        for (const row of group) outcomes.push(await inferOne(model, row, true));
      }
    }
    indices.forEach((rowIndex, k) => {
      out[rowIndex] = outcomes[k]!;
    });
  }
  return out;
}

/** Indices of rows whose tensors have the same names, datatypes and shapes (so that they stack), in input order. */
function groupsOfSameShapes(rows: readonly NamedTensors[]): number[][] {
  const groups = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const key = JSON.stringify(
      Object.keys(row)
        .sort()
        .map((n) => [n, row[n]!.datatype, row[n]!.shape]),
    );
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}

/** Rows stacked into one call, answers cut back into rows (model/rows.ts, as serving runs them). */
async function inferStacked(model: Model, rows: readonly NamedTensors[]): Promise<RowOutcome[]> {
  return (await runRows(model, rows)).map(checkedOutcome);
}

/** One row: stacked as a batch of one when the model stacks rows, else as the whole request. */
async function inferOne(model: Model, row: NamedTensors, stacked = false): Promise<RowOutcome> {
  try {
    if (stacked) return (await inferStacked(model, [row]))[0]!;
    return checkedOutcome(await model.infer(row));
  } catch (e) {
    if (isFerryError(e, ErrorCode.MODEL_INVALID_TENSOR))
      return { ok: false, reason: `the model refused the row: ${e.message}` };
    throw e;
  }
}

function checkedOutcome(outputs: NamedTensors): RowOutcome {
  for (const [name, t] of Object.entries(outputs)) {
    if (t.data.some((v) => typeof v === 'number' && !Number.isFinite(v))) {
      return {
        ok: false,
        reason: `output "${name}" holds NaN or Infinity, which the prediction store cannot keep`,
      };
    }
  }
  return { ok: true, outputs };
}
