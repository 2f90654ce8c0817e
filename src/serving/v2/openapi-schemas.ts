/**
 * JSON Schemas (draft-07, no `$ref`, no `$id`) for the v2 bodies, mirroring the components of
 * `open_inference_rest.yaml`, for fastify route `schema` and @fastify/swagger.
 *
 * How the HTTP layer must use them:
 * - Request body: with fastify's default Ajv (`coerceTypes: 'array'`) validation would rewrite the body
 *   before decodeInferRequest sees it (`"id": 42` becomes `"42"`, `1` in BYTES data becomes `"1"`, a
 *   scalar `data` becomes an array), hiding exactly the errors the protocol wants reported; with
 *   coercion off it would still answer first, with Ajv's wording instead of the decoder's. Attach
 *   `v2InferRequestSchema` for documentation and give that route a validator that accepts anything,
 *   e.g. `validatorCompiler: () => () => true`, so decodeInferRequest produces every 400.
 * - Responses: fastify serialises with fast-json-stringify, which drops properties a schema does not
 *   list; every `parameters` object therefore says `additionalProperties: true`, so that
 *   `probabilities.parameters.classes` survives.
 *
 * Self-contained (no shared `$id` schemas) so each can be dropped into any route without addSchema;
 * the recursive `tensor_data` of the OpenAPI file is unrolled to "array of scalars or arrays".
 */

/** `$parameters`: free-form key/value pairs, as in the OpenAPI file (the prose is narrower, see types.ts). */
const parametersSchema = {
  type: 'object',
  description: 'Key/value pairs. On the "probabilities" output, "classes" lists the column labels in order.',
  additionalProperties: true,
} as const;

/** `$tensor_data`: the OpenAPI file's recursive definition, unrolled because route schemas have no $ref. */
const tensorDataSchema = {
  type: 'array',
  description:
    'Tensor elements in row-major order, either flat or nested in the natural shape. BYTES elements are JSON strings.',
  items: {
    anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'array' }],
  },
} as const;

/**
 * Response `data` leaves out `items`: fast-json-stringify resolves an `anyOf` per element, which made a
 * 1000-row response about three times slower to serialise, while an item-less array goes straight
 * through. The element types are still fixed by `datatype` and documented here.
 */
const responseTensorDataSchema = {
  type: 'array',
  description:
    'Tensor elements in row-major order, flat: strings for BYTES ("label"), numbers for FP32 ("probabilities").',
} as const;

const shapeSchema = {
  type: 'array',
  description: 'Dimensions of the tensor.',
  items: { type: 'integer' },
} as const;

/** `$request_input`. */
const requestInputSchema = {
  type: 'object',
  description:
    'An input tensor. Ferry reads "title" (required) and "description" (optional), both BYTES with shape [n] or [n, 1].',
  properties: {
    name: { type: 'string', description: '"title" or "description".' },
    shape: shapeSchema,
    datatype: { type: 'string', description: 'Must be "BYTES".' },
    parameters: parametersSchema,
    data: tensorDataSchema,
  },
  required: ['name', 'shape', 'datatype', 'data'],
  additionalProperties: true,
} as const;

/** `$request_output`. */
const requestOutputSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: '"label" or "probabilities".' },
    parameters: parametersSchema,
  },
  required: ['name'],
  additionalProperties: true,
} as const;

/** `$inference_request`. */
export const v2InferRequestSchema = {
  title: 'inference_request',
  type: 'object',
  properties: {
    id: { type: 'string', description: 'Echoed in the response.' },
    parameters: parametersSchema,
    inputs: { type: 'array', items: requestInputSchema },
    outputs: {
      type: 'array',
      description: 'Outputs to return; all of them when absent.',
      items: requestOutputSchema,
    },
  },
  required: ['inputs'],
  additionalProperties: true,
  examples: [
    {
      id: '42',
      inputs: [
        {
          name: 'title',
          shape: [2],
          datatype: 'BYTES',
          data: ['Transfer learning with transformers', 'Real-time object detection'],
        },
        {
          name: 'description',
          shape: [2],
          datatype: 'BYTES',
          data: ['Using transformers for text classification.', 'YOLO on a webcam.'],
        },
      ],
      outputs: [{ name: 'label' }, { name: 'probabilities' }],
    },
  ],
} as const;

/** `$response_output`. */
const responseOutputSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    shape: shapeSchema,
    datatype: { type: 'string' },
    parameters: parametersSchema,
    data: responseTensorDataSchema,
  },
  required: ['name', 'shape', 'datatype', 'data'],
} as const;

/** `$inference_response`. */
export const v2InferResponseSchema = {
  title: 'inference_response',
  type: 'object',
  description:
    '"label" is BYTES [n]; "probabilities" is FP32 [n, classes], its columns named by parameters.classes.',
  properties: {
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    id: { type: 'string' },
    parameters: parametersSchema,
    outputs: { type: 'array', items: responseOutputSchema },
  },
  required: ['model_name', 'outputs'],
} as const;

/** `$inference_error_response` and the metadata error responses: the protocol's flat error shape. */
export const v2ErrorSchema = {
  title: 'inference_error_response',
  type: 'object',
  properties: { error: { type: 'string', description: 'What was wrong.' } },
  required: ['error'],
} as const;

/** `$metadata_server_response`. */
export const v2ServerMetadataSchema = {
  title: 'metadata_server_response',
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    extensions: { type: 'array', items: { type: 'string' } },
  },
  required: ['name', 'version', 'extensions'],
} as const;

/** `$metadata_tensor`. */
const metadataTensorSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    datatype: { type: 'string' },
    shape: { ...shapeSchema, description: 'Variable-size dimensions are -1.' },
  },
  required: ['name', 'datatype', 'shape'],
} as const;

/** `$metadata_model_response`. */
export const v2ModelMetadataSchema = {
  title: 'metadata_model_response',
  type: 'object',
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    platform: { type: 'string' },
    inputs: { type: 'array', items: metadataTensorSchema },
    outputs: { type: 'array', items: metadataTensorSchema },
    properties: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['name', 'platform'],
} as const;
