import { ErrorCode, FerryError } from '../core/errors.js';
import type { Signature, TensorSpec } from './tensor.js';

function invalid(message: string): FerryError {
  return new FerryError(ErrorCode.MODEL_INVALID_SIGNATURE, message);
}

function checkSpec(
  given: TensorSpec,
  theirs: TensorSpec | undefined,
  where: 'input' | 'output',
  source: string,
): void {
  if (!theirs) throw invalid(`the signature's ${where} "${given.name}" is not an ${where} of ${source}`);
  if (given.datatype !== theirs.datatype) {
    throw invalid(
      `the signature's ${where} "${given.name}" is ${given.datatype}; ${source}'s is ${theirs.datatype}`,
    );
  }
  const fits =
    given.shape.length === theirs.shape.length &&
    theirs.shape.every((d, i) => d === -1 || given.shape[i] === d);
  if (!fits) {
    throw invalid(
      `the signature's ${where} "${given.name}" has shape ${JSON.stringify(given.shape)}, which ${source}'s ${JSON.stringify(theirs.shape)} does not allow (same rank; where ${source} fixes a dimension, the same size)`,
    );
  }
}

/**
 * Checks a signature given at registration (already parsed by checkSignature) against the one the
 * model declares itself (an ONNX graph's, a remote server's metadata), named `source` in messages:
 * every input of the model and no other, each output one of its outputs (a subset may be served,
 * e.g. to hide a recurrent model's state outputs), same datatypes, same ranks, its fixed dimensions
 * kept. The given signature may fix a dimension the model leaves free, and adds descriptions and
 * allowNonFinite.
 */
export function checkOverride(given: Signature, declared: Signature, source: string): void {
  const inputs = new Map(declared.inputs.map((t) => [t.name, t]));
  const outputs = new Map(declared.outputs.map((t) => [t.name, t]));
  for (const t of given.inputs) checkSpec(t, inputs.get(t.name), 'input', source);
  for (const t of given.outputs) checkSpec(t, outputs.get(t.name), 'output', source);
  const givenInputs = new Set(given.inputs.map((t) => t.name));
  const missing = declared.inputs.find((t) => !givenInputs.has(t.name));
  if (missing) throw invalid(`the signature lacks ${source}'s input "${missing.name}"`);
}
