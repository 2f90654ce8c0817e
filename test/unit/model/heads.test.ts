import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/core/random.js';
import { fromFloat16Bits, roundToFloat16, toFloat16Bits } from '../../../src/model/float16.js';
import { Float16Head } from '../../../src/model/heads/float16-head.js';
import { Int8Head } from '../../../src/model/heads/int8-head.js';
import { compactHead, SparseHead } from '../../../src/model/heads/sparse-head.js';
import { DenseHead } from '../../../src/model/linear-head.js';
import { decodeVarints, encodeVarints } from '../../../src/model/varint.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const FEATURES = 300;
const K = 5;
const random = seededRandom(7);
const weights = Float32Array.from({ length: FEATURES * K }, () => (random() - 0.5) * 8);
const bias = Float32Array.from({ length: K }, () => random() - 0.5);
/** Sparse rows as the tf-idf makes them: a few distinct features, positive values. */
const rows = Array.from({ length: 50 }, () => {
  const indices = [...new Set(Array.from({ length: 20 }, () => Math.floor(random() * FEATURES)))];
  return { indices, values: indices.map(() => random()) };
});
const logitsOf = (head: { logits: DenseHead['logits'] }, row: (typeof rows)[number]) => {
  const out = new Float64Array(K);
  head.logits(row.indices, row.values, out);
  return out;
};

describe('DenseHead', () => {
  it('gives the same bits with four classes (its unrolled path) as the general loop', () => {
    const four = Float32Array.from({ length: FEATURES * 4 }, () => (random() - 0.5) * 8);
    const fourBias = Float32Array.from({ length: 4 }, () => random() - 0.5);
    const head = new DenseHead(four, fourBias);
    for (const row of rows) {
      const expected = Float64Array.from(fourBias);
      row.indices.forEach((f, p) => {
        for (let c = 0; c < 4; c++) expected[c]! += row.values[p]! * four[f * 4 + c]!;
      });
      const out = new Float64Array(4);
      head.logits(row.indices, row.values, out);
      expect(Array.from(out)).toEqual(Array.from(expected));
      // A count reads only the first entries, as the request path's reusable arrays need.
      const half = Math.floor(row.indices.length / 2);
      const partial = new Float64Array(4);
      head.logits(row.indices, row.values, partial, half);
      const cut = new Float64Array(4);
      head.logits(row.indices.slice(0, half), row.values.slice(0, half), cut);
      expect(Array.from(partial)).toEqual(Array.from(cut));
    }
  });
});

describe('Int8Head', () => {
  const dense = new DenseHead(weights, bias);
  const int8 = Int8Head.quantize(dense);

  it('holds int8 values and a scale per class, no float copy of the weights', () => {
    expect(int8.storage).toBe('int8');
    expect(int8.values).toBeInstanceOf(Int8Array);
    expect(int8.byteLength).toBe(FEATURES * K + 2 * K * 4);
    expect(Object.values(int8).some((v) => v instanceof Float32Array && v.length === FEATURES * K)).toBe(
      false,
    );
  });

  it('gives the dense logits within the quantization error (|Σ v·(w - q·s)| <= Σ|v| · s/2)', () => {
    for (const row of rows) {
      const exact = logitsOf(dense, row);
      const got = logitsOf(int8, row);
      const l1 = row.values.reduce((s, v) => s + Math.abs(v), 0);
      for (let c = 0; c < K; c++) {
        expect(Math.abs(got[c]! - exact[c]!)).toBeLessThanOrEqual((l1 * int8.scales[c]!) / 2 + 1e-9);
      }
    }
  });

  it('computes its dequantized weights (up to their float32 rounding)', () => {
    const dequantized = new DenseHead(int8.denseWeights(), int8.bias);
    for (const row of rows) {
      const a = logitsOf(int8, row);
      const b = logitsOf(dequantized, row);
      for (let c = 0; c < K; c++) expect(a[c]).toBeCloseTo(b[c]!, 5);
    }
  });
});

describe('SparseHead', () => {
  const pruned = Float32Array.from(weights, (w) => (Math.abs(w) < 3 ? 0 : w));
  const sparse = SparseHead.fromDense(pruned, bias);

  it('holds only the nonzero weights and gives the dense logits of the kept weights exactly', () => {
    expect(sparse.nonzeros).toBe(pruned.filter((w) => w !== 0).length);
    expect(sparse.nonzeros).toBeLessThan(pruned.length / 2);
    const dense = new DenseHead(pruned, bias);
    for (const row of rows) expect(logitsOf(sparse, row)).toEqual(logitsOf(dense, row));
    expect(sparse.denseWeights()).toEqual(pruned);
  });

  it('compactHead: sparse when at least half of the weights are zero, else the head as is', () => {
    const dense = new DenseHead(weights, bias);
    expect(compactHead(dense)).toBe(dense);
    const compact = compactHead(new DenseHead(pruned, bias));
    expect(compact).toBeInstanceOf(SparseHead);
    expect(compact.denseWeights()).toEqual(pruned);
    const half = Float32Array.from(weights, (w, i) => (i % 2 === 0 ? 0 : w));
    expect(compactHead(new DenseHead(half, bias))).toBeInstanceOf(SparseHead);
  });
});

describe('Float16Head and float16', () => {
  it('rounds to nearest even and maps the edges', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00); // rounds up past the largest half: infinity
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -26)).toBe(0); // below half of it: zero
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie goes to the even mantissa
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromFloat16Bits(0x3555)).toBeCloseTo(1 / 3, 3);
    for (let bits = 0; bits < 0x7c00; bits += 37) expect(toFloat16Bits(fromFloat16Bits(bits))).toBe(bits);
  });

  it('keeps float16 values and computes the dense path on them', () => {
    const head = Float16Head.round(new DenseHead(weights, bias));
    expect(head.storage).toBe('float16');
    const rounded = Float32Array.from(weights, roundToFloat16);
    expect(head.denseWeights()).toEqual(rounded);
    for (const row of rows) expect(logitsOf(head, row)).toEqual(logitsOf(new DenseHead(rounded, bias), row));
  });
});

describe('varints', () => {
  it('round-trip values in [0, 2^32) and refuse truncated, overlong or extra bytes', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 21, 2 ** 32 - 1];
    const bytes = encodeVarints(values);
    expect(Array.from(decodeVarints(bytes, values.length, 'v'))).toEqual(values);
    expectFerryErrorSync(
      () => decodeVarints(bytes.subarray(0, bytes.length - 1), values.length, 'v'),
      'FERRY_MODEL_INVALID_ARTIFACT',
    );
    expectFerryErrorSync(() => decodeVarints(bytes, values.length - 1, 'v'), 'FERRY_MODEL_INVALID_ARTIFACT');
    expectFerryErrorSync(
      () => decodeVarints(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 1, 'v'),
      'FERRY_MODEL_INVALID_ARTIFACT',
    );
    expectFerryErrorSync(
      () => decodeVarints(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7f), 1, 'v'),
      'FERRY_MODEL_INVALID_ARTIFACT',
    );
  });
});
