import { ErrorCode, FerryError } from '../../../core/errors.js';
import { elementCount, type Tensor, type TensorData, type TensorSpec } from '../../tensor.js';
import { ORT_TYPE_OF } from './onnx-signature.js';
import type { OrtModule, OrtTensor } from './runtime.js';

const TYPED_ARRAYS = {
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  FP32: Float32Array,
  FP64: Float64Array,
} as const;

function invalidInput(name: string, why: string): FerryError {
  return new FerryError(ErrorCode.MODEL_INVALID_TENSOR, `input "${name}" ${why}`, {
    details: { tensor: name },
  });
}

/**
 * A Ferry tensor as onnxruntime takes it. The serving layer has checked it against the signature
 * already; what is checked here is what would otherwise throw inside onnxruntime or be silently
 * wrong (a 64-bit integer that is not one, a length that is not the shape's).
 */
export function toOrt(ort: OrtModule, spec: TensorSpec, tensor: Tensor | undefined): OrtTensor {
  const { name } = spec;
  if (!tensor) throw invalidInput(name, 'is missing');
  if (tensor.datatype !== spec.datatype)
    throw invalidInput(name, `is ${tensor.datatype}, expected ${spec.datatype}`);
  if (elementCount(tensor.shape) !== tensor.data.length) {
    throw invalidInput(name, `has ${tensor.data.length} values for shape ${JSON.stringify(tensor.shape)}`);
  }
  const dims = tensor.shape;
  const data = tensor.data;
  switch (spec.datatype) {
    case 'BOOL':
      return new ort.Tensor('bool', data as readonly boolean[], dims);
    case 'BYTES':
      return new ort.Tensor('string', data as readonly string[], dims);
    case 'INT64':
    case 'UINT64': {
      const values = data as readonly number[];
      if (!values.every((v) => Number.isSafeInteger(v)))
        throw invalidInput(name, 'holds a value that is not a safe integer');
      const array =
        spec.datatype === 'INT64' ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
      // BigUint64Array wraps a negative value around: refused first.
      if (spec.datatype === 'UINT64' && values.some((v) => v < 0))
        throw invalidInput(name, 'holds a negative value');
      for (let i = 0; i < values.length; i++) array[i] = BigInt(values[i]!);
      return new ort.Tensor(ORT_TYPE_OF[spec.datatype] as 'int64', array as BigInt64Array, dims);
    }
    default: {
      const Typed = TYPED_ARRAYS[spec.datatype];
      return new ort.Tensor(
        ORT_TYPE_OF[spec.datatype] as 'float32',
        Typed.from(data as readonly number[]) as Float32Array,
        dims,
      );
    }
  }
}

function predictFailed(message: string, name: string): FerryError {
  return new FerryError(ErrorCode.MODEL_PREDICT_FAILED, message, { details: { tensor: name } });
}

/**
 * An onnxruntime output as a Ferry tensor: JSON values, so 64-bit integers become numbers (refused
 * beyond 2^53, where they would change), booleans from bytes, and NaN or an infinity refused (JSON
 * has no way to carry them).
 */
export function fromOrt(spec: TensorSpec, value: OrtTensor | undefined): Tensor {
  const { name } = spec;
  if (!value) throw predictFailed(`the ONNX model gave no output "${name}"`, name);
  if (value.type !== ORT_TYPE_OF[spec.datatype]) {
    throw predictFailed(
      `the ONNX model's output "${name}" is ${value.type}, expected ${spec.datatype}`,
      name,
    );
  }
  const shape = [...value.dims];
  const raw = value.data;
  let data: TensorData;
  if (spec.datatype === 'BYTES') {
    data = [...(raw as readonly string[])];
  } else if (spec.datatype === 'BOOL') {
    data = Array.from(raw as Uint8Array, (b) => b !== 0);
  } else if (spec.datatype === 'INT64' || spec.datatype === 'UINT64') {
    const numbers: number[] = [];
    for (const b of raw as BigInt64Array | BigUint64Array) {
      if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw predictFailed(
          `the ONNX model's output "${name}" holds ${b}, beyond what a JSON number carries exactly (±${Number.MAX_SAFE_INTEGER})`,
          name,
        );
      }
      numbers.push(Number(b));
    }
    data = numbers;
  } else {
    const numbers = Array.from(raw as ArrayLike<number>);
    if (spec.datatype === 'FP32' || spec.datatype === 'FP64') {
      const bad = numbers.find((v) => !Number.isFinite(v));
      if (bad !== undefined) {
        throw predictFailed(`the ONNX model's output "${name}" holds ${bad}, which JSON cannot carry`, name);
      }
    }
    data = numbers;
  }
  return { datatype: spec.datatype, shape, data };
}
