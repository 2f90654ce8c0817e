/*
 * IEEE 754 half precision (binary16), for storing weights in 2 bytes. Node 20 has no Math.f16round,
 * so the conversions are written out: float32 -> float16 rounds to nearest, ties to even (what
 * hardware and numpy do), so a value round-trips to the nearest representable half.
 */

/** The largest finite float16: weights beyond it cannot be stored as float16. */
export const FLOAT16_MAX = 65504;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits nearest to `value` (values beyond ±65504 become ±Infinity, NaN stays NaN). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa (with its implicit 1) into place.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out += 1;
    return sign | out;
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Round to nearest even; a carry out of the mantissa correctly bumps the exponent.
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out += 1;
  return sign | out;
}

/** The value of float16 `bits` (exact: every half is a float32). */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** `value` rounded to the nearest float16 (as a number). */
export function roundToFloat16(value: number): number {
  return fromFloat16Bits(toFloat16Bits(value));
}
