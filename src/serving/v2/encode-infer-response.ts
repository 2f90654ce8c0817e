import { ErrorCode, FerryError } from '../../core/errors.js';
import type { NamedTensors, Signature } from '../../model/tensor.js';
import type { InferenceResponse, ResponseOutput } from './types.js';

export interface EncodeInferResponseArgs {
  modelName: string;
  modelVersion: string;
  /** The request's `id`; the spec requires it to be echoed when given. */
  id?: string;
  signature: Signature;
  /** The column order of a classifier's `probabilities`, returned as that output's `classes` parameter. */
  classes: readonly string[];
  outputs: NamedTensors;
  /** From decodeInferRequest; absent means every output, in the signature's order. */
  requestedOutputs?: string[];
}

/** A bug on the server side, not a client mistake: hence INTERNAL/500 rather than the v2 400 code. */
function inconsistent(message: string): FerryError {
  return new FerryError(ErrorCode.INTERNAL, `v2 response: ${message}`);
}

/** Builds the v2 `$inference_response` from a model's output tensors. */
export function encodeInferResponse(args: EncodeInferResponseArgs): InferenceResponse {
  const known = args.signature.outputs.map((o) => o.name);
  const wanted = args.requestedOutputs ?? known;
  const outputs = wanted.map((name): ResponseOutput => {
    const t = args.outputs[name];
    if (t === undefined) throw inconsistent(`the model gave no output "${name}"`);
    if (t.datatype === 'FP32' || t.datatype === 'FP64') {
      // JSON has no NaN/Infinity (JSON.stringify would write null): refuse rather than corrupt.
      const at = (t.data as readonly number[]).findIndex((v) => !Number.isFinite(v));
      if (at >= 0)
        throw new FerryError(
          ErrorCode.MODEL_PREDICT_FAILED,
          `output "${name}" holds a non-finite value at ${at}`,
        );
    }
    return {
      name,
      datatype: t.datatype,
      shape: [...t.shape],
      // The spec lets outputs carry parameters; this is the only place a v2 client can learn the columns.
      ...(name === 'probabilities' && args.classes.length > 0
        ? { parameters: { classes: [...args.classes] } }
        : {}),
      // The model's fresh arrays, serialised at once: no copy (tensors are never mutated after infer).
      data: t.data as ResponseOutput['data'],
    };
  });
  return {
    model_name: args.modelName,
    model_version: args.modelVersion,
    ...(args.id === undefined ? {} : { id: args.id }),
    outputs,
  };
}
