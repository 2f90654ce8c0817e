import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Prediction } from '../../model/model.js';
import { V2_OUTPUT_NAMES } from './decode-infer-request.js';
import type { InferenceResponse, ResponseOutput } from './types.js';

export interface EncodeInferResponseArgs {
  modelName: string;
  modelVersion: string;
  /** The request's `id`; the spec requires it to be echoed when given. */
  id?: string;
  /** Column order of `probabilities`; normally `model.classes`. */
  classes: readonly string[];
  predictions: readonly Prediction[];
  /** From decodeInferRequest; absent means every output. */
  requestedOutputs?: string[];
}

/** A bug on the server side, not a client mistake: hence INTERNAL/500 rather than the v2 400 code. */
function inconsistent(message: string): FerryError {
  return new FerryError(ErrorCode.INTERNAL, `v2 response: ${message}`);
}

function labelOutput(predictions: readonly Prediction[]): ResponseOutput {
  return {
    name: 'label',
    datatype: 'BYTES',
    shape: [predictions.length],
    data: predictions.map((p) => p.prediction),
  };
}

function probabilitiesOutput(classes: readonly string[], predictions: readonly Prediction[]): ResponseOutput {
  const data: number[] = new Array(predictions.length * classes.length);
  predictions.forEach((p, row) => {
    classes.forEach((c, col) => {
      const value = p.probabilities[c];
      // JSON has no NaN/Infinity (JSON.stringify would write null), and a missing class would shift
      // every later column: either would silently corrupt the tensor for the client.
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw inconsistent(`prediction ${row} has no finite probability for class "${c}"`);
      }
      data[row * classes.length + col] = value;
    });
  });
  return {
    name: 'probabilities',
    datatype: 'FP32',
    shape: [predictions.length, classes.length],
    // The spec lets outputs carry parameters; this is the only place a v2 client can learn the columns.
    parameters: { classes: [...classes] },
    data,
  };
}

/** Builds the v2 `$inference_response` for the text classifier's predictions. */
export function encodeInferResponse(args: EncodeInferResponseArgs): InferenceResponse {
  const { predictions, classes } = args;
  const wanted = args.requestedOutputs ?? [...V2_OUTPUT_NAMES];
  const outputs = wanted.map((name): ResponseOutput => {
    if (name === 'label') return labelOutput(predictions);
    if (name === 'probabilities') return probabilitiesOutput(classes, predictions);
    // decodeInferRequest already refuses unknown names; reaching here means a caller skipped it.
    throw inconsistent(`unknown output "${name}"`);
  });

  return {
    model_name: args.modelName,
    model_version: args.modelVersion,
    ...(args.id === undefined ? {} : { id: args.id }),
    outputs,
  };
}
