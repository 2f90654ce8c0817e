import { ErrorCode, FerryError } from '../../../core/errors.js';
import type { Datatype, Signature, TensorSpec } from '../../tensor.js';
import type { OrtSession, OrtValueMetadata } from './runtime.js';

/** onnxruntime's tensor types Ferry serves, by their v2 name. float16, bfloat16, int4... are not: JSON cannot carry them exactly. */
export const ORT_TYPE_OF: Readonly<Record<Datatype, string>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const DATATYPE_OF = new Map<string, Datatype>(
  Object.entries(ORT_TYPE_OF).map(([datatype, ort]) => [ort, datatype as Datatype]),
);

function invalid(message: string): FerryError {
  return new FerryError(ErrorCode.MODEL_INVALID_SIGNATURE, message);
}

function specOf(m: OrtValueMetadata, where: 'input' | 'output'): TensorSpec {
  if (!m.isTensor) {
    throw invalid(
      `the ONNX graph's ${where} "${m.name}" is not a tensor (a sequence or a map): Ferry serves tensors only`,
    );
  }
  const datatype = DATATYPE_OF.get(m.type);
  if (datatype === undefined) {
    throw invalid(
      `the ONNX graph's ${where} "${m.name}" is of type ${m.type}, which Ferry cannot serve (it serves ${[...DATATYPE_OF.keys()].join(', ')})`,
    );
  }
  // A symbolic dimension ("batch") or an unnamed unknown one is any size. onnxruntime reports an
  // unknown rank as [] too, the same as a scalar: the graph's declared rank is all there is to go on.
  return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) };
}

/** The signature the graph declares (batchable derived from it: every dimension 0 variable). */
export function graphSignature(session: OrtSession): Signature {
  return {
    inputs: session.inputMetadata.map((m) => specOf(m, 'input')),
    outputs: session.outputMetadata.map((m) => specOf(m, 'output')),
  };
}
