import { ErrorCode, FerryError } from '../core/errors.js';
import { ownField } from './artifact-fields.js';

/** The most elements a decoded tensor may declare (256 MiB of 4-byte values): a bound set before allocating. */
const MAX_TENSOR_LENGTH = 2 ** 26;

/*
 * Typed arrays travel inside JSON artifacts as base64 of their little-endian bytes. Little-endian
 * is written explicitly so that an artifact means the same thing on every machine.
 */
export interface EncodedTensor {
  dtype: 'int32' | 'float32';
  length: number;
  data: string;
}

export function encodeTensor(a: Int32Array | Float32Array): EncodedTensor {
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

function decode(t: unknown, dtype: EncodedTensor['dtype'], name: string): DataView {
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
  // The declared size fixes the text's length (padded base64), checked before anything is decoded.
  if (data.length !== 4 * Math.ceil((length * 4) / 3)) {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" has ${data.length} base64 characters, not those of ${length} elements`,
    );
  }
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== length * 4) {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" has ${bytes.length} bytes, expected ${length * 4}`,
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

export function decodeFloat32(t: unknown, name: string): Float32Array {
  const view = decode(t, 'float32', name);
  const out = new Float32Array(view.byteLength / 4);
  for (let i = 0; i < out.length; i++) {
    const v = view.getFloat32(i * 4, true);
    // A NaN or an infinity would turn every prediction into NaN probabilities.
    if (!Number.isFinite(v)) {
      throw new FerryError(
        ErrorCode.MODEL_INVALID_ARTIFACT,
        `artifact tensor "${name}" holds a non-finite value at ${i}`,
      );
    }
    out[i] = v;
  }
  return out;
}
