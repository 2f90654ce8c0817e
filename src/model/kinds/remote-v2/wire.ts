/**
 * Between Ferry's tensors and the Open Inference Protocol's JSON representation as a remote server
 * speaks it: its model metadata read into a Signature, an inference request written, its answer
 * checked and read back. Everything the remote sends is untrusted: an answer that does not match
 * the signature is the remote's failure (MODEL_PREDICT_FAILED), never passed on to a client.
 */
import { ErrorCode, FerryError } from '../../../core/errors.js';
import { isJsonObject, ownField } from '../../artifact-fields.js';
import {
  checkSignature,
  DATATYPES,
  type Datatype,
  elementCount,
  integerRange,
  isDatatype,
  type NamedTensors,
  type Signature,
  shapeFits,
  type Tensor,
  type TensorData,
  type TensorSpec,
} from '../../tensor.js';

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

function compatibleSpec(mine: TensorSpec, theirs: TensorSpec | undefined, where: string): void {
  if (theirs === undefined) throw invalidSignature(`the remote model has no ${where} "${mine.name}"`);
  if (mine.datatype !== theirs.datatype) {
    throw invalidSignature(
      `${where} "${mine.name}" is ${theirs.datatype} on the remote model, not ${mine.datatype}`,
    );
  }
  const fits =
    mine.shape.length === theirs.shape.length &&
    mine.shape.every((d, i) => theirs.shape[i] === -1 || d === -1 || d === theirs.shape[i]);
  if (!fits) {
    throw invalidSignature(
      `${where} "${mine.name}" has shape ${JSON.stringify(mine.shape)}; the remote model's is ${JSON.stringify(theirs.shape)}`,
    );
  }
}

/**
 * Checks a signature given at registration against the remote's: the same inputs (names,
 * datatypes, ranks; a fixed dimension on both sides must agree), and outputs the remote has (a
 * subset is fine: only those are asked for).
 */
export function checkOverride(override: Signature, remote: Signature): Signature {
  const checked = checkSignature(override);
  const theirInputs = new Map(remote.inputs.map((t) => [t.name, t]));
  const theirOutputs = new Map(remote.outputs.map((t) => [t.name, t]));
  for (const t of checked.inputs) compatibleSpec(t, theirInputs.get(t.name), 'input');
  const mine = new Set(checked.inputs.map((t) => t.name));
  const missing = remote.inputs.find((t) => !mine.has(t.name));
  if (missing) throw invalidSignature(`the signature leaves out the remote model's input "${missing.name}"`);
  for (const t of checked.outputs) compatibleSpec(t, theirOutputs.get(t.name), 'output');
  return checked;
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

/** Why an element does not belong to its datatype, or undefined when every one does. */
function elementProblem(data: readonly unknown[], datatype: Datatype): string | undefined {
  const range = integerRange(datatype);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (datatype === 'BYTES') {
      if (typeof v !== 'string') return `element ${i} is not a string`;
    } else if (datatype === 'BOOL') {
      if (typeof v !== 'boolean') return `element ${i} is not a boolean`;
    } else if (typeof v !== 'number' || !Number.isFinite(v)) {
      return `element ${i} is not a finite number`;
    } else if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
      return `element ${i} is not a ${datatype}`;
    }
  }
  return undefined;
}

function readOutput(raw: unknown, spec: TensorSpec, rows: number | undefined, what: string): Tensor {
  const name = spec.name;
  const datatype = ownField(raw, 'datatype');
  if (datatype !== spec.datatype) {
    throw garbage(what, `output "${name}" is ${String(datatype).slice(0, 20)}, not ${spec.datatype}`);
  }
  const shape = ownField(raw, 'shape');
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) ||
    !shapeFits(shape as number[], spec.shape)
  ) {
    throw garbage(what, `output "${name}" has a shape that does not fit ${JSON.stringify(spec.shape)}`);
  }
  if (rows !== undefined && shape[0] !== rows) {
    throw garbage(what, `output "${name}" has ${shape[0]} rows for ${rows} input rows`);
  }
  const nested = ownField(raw, 'data');
  const data = Array.isArray(nested) ? flatten(nested, shape.length) : undefined;
  if (data === undefined) throw garbage(what, `output "${name}" has no data array`);
  const expected = elementCount(shape as number[]);
  if (data.length !== expected) {
    throw garbage(what, `output "${name}" has ${data.length} elements; its shape says ${expected}`);
  }
  const problem = elementProblem(data, spec.datatype);
  if (problem) throw garbage(what, `output "${name}": ${problem}`);
  return { datatype: spec.datatype, shape: shape as number[], data: data as TensorData };
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
  const specs = new Map(signature.outputs.map((o) => [o.name, o]));
  const out: Record<string, Tensor> = {};
  for (const raw of outputs) {
    const name = ownField(raw, 'name');
    const spec = typeof name === 'string' ? specs.get(name) : undefined;
    if (spec === undefined)
      throw garbage(what, `an output ${JSON.stringify(String(name).slice(0, 100))} was not asked for`);
    if (Object.hasOwn(out, spec.name)) throw garbage(what, `output "${spec.name}" comes twice`);
    out[spec.name] = readOutput(raw, spec, rows, what);
  }
  const missing = signature.outputs.find((o) => !Object.hasOwn(out, o.name));
  if (missing) throw garbage(what, `output "${missing.name}" is missing`);
  return out;
}
