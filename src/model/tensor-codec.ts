import { ErrorCode, FerryError } from '../core/errors.js';

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
  const e = t as Partial<EncodedTensor> | undefined;
  if (!e || e.dtype !== dtype || typeof e.length !== 'number' || typeof e.data !== 'string') {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" is missing or not ${dtype}`,
    );
  }
  const bytes = Buffer.from(e.data, 'base64');
  if (bytes.length !== e.length * 4) {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_ARTIFACT,
      `artifact tensor "${name}" has ${bytes.length} bytes, expected ${e.length * 4}`,
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
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
