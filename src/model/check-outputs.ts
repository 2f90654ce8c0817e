import { ErrorCode, FerryError } from '../core/errors.js';
import { isJsonObject } from './artifact-fields.js';
import {
  type Datatype,
  elementCount,
  integerRange,
  isFloat,
  type NamedTensors,
  type Signature,
  shapeFits,
  type Tensor,
  type TensorData,
  type TensorSpec,
} from './tensor.js';

/*
 * A model's outputs checked against its signature before anything downstream (the v2 encoder, the
 * cache, the log, the batcher's row split) trusts them. Code Ferry did not write (a custom module,
 * a graph, a remote server) can answer anything; a wrong answer is the model's failure
 * (MODEL_PREDICT_FAILED, naming the tensor), never a malformed response or a crash further on.
 */

function failed(name: string, why: string): FerryError {
  return new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `model output "${name}" ${why}`, {
    details: { tensor: name },
  });
}

/**
 * Numeric typed arrays (Float32Array, Int32Array...) are accepted for numeric datatypes and copied
 * into plain arrays, the form every path after the model carries (JSON). BigInt arrays are not:
 * their elements are not JSON numbers.
 */
function plainData(data: unknown): unknown[] | undefined {
  if (Array.isArray(data)) return data;
  if (
    ArrayBuffer.isView(data) &&
    !(data instanceof DataView) &&
    !(data instanceof BigInt64Array) &&
    !(data instanceof BigUint64Array)
  ) {
    return Array.from(data as unknown as ArrayLike<number>);
  }
  return undefined;
}

/** The index of the first element that is not of `spec`'s datatype, and why; undefined when all are. */
function badElement(data: readonly unknown[], spec: TensorSpec): [number, string] | undefined {
  const datatype: Datatype = spec.datatype;
  if (datatype === 'BOOL') {
    const i = data.findIndex((v) => typeof v !== 'boolean');
    return i < 0 ? undefined : [i, 'is not a boolean'];
  }
  if (datatype === 'BYTES') {
    const i = data.findIndex((v) => typeof v !== 'string');
    return i < 0 ? undefined : [i, 'is not a string'];
  }
  if (isFloat(datatype)) {
    const finite = spec.allowNonFinite !== true;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number') return [i, 'is not a number'];
      if (finite && !Number.isFinite(v)) return [i, 'is not finite (NaN or ±Infinity)'];
    }
    return undefined;
  }
  const [min, max] = integerRange(datatype)!;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return [i, `is not an integer from ${min} to ${max}`];
    }
  }
  return undefined;
}

function checkOne(raw: unknown, spec: TensorSpec, rows: number | undefined): Tensor {
  const { name } = spec;
  if (!isJsonObject(raw)) throw failed(name, 'is not a tensor object { datatype, shape, data }');
  const { datatype, shape } = raw;
  if (datatype !== spec.datatype) {
    throw failed(name, `has datatype ${JSON.stringify(datatype)}, the signature says ${spec.datatype}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw failed(name, 'has a shape that is not an array of non-negative integers');
  }
  const dims = shape as number[];
  if (!shapeFits(dims, spec.shape)) {
    throw failed(name, `has shape ${JSON.stringify(dims)}, the signature says ${JSON.stringify(spec.shape)}`);
  }
  if (rows !== undefined && dims[0] !== rows) {
    throw failed(name, `has ${dims[0]} rows for a batch of ${rows}`);
  }
  const data = plainData(raw.data);
  if (data === undefined) throw failed(name, 'has data that is not an array');
  const expected = elementCount(dims);
  if (data.length !== expected) {
    throw failed(name, `has ${data.length} elements, its shape ${JSON.stringify(dims)} needs ${expected}`);
  }
  const bad = badElement(data, spec);
  if (bad) throw failed(name, `element ${bad[0]} ${bad[1]} (datatype ${spec.datatype})`);
  return { datatype: spec.datatype, shape: [...dims], data: data as TensorData };
}

/**
 * Checks a model's answer against its signature and returns the outputs the signature names (others
 * are dropped: the signature is what is served). `rows`, for batchable signatures, is the batch's
 * row count, which every output's first dimension must equal.
 */
export function checkOutputs(raw: unknown, signature: Signature, rows?: number): NamedTensors {
  if (!isJsonObject(raw)) {
    throw new FerryError(
      ErrorCode.MODEL_PREDICT_FAILED,
      'model outputs must be an object of tensors by name',
    );
  }
  // Object.fromEntries defines own properties: an output named "__proto__" stays an output.
  return Object.fromEntries(
    signature.outputs.map((spec) => {
      if (!Object.hasOwn(raw, spec.name)) throw failed(spec.name, 'is missing');
      return [spec.name, checkOne(raw[spec.name], spec, rows)];
    }),
  );
}
