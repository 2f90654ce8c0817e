/**
 * The JSON bodies of the Open Inference Protocol v2 REST API (KServe / Triton / MLServer), as written
 * in `inference_rest.md` and `open_inference_rest.yaml`. Types only: the values that arrive over HTTP
 * are `unknown` until `decodeInferRequest` has checked them.
 */

/**
 * `$parameters`. Values are `unknown` rather than the prose's `string | number | boolean` because
 * the OpenAPI schema accepts any object and servers in the wild send (and Ferry returns) richer
 * values, e.g. `classes: string[]`.
 */
export type Parameters = Record<string, unknown>;

/** v2 tensor element types. Ferry's text classifier only reads BYTES and only writes BYTES and FP32. */
export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** `$tensor_data`: row-major, either flat or nested in the tensor's natural shape. */
export type TensorElement = number | string | boolean;
export type TensorData = Array<TensorElement | TensorData>;

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Parameters;
  data: TensorData;
}

export interface InferenceResponse {
  model_name: string;
  /** The spec says servers without versioning should leave it out. */
  model_version?: string;
  /** Present exactly when the request carried an `id`. */
  id?: string;
  parameters?: Parameters;
  outputs: ResponseOutput[];
}

/** `$metadata_server_response`. */
export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}

/** `$metadata_tensor`; variable-size dimensions are -1. */
export interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** `$metadata_model_response`. */
export interface ModelMetadataResponse {
  name: string;
  versions?: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
}
