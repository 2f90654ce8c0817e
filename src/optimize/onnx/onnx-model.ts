import onnx from 'onnx-proto';
import { ErrorCode, FerryError } from '../../core/errors.js';

/*
 * Decoding and encoding an ONNX ModelProto for the optimizer, with the checks an untrusted file
 * needs: a decode failure, a model without a graph or with external data is refused with a
 * FerryError, never a crash. protobufjs 6 static code (onnx-proto, ONNX 1.10.2 schema): fields a
 * newer ONNX added are dropped on the way through, which is why only what we change is touched.
 */

export type ModelProto = onnx.onnx.ModelProto;
export type GraphProto = onnx.onnx.IGraphProto;
export type TensorProto = onnx.onnx.ITensorProto;
export type NodeProto = onnx.onnx.INodeProto;
export const DataType = onnx.onnx.TensorProto.DataType;
const EXTERNAL = onnx.onnx.TensorProto.DataLocation.EXTERNAL;

/** Above this the artifact is refused: decoding copies it several times in memory. */
const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;
/** An initializer larger than this is not a weight we handle (and protobuf caps a model at 2 GiB). */
const MAX_ELEMENTS = 256 * 1024 * 1024;

function loadFailed(message: string, cause?: unknown): FerryError {
  return new FerryError(ErrorCode.MODEL_LOAD_FAILED, message, cause === undefined ? {} : { cause });
}

export function unsupported(message: string): FerryError {
  return new FerryError(ErrorCode.OPTIMIZE_UNSUPPORTED, message);
}

/** A protobuf int64 (a Long or a number) as a number; NaN when it is not one. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object' && 'toNumber' in v && typeof v.toNumber === 'function') {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number.NaN;
}

/** The dims of a tensor, checked: whole, not negative, a bounded product. */
export function dimsOf(t: TensorProto): number[] {
  const dims = (t.dims ?? []).map(toNumber);
  let size = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw loadFailed(`initializer "${t.name}" has a malformed shape`);
    size *= d;
    if (size > MAX_ELEMENTS)
      throw unsupported(`initializer "${t.name}" is too large (over ${MAX_ELEMENTS} elements)`);
  }
  return dims;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function hasExternalData(t: TensorProto | null | undefined): boolean {
  return !!t && (t.dataLocation === EXTERNAL || (t.externalData?.length ?? 0) > 0);
}

export function decodeModel(artifact: Uint8Array): ModelProto {
  if (artifact.length > MAX_ARTIFACT_BYTES) {
    throw unsupported(
      `the ONNX model is ${artifact.length} bytes; the optimizer handles up to ${MAX_ARTIFACT_BYTES}`,
    );
  }
  let model: ModelProto;
  try {
    model = onnx.onnx.ModelProto.decode(artifact);
  } catch (e) {
    throw loadFailed('the artifact is not an ONNX model (its protobuf does not decode)', e);
  }
  const graph = model.graph;
  if (!graph || (graph.node?.length ?? 0) === 0) throw loadFailed('the ONNX model has no graph (no nodes)');
  const external = [...(graph.initializer ?? []), ...(graph.sparseInitializer ?? []).map((s) => s.values)];
  if (external.some(hasExternalData)) {
    throw unsupported(
      'the ONNX model keeps its weights in external data files, which a Ferry artifact (one file) cannot carry: save it with the weights inside the .onnx',
    );
  }
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.onnx.ModelProto.encode(model).finish();
}

/** The version of the default ONNX operator set the model imports; undefined when it imports none. */
export function defaultOpset(model: ModelProto): number | undefined {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? toNumber(entry.version) : undefined;
}

/** A FLOAT tensor's values (a copy), from raw_data (little-endian, as ONNX stores it) or float_data. */
export function readFloats(t: TensorProto, count: number): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * 4)
      throw loadFailed(`initializer "${t.name}" has ${t.rawData.length} bytes for ${count} floats`);
    const out = new Float32Array(count);
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const data = t.floatData ?? [];
  if (data.length !== count)
    throw loadFailed(`initializer "${t.name}" has ${data.length} floats for ${count}`);
  return Float32Array.from(data);
}

/** Bytes of a typed array as little-endian raw_data (the machines Node runs on are little-endian). */
export function rawBytes(a: Float32Array | Int8Array | Uint16Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

export function tensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  raw: Uint8Array,
): TensorProto {
  return onnx.onnx.TensorProto.create({ name, dataType, dims: [...dims], rawData: raw });
}

export function node(
  opType: string,
  inputs: string[],
  output: string,
  attributes: onnx.onnx.IAttributeProto[] = [],
): NodeProto {
  return onnx.onnx.NodeProto.create({
    opType,
    input: inputs,
    output: [output],
    name: `ferry/${opType}/${output}`,
    attribute: attributes,
  });
}

export function intAttribute(name: string, value: number): onnx.onnx.IAttributeProto {
  return onnx.onnx.AttributeProto.create({
    name,
    type: onnx.onnx.AttributeProto.AttributeType.INT,
    i: value,
  });
}

export function sparseTensor(
  values: TensorProto,
  indices: TensorProto,
  dims: readonly number[],
): onnx.onnx.ISparseTensorProto {
  return onnx.onnx.SparseTensorProto.create({ values, indices, dims: [...dims] });
}

/** A name no value of the graph has, built from `base`. */
export function freshName(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** Every value name of the graph (inputs, outputs, initializers, node outputs), for fresh names. */
export function valueNames(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])])
    names.add(v.name ?? '');
  for (const t of graph.initializer ?? []) names.add(t.name ?? '');
  for (const s of graph.sparseInitializer ?? []) names.add(s.values?.name ?? '');
  for (const n of graph.node ?? []) for (const o of n.output ?? []) names.add(o);
  return names;
}
