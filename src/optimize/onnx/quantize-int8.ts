import {
  DataType,
  elementCount,
  freshName,
  type GraphProto,
  intAttribute,
  type NodeProto,
  node,
  rawBytes,
  readFloats,
  type TensorProto,
  tensor,
  unsupported,
} from './onnx-model.js';
import type { Weight } from './weights.js';

/** Tensors smaller than this stay FLOAT: their scale and node would cost about what they save. */
export const MIN_QUANTIZED_ELEMENTS = 1024;

/**
 * Symmetric int8 with one scale per slice of `axis` (or one for the tensor): the rule of
 * src/model/heads/int8-weights.ts (scale = max |w| / 127, q = round(w / scale) in [-127, 127]),
 * here for any axis of a row-major tensor.
 */
function quantizeAxis(
  values: Float32Array,
  dims: readonly number[],
  axis: number | null,
): { q: Int8Array; scales: Float32Array } {
  const channels = axis === null ? 1 : dims[axis]!;
  const inner = axis === null ? values.length : elementCount(dims.slice(axis + 1));
  const channelOf = (i: number) => (axis === null ? 0 : Math.floor(i / inner) % channels);
  const scales = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(i);
    scales[c] = Math.max(scales[c]!, Math.abs(values[i]!));
  }
  // An all-zero channel keeps scale 1 (its values are all 0 anyway): DequantizeLinear wants a scale > 0.
  for (let c = 0; c < channels; c++) scales[c] = scales[c]! === 0 ? 1 : scales[c]! / 127;
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    q[i] = Math.max(-127, Math.min(127, Math.round(values[i]! / scales[channelOf(i)]!)));
  }
  return { q, scales };
}

export interface Int8Result {
  quantized: number;
  perAxis: number;
  perTensor: number;
  tooSmall: number;
}

/**
 * Replaces each weight by INT8 values, a scale and a zero point 0, and a DequantizeLinear node that
 * produces the weight's original name, so every node reading it is unchanged. Per-axis scales need
 * DequantizeLinear's `axis` (opset 13); opset 10-12 get one scale per tensor. onnxruntime does not
 * constant-fold DequantizeLinear (unless `session.disable_quant_qdq` is set), so the weights are
 * dequantized on every call: smaller, not faster (docs/optimization.md, "ONNX models").
 */
export function quantizeInt8(
  graph: GraphProto,
  weights: readonly Weight[],
  opset: number,
  taken: Set<string>,
): Int8Result {
  if (opset < 10) {
    throw unsupported(
      `int8 quantization needs DequantizeLinear (ONNX opset 10 or later); the model imports opset ${opset}`,
    );
  }
  const result: Int8Result = { quantized: 0, perAxis: 0, perTensor: 0, tooSmall: 0 };
  const replaced = new Set<TensorProto>();
  const added: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  for (const w of weights) {
    const count = elementCount(w.dims);
    if (count < MIN_QUANTIZED_ELEMENTS) {
      result.tooSmall++;
      continue;
    }
    const axis = opset >= 13 ? w.axis : null;
    const { q, scales } = quantizeAxis(readFloats(w.tensor, count), w.dims, axis);
    const scaleDims = axis === null ? [] : [scales.length];
    const qName = freshName(taken, `${w.name}_quantized`);
    const scaleName = freshName(taken, `${w.name}_scale`);
    const zeroName = freshName(taken, `${w.name}_zero_point`);
    added.push(
      tensor(qName, DataType.INT8, w.dims, rawBytes(q)),
      tensor(scaleName, DataType.FLOAT, scaleDims, rawBytes(scales)),
      tensor(zeroName, DataType.INT8, scaleDims, new Uint8Array(scales.length)),
    );
    const attributes = axis === null ? [] : [intAttribute('axis', axis)];
    nodes.push(node('DequantizeLinear', [qName, scaleName, zeroName], w.name, attributes));
    replaced.add(w.tensor);
    result.quantized++;
    if (axis === null) result.perTensor++;
    else result.perAxis++;
  }
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !replaced.has(t)), ...added];
  // Their inputs are initializers only: first in the list keeps the nodes topologically sorted.
  graph.node = [...nodes, ...(graph.node ?? [])];
  return result;
}
