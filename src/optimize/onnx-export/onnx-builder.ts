import onnxProto from 'onnx-proto';

/*
 * The few pieces of the ONNX protobuf the export writes (onnx-proto: protobufjs static code of
 * onnx.proto v1.10). IR version 8 and opset 17: every operator used here has had its present
 * form since opset 13 (axes as an input of Unsqueeze and Squeeze), and onnxruntime-node 1.30
 * reads both.
 */
const { onnx } = onnxProto;
const ONNX_IR_VERSION = 8;
const ONNX_OPSET = 17;

export const DataType = onnx.TensorProto.DataType;
type DataTypeCode = onnxProto.onnx.TensorProto.DataType;

/** A symbolic dimension (a name) or a fixed one. */
export type Dim = string | number;

function bytesOf(view: ArrayBufferView): Uint8Array {
  // Typed arrays are little-endian on every platform Node runs on, as ONNX raw_data requires.
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export function floatTensor(name: string, dims: number[], data: Float32Array): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, rawData: bytesOf(data) });
}

export function int8Tensor(name: string, dims: number[], data: Int8Array): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: DataType.INT8, rawData: bytesOf(data) });
}

export function int64Tensor(
  name: string,
  dims: number[],
  data: readonly number[],
): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: DataType.INT64,
    rawData: bytesOf(BigInt64Array.from(data, (v) => BigInt(v))),
  });
}

export function stringTensor(
  name: string,
  dims: number[],
  data: readonly string[],
): onnxProto.onnx.TensorProto {
  const encoder = new TextEncoder();
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: DataType.STRING,
    stringData: data.map((s) => encoder.encode(s)),
  });
}

type AttributeValue = number | readonly number[] | string;

function attribute(name: string, value: AttributeValue): onnxProto.onnx.AttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return onnx.AttributeProto.create({ name, type: A.INT, i: value });
  if (typeof value === 'string')
    return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(value) });
  return onnx.AttributeProto.create({ name, type: A.INTS, ints: [...value] });
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, AttributeValue> = {},
): onnxProto.onnx.NodeProto {
  return onnx.NodeProto.create({
    opType,
    name: outputs[0] ?? opType,
    input: inputs,
    output: outputs,
    attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
  });
}

export function tensorValue(
  name: string,
  elemType: DataTypeCode,
  dims: Dim[],
): onnxProto.onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

export interface GraphParts {
  name: string;
  docString: string;
  nodes: onnxProto.onnx.NodeProto[];
  initializers: onnxProto.onnx.TensorProto[];
  inputs: onnxProto.onnx.ValueInfoProto[];
  outputs: onnxProto.onnx.ValueInfoProto[];
  metadata: Record<string, string>;
}

/** The serialized ModelProto of one graph in the default domain. */
export function encodeModel(parts: GraphParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'ferry',
    docString: parts.docString,
    graph: {
      name: parts.name,
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
    },
    metadataProps: Object.entries(parts.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
