/**
 * Between Ferry's tensors and the Open Inference Protocol's JSON representation as a remote server
 * speaks it: its model metadata read into a Signature, an inference request written, its answer
 * checked and read back. Everything the remote sends is untrusted: an answer that does not match
 * the signature is the remote's failure (MODEL_PREDICT_FAILED), never passed on to a client.
 */
import { ErrorCode, FerryError } from '../../../core/errors.js';
import { isJsonObject, ownField } from '../../artifact-fields.js';
import { checkOutputs } from '../../check-outputs.js';
import { checkSignature, DATATYPES, isDatatype, type NamedTensors, type Signature } from '../../tensor.js';

function invalidSignature(message: string): FerryError {
  return new FerryError(ErrorCode.MODEL_INVALID_SIGNATURE, message);
}

/** The remote's tensors as its metadata lists them, with datatypes Ferry does not serve named. */
function metadataTensors(value: unknown, where: 'inputs' | 'outputs', what: string): unknown[] {
  if (!Array.isArray(value)) throw invalidSignature(`${what} does not list its ${where} in its metadata`);
  for (const t of value) {
    const datatype = ownField(t, 'datatype');
    if (typeof datatype === 'string' && !isDatatype(datatype)) {
      throw invalidSignature(
        `${what} has ${where.slice(0, -1)} ${JSON.stringify(String(ownField(t, 'name')).slice(0, 100))} of datatype ${JSON.stringify(datatype.slice(0, 20))}, which Ferry does not serve (${DATATYPES.join(', ')})`,
      );
    }
  }
  // Only the fields a signature has: a remote's `parameters` or extra keys are not carried along.
  return value.map((t) => ({
    name: ownField(t, 'name'),
    datatype: ownField(t, 'datatype'),
    shape: ownField(t, 'shape'),
  }));
}

/** The model metadata's `platform`, when it is a short string. */
export function metadataPlatform(body: unknown): string | undefined {
  const platform = ownField(body, 'platform');
  return typeof platform === 'string' && platform.length <= 200 ? platform : undefined;
}

/** Reads `$metadata_model_response` into a checked Signature (MODEL_INVALID_SIGNATURE when it is not one). */
export function signatureFromMetadata(body: unknown, what: string): Signature {
  if (!isJsonObject(body)) throw invalidSignature(`${what} answered metadata that is not a JSON object`);
  return checkSignature({
    inputs: metadataTensors(ownField(body, 'inputs'), 'inputs', what),
    outputs: metadataTensors(ownField(body, 'outputs'), 'outputs', what),
  });
}

/** `$inference_request` for `inputs`, asking for the signature's outputs by name. */
export function inferRequestBody(inputs: NamedTensors, signature: Signature): string {
  return JSON.stringify({
    inputs: Object.entries(inputs).map(([name, t]) => ({
      name,
      datatype: t.datatype,
      shape: t.shape,
      data: t.data,
    })),
    outputs: signature.outputs.map((o) => ({ name: o.name })),
  });
}

function garbage(what: string, why: string): FerryError {
  return new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `${what} answered garbage: ${why}`);
}

/** v2 allows data nested as the shape; Ferry holds it flat. Bounded by the rank, so no deep recursion. */
function flatten(data: readonly unknown[], depth: number): unknown[] | undefined {
  if (!data.some(Array.isArray)) return data as unknown[];
  if (depth <= 1) return undefined;
  const out: unknown[] = [];
  for (const d of data) {
    if (!Array.isArray(d)) return undefined;
    const inner = flatten(d, depth - 1);
    if (inner === undefined) return undefined;
    for (const v of inner) out.push(v);
  }
  return out;
}

/**
 * Reads `$inference_response` into the signature's outputs. Every output the remote sends must be
 * one that was asked for, once; every one asked for must come. `rows`: the input rows, which a
 * batchable model's outputs must match.
 */
export function readInferResponse(
  body: unknown,
  signature: Signature,
  rows: number | undefined,
  what: string,
): NamedTensors {
  const outputs = ownField(body, 'outputs');
  if (!Array.isArray(outputs)) throw garbage(what, 'no "outputs" array');
  const asked = new Set(signature.outputs.map((o) => o.name));
  const byName: Record<string, unknown> = {};
  for (const raw of outputs) {
    const name = ownField(raw, 'name');
    if (typeof name !== 'string' || !asked.has(name))
      throw garbage(what, `an output ${JSON.stringify(String(name).slice(0, 100))} was not asked for`);
    if (Object.hasOwn(byName, name)) throw garbage(what, `output "${name}" comes twice`);
    const shape = ownField(raw, 'shape');
    const data = ownField(raw, 'data');
    byName[name] = {
      datatype: ownField(raw, 'datatype'),
      shape,
      data: Array.isArray(data) && Array.isArray(shape) ? flatten(data, shape.length) : undefined,
    };
  }
  try {
    // The rule every model's answer meets (model/check-outputs.ts), worded as the remote's fault.
    return checkOutputs(byName, signature, rows);
  } catch (e) {
    throw garbage(what, e instanceof Error ? e.message : String(e));
  }
}
