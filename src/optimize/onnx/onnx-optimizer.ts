import { ErrorCode, FerryError } from '../../core/errors.js';
import { onnxKind, WEIGHT_ONLY_INT8_KEY } from '../../model/kinds/onnx/onnx-kind.js';
import { checkSparsity } from '../magnitude.js';
import type { KindOptimizer, OptimizedArtifact, PruneOptions, QuantizeOptions } from '../optimize-types.js';
import { storeFloat16 } from './float16.js';
import {
  decodeModel,
  defaultOpset,
  encodeModel,
  type ModelProto,
  unsupported,
  valueNames,
} from './onnx-model.js';
import { pruneMagnitude } from './prune-magnitude.js';
import { MIN_QUANTIZED_ELEMENTS, quantizeInt8 } from './quantize-int8.js';
import { scanWeights } from './weights.js';

/*
 * `ferry optimize` for ONNX graphs, on the artifact's bytes: int8 weight-only quantization
 * (DequantizeLinear), float16 storage (Cast), global magnitude pruning (sparse_initializer when
 * smaller). The rest of the graph is left as it is: each changed tensor is produced under its old
 * name, so inputs, outputs and every other node keep theirs.
 */

function invalid(message: string): FerryError {
  return new FerryError(ErrorCode.OPTIMIZE_INVALID, message);
}

function opsetOf(model: ModelProto): number {
  const opset = defaultOpset(model);
  if (opset === undefined || !Number.isSafeInteger(opset)) {
    throw unsupported(
      'the ONNX model imports no default (ai.onnx) operator set: cannot add standard nodes to it',
    );
  }
  return opset;
}

function done(model: ModelProto, before: Uint8Array, details: Record<string, unknown>): OptimizedArtifact {
  const artifact = encodeModel(model);
  return {
    kind: onnxKind.kind,
    artifact,
    details: { ...details, bytesBefore: before.length, bytesAfter: artifact.length },
  };
}

/**
 * Tells the onnx kind (model/kinds/onnx/onnx-kind.ts) that every DequantizeLinear of this graph reads
 * a constant: it can then let onnxruntime fold them into float weights once, at load, instead of
 * dequantizing at every call (which made these graphs ~9x slower per call than the float ones).
 */
function markWeightOnlyInt8(model: ModelProto): void {
  const props = (model.metadataProps ?? []).filter((p) => p.key !== WEIGHT_ONLY_INT8_KEY);
  props.push({ key: WEIGHT_ONLY_INT8_KEY, value: '1' });
  model.metadataProps = props;
}

async function quantize(artifact: Uint8Array, opts: QuantizeOptions): Promise<OptimizedArtifact> {
  if (opts.dtype !== 'int8' && opts.dtype !== 'float16') {
    throw invalid(`unknown dtype ${JSON.stringify(String(opts.dtype).slice(0, 50))}: int8 or float16`);
  }
  const model = decodeModel(artifact);
  const opset = opsetOf(model);
  const graph = model.graph!;
  const taken = valueNames(graph);
  if (opts.dtype === 'float16') {
    const result = storeFloat16(graph, opset, taken);
    if (result.converted === 0) {
      throw unsupported(
        `no FLOAT initializer of ${MIN_QUANTIZED_ELEMENTS} elements or more (within float16's range) to store as float16: the model would not shrink`,
      );
    }
    return done(model, artifact, {
      dtype: 'float16',
      storage: 'float16, cast to float32 at load',
      ...result,
    });
  }
  const scan = scanWeights(graph);
  const result = quantizeInt8(graph, scan.weights, opset, taken);
  if (result.quantized === 0) {
    throw unsupported(
      `no FLOAT weight of MatMul, Gemm or Conv with ${MIN_QUANTIZED_ELEMENTS} elements or more to quantize: the model would not shrink`,
    );
  }
  markWeightOnlyInt8(model);
  return done(model, artifact, {
    dtype: 'int8',
    scheme: 'weight-only, symmetric, DequantizeLinear to float32',
    opset,
    ...result,
    skipped: scan.skipped,
  });
}

async function prune(artifact: Uint8Array, opts: PruneOptions): Promise<OptimizedArtifact> {
  if (opts.method === 'structured') {
    throw unsupported(
      'structured pruning removes vocabulary features, which only the built-in text classifier has: prune an ONNX model with --method magnitude',
    );
  }
  if (opts.method !== 'magnitude')
    throw invalid(
      `unknown prune method ${JSON.stringify(String((opts as { method: unknown }).method).slice(0, 50))}`,
    );
  const { sparsity } = opts;
  checkSparsity(sparsity);
  if (opts.fineTune) {
    throw unsupported(
      'fine-tuning retrains the weights, which Ferry cannot do for an ONNX graph: prune it without fine-tuning',
    );
  }
  const model = decodeModel(artifact);
  const scan = scanWeights(model.graph!);
  if (scan.weights.length === 0)
    throw unsupported('the ONNX model has no FLOAT weight of MatMul, Gemm or Conv to prune');
  const result = pruneMagnitude(model, scan.weights, sparsity);
  return done(model, artifact, {
    method: 'magnitude',
    sparsity,
    achievedSparsity: result.zeroed / result.weightElements,
    ...result,
    skipped: scan.skipped,
  });
}

export const onnxOptimizer: KindOptimizer = {
  kind: onnxKind.kind,
  quantize: (artifact, opts) => quantize(artifact, opts),
  prune: (artifact, opts) => prune(artifact, opts),
};
