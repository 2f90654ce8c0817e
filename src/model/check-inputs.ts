import { type ErrorCodeName, FerryError } from '../core/errors.js';
import { isFloat, type NamedTensors, type Signature, shapeFits } from './tensor.js';

export interface CheckInputsOptions {
  /** The code of every refusal (v2 routes answer V2_INVALID_REQUEST, batch rows MODEL_INVALID_TENSOR). */
  code: ErrorCodeName;
  /** Rows per request (batchable models), checked with the shapes. */
  maxItems?: number;
}

/**
 * Checks tensors (already decoded: datatypes' element types and ranges hold) against a model's
 * signature: every name known and present, datatype equal, shape fitting (with -1 wildcards), one
 * row count across inputs of a batchable model, NaN/Inf only where the signature allows them.
 * Every message names the tensor.
 */
export function checkInputs(
  signature: Signature,
  inputs: NamedTensors,
  batchable: boolean,
  opts: CheckInputsOptions,
): void {
  const fail = (message: string, tensor?: string) =>
    new FerryError(opts.code, message, { details: tensor === undefined ? {} : { tensor } });
  const accepted = () => signature.inputs.map((s) => `"${s.name}"`).join(', ');
  for (const name of Object.keys(inputs)) {
    if (!signature.inputs.some((s) => s.name === name)) {
      throw fail(`unknown input "${name}"; this model accepts ${accepted()}`, name);
    }
  }
  let rows: number | undefined;
  for (const spec of signature.inputs) {
    const t = inputs[spec.name];
    if (t === undefined)
      throw fail(`missing input "${spec.name}"; this model needs ${accepted()}`, spec.name);
    if (t.datatype !== spec.datatype) {
      throw fail(`input "${spec.name}": datatype must be ${spec.datatype}, got ${t.datatype}`, spec.name);
    }
    if (!shapeFits(t.shape, spec.shape)) {
      throw fail(
        `input "${spec.name}": shape ${JSON.stringify(t.shape)} does not fit ${JSON.stringify(spec.shape)} (-1: any size)`,
        spec.name,
      );
    }
    if (batchable) {
      const n = t.shape[0]!;
      if (n < 1)
        throw fail(
          `input "${spec.name}": needs at least 1 item, shape is ${JSON.stringify(t.shape)}`,
          spec.name,
        );
      if (opts.maxItems !== undefined && n > opts.maxItems) {
        throw fail(`input "${spec.name}": at most ${opts.maxItems} items per request, got ${n}`, spec.name);
      }
      if (rows !== undefined && n !== rows) {
        throw fail(
          `input "${spec.name}" has ${n} items but another input has ${rows}; they must match`,
          spec.name,
        );
      }
      rows = n;
    }
    if (isFloat(spec.datatype) && spec.allowNonFinite !== true) {
      const at = (t.data as readonly number[]).findIndex((v) => !Number.isFinite(v));
      if (at >= 0) {
        throw fail(
          `input "${spec.name}": element ${at} is not a finite number (NaN and infinities are refused unless the signature allows them)`,
          spec.name,
        );
      }
    }
    if (spec.datatype === 'FP32') {
      // 1e308 is a finite double but no FP32: the model would see Infinity where the caller sent a number.
      const at = (t.data as readonly number[]).findIndex(
        (v) => Number.isFinite(v) && !Number.isFinite(Math.fround(v)),
      );
      if (at >= 0) {
        throw fail(`input "${spec.name}": element ${at} is outside FP32's range (about ±3.4e38)`, spec.name);
      }
    }
  }
}
