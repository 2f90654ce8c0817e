import onnx from 'onnx-proto';
import { zeroSmallest } from '../magnitude.js';
import {
  DataType,
  elementCount,
  type GraphProto,
  type ModelProto,
  rawBytes,
  readFloats,
  sparseTensor,
  type TensorProto,
  tensor,
  toNumber,
} from './onnx-model.js';
import type { Weight } from './weights.js';

/** sparse_initializer came with IR version 6 (ONNX 1.6): older models keep dense zeros. */
const SPARSE_IR_VERSION = 6;

/** The tensor as a SparseTensorProto (values + linear INT64 indices, as the ONNX checker wants). */
function asSparse(name: string, dims: readonly number[], values: Float32Array): onnx.onnx.ISparseTensorProto {
  let nonZero = 0;
  for (const v of values) if (v !== 0) nonZero++;
  const kept = new Float32Array(nonZero);
  const indices = new BigInt64Array(nonZero);
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== 0) {
      kept[j] = values[i]!;
      indices[j++] = BigInt(i);
    }
  }
  return sparseTensor(
    tensor(name, DataType.FLOAT, [nonZero], rawBytes(kept)),
    tensor('', DataType.INT64, [nonZero], rawBytes(indices)),
    dims,
  );
}

function encodedSize(t: TensorProto | onnx.onnx.ISparseTensorProto, sparse: boolean): number {
  return sparse
    ? onnx.onnx.SparseTensorProto.encode(t as onnx.onnx.ISparseTensorProto).finish().length
    : onnx.onnx.TensorProto.encode(t as TensorProto).finish().length;
}

export interface PruneResult {
  weights: number;
  weightElements: number;
  zeroed: number;
  /** Weights stored as sparse_initializer (smaller that way); the others are dense with zeros. */
  storedSparse: number;
}

/**
 * Global magnitude pruning: the smallest |w| over all weights, whichever tensor holds them, become
 * zero. Each pruned tensor is stored as a sparse_initializer when that encodes smaller (past about
 * 2/3 zeros, with 8-byte indices), else dense.
 */
export function pruneMagnitude(model: ModelProto, weights: readonly Weight[], sparsity: number): PruneResult {
  const graph = model.graph as GraphProto;
  const values = weights.map((w) => readFloats(w.tensor, elementCount(w.dims)));
  const zeroed = zeroSmallest(values, sparsity);
  const sparseAllowed = toNumber(model.irVersion) >= SPARSE_IR_VERSION;
  const replaced = new Set<TensorProto>();
  const dense: TensorProto[] = [];
  const sparse: onnx.onnx.ISparseTensorProto[] = [];
  weights.forEach((w, i) => {
    const d = tensor(w.name, DataType.FLOAT, w.dims, rawBytes(values[i]!));
    const s = sparseAllowed ? asSparse(w.name, w.dims, values[i]!) : null;
    replaced.add(w.tensor);
    if (s && encodedSize(s, true) < encodedSize(d, false)) sparse.push(s);
    else dense.push(d);
  });
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !replaced.has(t)), ...dense];
  graph.sparseInitializer = [...(graph.sparseInitializer ?? []), ...sparse];
  return {
    weights: weights.length,
    weightElements: values.reduce((a, v) => a + v.length, 0),
    zeroed,
    storedSparse: sparse.length,
  };
}
