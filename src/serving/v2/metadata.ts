import type { Signature, TensorSpec } from '../../model/tensor.js';
import type { MetadataTensor, ModelMetadataResponse, ServerMetadataResponse } from './types.js';

/** `$metadata_server_response`. Ferry implements none of the optional v2 extensions (binary data, …). */
export function serverMetadata(name: string, version: string): ServerMetadataResponse {
  return { name, version, extensions: [] };
}

function tensor(spec: TensorSpec): MetadataTensor {
  // Copied so a caller mutating the response cannot reach into the model's frozen signature.
  return { name: spec.name, datatype: spec.datatype, shape: [...spec.shape] };
}

/**
 * `$metadata_model_response`. Shapes come from the signature, where -1 already marks variable
 * dimensions (the batch size n, and the class count, which the signature does not fix).
 * `versions` is left out when empty: the spec makes it optional for models that cannot be
 * addressed by version, and an empty list would claim no version can be requested.
 */
export function modelMetadata(
  name: string,
  versions: readonly string[],
  signature: Signature,
  platform = 'ferry',
): ModelMetadataResponse {
  return {
    name,
    ...(versions.length === 0 ? {} : { versions: [...versions] }),
    platform,
    inputs: signature.inputs.map(tensor),
    outputs: signature.outputs.map(tensor),
  };
}
