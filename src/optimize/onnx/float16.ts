import { FLOAT16_MAX, toFloat16Bits } from '../../model/float16.js';
import {
  DataType,
  dimsOf,
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
import { MIN_QUANTIZED_ELEMENTS } from './quantize-int8.js';

export interface Float16Result {
  converted: number;
  tooSmall: number;
  /** Tensors with a value beyond float16's range, left FLOAT. */
  outOfRange: number;
}

/**
 * Storage only: each FLOAT initializer (weights, biases...) is stored as FLOAT16 with a Cast back to
 * FLOAT producing its original name, so the graph computes in float32 as before, on values rounded
 * to float16. Initializers a caller may override (also graph inputs) stay as they are.
 */
export function storeFloat16(graph: GraphProto, opset: number, taken: Set<string>): Float16Result {
  if (opset < 6)
    throw unsupported(
      `float16 storage needs Cast with a "to" attribute (opset 6 or later); the model imports opset ${opset}`,
    );
  const graphInputs = new Set((graph.input ?? []).map((v) => v.name ?? ''));
  const result: Float16Result = { converted: 0, tooSmall: 0, outOfRange: 0 };
  const replaced = new Set<TensorProto>();
  const added: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  for (const t of graph.initializer ?? []) {
    if (t.dataType !== DataType.FLOAT || !t.name || graphInputs.has(t.name)) continue;
    const dims = dimsOf(t);
    const count = elementCount(dims);
    if (count < MIN_QUANTIZED_ELEMENTS) {
      result.tooSmall++;
      continue;
    }
    const values = readFloats(t, count);
    if (values.some((v) => !(Math.abs(v) <= FLOAT16_MAX))) {
      result.outOfRange++;
      continue;
    }
    const half = new Uint16Array(count);
    for (let i = 0; i < count; i++) half[i] = toFloat16Bits(values[i]!);
    const storedName = freshName(taken, `${t.name}_float16`);
    added.push(tensor(storedName, DataType.FLOAT16, dims, rawBytes(half)));
    nodes.push(node('Cast', [storedName], t.name, [intAttribute('to', DataType.FLOAT)]));
    replaced.add(t);
    result.converted++;
  }
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !replaced.has(t)), ...added];
  graph.node = [...nodes, ...(graph.node ?? [])];
  return result;
}
