import { ErrorCode, FerryError } from '../core/errors.js';
import { ownField } from './artifact-fields.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';

/** The most elements a decoded tensor may declare (256 MiB of 4-byte values): a bound set before allocating. */
const MAX_TENSOR_LENGTH = 2 ** 26;

/*
 * Typed arrays travel inside JSON artifacts as base64 of their little-endian bytes. Little-endian
 * is written explicitly so that an artifact means the same thing on every machine. float16 is a
 * storage type only: it decodes to float32.
 */
export type TensorDtype = 'int32' | 'float32' | 'int8' | 'uint8' | 'float16';

export interface EncodedTensor {
  dtype: TensorDtype;
  length: number;
  data: string;
}

const BYTES_PER_ELEMENT: Record<TensorDtype, number> = {
  int32: 4,
  float32: 4,
  int8: 1,
  uint8: 1,
  float16: 2,
};

export function encodeTensor(a: Int32Array | Float32Array | Int8Array | Uint8Array): EncodedTensor {
  if (a instanceof Int8Array || a instanceof Uint8Array) {
    return {
      dtype: a instanceof Int8Array ? 'int8' : 'uint8',
      length: a.length,
      data: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'),
    };
  }
  const view = new DataView(new ArrayBuffer(a.length * 4));
  const isInt = a instanceof Int32Array;
  for (let i = 0; i < a.length; i++) {
    if (isInt) view.setInt32(i * 4, a[i]!, true);
    else view.setFloat32(i * 4, a[i]!, true);
  }
  return {
    dtype: isInt ? 'int32' : 'float32',
    length: a.length,
    data: Buffer.from(view.buffer).toString('base64'),
  };
}

/** Float32 values stored as float16 (rounded to nearest even; the caller keeps them in range). */
export function encodeFloat16(a: Float32Array): EncodedTensor {
  const view = new DataView(new ArrayBuffer(a.length * 2));
  for (let i = 0; i < a.length; i++) view.setUint16(i * 2, toFloat16Bits(a[i]!), true);
  return { dtype: 'float16', length: a.length, data: Buffer.from(view.buffer).toString('base64') };
}

function decode(t: unknown, dtype: TensorDtype, name: string): DataView {
  const length = ownField(t, 'length');
  const data = ownField(t, 'data');
  if (ownField(t, 'dtype') !== dtype || typeof length !== 'number' || typeof data !== 'string') {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" is missing or not ${dtype}`,
    );
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_TENSOR_LENGTH) {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" declares ${length} elements; at most ${MAX_TENSOR_LENGTH}`,
    );
  }
  const byteLength = length * BYTES_PER_ELEMENT[dtype];
  // The declared size fixes the text's length (padded base64), checked before anything is decoded.
  if (data.length !== 4 * Math.ceil(byteLength / 3)) {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" has ${data.length} base64 characters, not those of ${length} elements`,
    );
  }
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== byteLength) {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" has ${bytes.length} bytes, expected ${byteLength}`,
    );
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeInt32(t: unknown, name: string): Int32Array {
  const view = decode(t, 'int32', name);
  const out = new Int32Array(view.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

// A NaN or an infinity would turn every prediction into NaN probabilities.
function nonFinite(name: string, i: number): FerryError {
  return new FerryError(
    ErrorCode.MODEL_INVALID_ARTIFACT,
    `artifact tensor "${name}" holds a non-finite value at ${i}`,
  );
}

export function decodeFloat32(t: unknown, name: string): Float32Array {
  const view = decode(t, 'float32', name);
  const out = new Float32Array(view.byteLength / 4);
  for (let i = 0; i < out.length; i++) {
    const v = view.getFloat32(i * 4, true);
    if (!Number.isFinite(v)) throw nonFinite(name, i);
    out[i] = v;
  }
  return out;
}

/** A float16 tensor, widened to float32 (exactly). */
export function decodeFloat16(t: unknown, name: string): Float32Array {
  const view = decode(t, 'float16', name);
  const out = new Float32Array(view.byteLength / 2);
  for (let i = 0; i < out.length; i++) {
    const v = fromFloat16Bits(view.getUint16(i * 2, true));
    if (!Number.isFinite(v)) throw nonFinite(name, i);
    out[i] = v;
  }
  return out;
}

export function decodeInt8(t: unknown, name: string): Int8Array {
  const view = decode(t, 'int8', name);
  return new Int8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export function decodeUint8(t: unknown, name: string): Uint8Array {
  const view = decode(t, 'uint8', name);
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}
