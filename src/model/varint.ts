import { invalidArtifact } from './artifact-fields.js';

/*
 * Unsigned LEB128 varints of values in [0, 2^32): small numbers (deltas between sorted hashes,
 * document frequencies, counts) take one or two bytes instead of four. Decoding is bounded: a
 * declared count, at most 5 bytes a value, nothing beyond 2^32 - 1, every byte used.
 */

const MAX_VARINT = 2 ** 32 - 1;

export function encodeVarints(values: ArrayLike<number>): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > MAX_VARINT) throw new RangeError(`varint out of range: ${v}`);
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
  }
  return Uint8Array.from(out);
}

/** Exactly `count` varints from `bytes`, which they must fill; MODEL_INVALID_ARTIFACT otherwise. */
export function decodeVarints(bytes: Uint8Array, count: number, name: string): Float64Array {
  const out = new Float64Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    let scale = 1;
    for (let k = 0; ; k++) {
      if (at >= bytes.length || k >= 5) throw invalidArtifact(`${name}: truncated or overlong varint`);
      const b = bytes[at++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
    }
    if (v > MAX_VARINT) throw invalidArtifact(`${name}: varint beyond 2^32 - 1`);
    out[i] = v;
  }
  if (at !== bytes.length)
    throw invalidArtifact(`${name}: ${bytes.length - at} bytes after ${count} varints`);
  return out;
}
