/**
 * JSON schemas of the KServe and Seldon Core 2 objects Ferry renders, for which no npm package
 * exists. Written by hand from reading their CRDs (kserve/kserve
 * config/crd/full/serving.kserve.io_inferenceservices.yaml, v0.20; SeldonIO/seldon-core branch v2,
 * operator/config/crd/bases/mlops.seldon.io_{servers,models}.yaml) and the rules their webhooks add:
 * a SUBSET, only the fields Ferry uses, each with the CRD's type, and `additionalProperties: false`
 * wherever Ferry writes the object itself, so a misspelt field fails here as `kubectl apply`'s
 * strict field validation would fail it. Embedded core types (containers, volumes) are validated
 * by kubernetes-models in manifest-validation.ts, not here.
 */

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const int32 = { type: 'integer', minimum: -2147483648, maximum: 2147483647 } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

function metadata(extra: Record<string, unknown> = {}) {
  return {
    type: 'object',
    required: ['name', 'namespace'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: DNS_LABEL },
      namespace: { type: 'string', pattern: DNS_LABEL },
      labels: stringMap,
      ...extra,
    },
  } as const;
}

/** serving.kserve.io/v1beta1 InferenceService with a custom predictor container. */
export const inferenceServiceSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'serving.kserve.io/v1beta1' },
    kind: { const: 'InferenceService' },
    metadata: metadata({
      annotations: {
        type: 'object',
        additionalProperties: { type: 'string' },
        properties: {
          // pkg/constants: Serverless and RawDeployment (legacy names) or Knative, Standard, ModelMesh.
          'serving.kserve.io/deploymentMode': {
            enum: ['Serverless', 'Knative', 'RawDeployment', 'Standard', 'ModelMesh'],
          },
        },
      },
    }),
    spec: {
      type: 'object',
      required: ['predictor'],
      additionalProperties: false,
      properties: {
        predictor: {
          type: 'object',
          required: ['containers'],
          additionalProperties: false,
          properties: {
            minReplicas: { ...int32, minimum: 0 },
            maxReplicas: { ...int32, minimum: 0 },
            // int64 in the CRD; the validating webhook accepts 0..100.
            canaryTrafficPercent: { type: 'integer', minimum: 0, maximum: 100 },
            containers: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: { type: 'string' },
                  env: {
                    type: 'array',
                    items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
                    // predictor_custom.go: the protocol of a custom container is its PROTOCOL, v1 or v2.
                    contains: {
                      type: 'object',
                      required: ['name', 'value'],
                      properties: { name: { const: 'PROTOCOL' }, value: { enum: ['v1', 'v2'] } },
                    },
                  },
                },
              },
            },
            volumes: {
              type: 'array',
              items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
            },
          },
        },
      },
    },
  },
} as const;

/** mlops.seldon.io/v1alpha1 Server. */
export const seldonServerSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'mlops.seldon.io/v1alpha1' },
    kind: { const: 'Server' },
    metadata: metadata(),
    spec: {
      type: 'object',
      required: ['serverConfig'],
      additionalProperties: false,
      properties: {
        serverConfig: { type: 'string', minLength: 1 },
        replicas: { ...int32, minimum: 0 },
        capabilities: { type: 'array', items: { type: 'string' } },
        extraCapabilities: { type: 'array', items: { type: 'string' } },
        podSpec: {
          type: 'object',
          additionalProperties: false,
          properties: {
            containers: {
              type: 'array',
              items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
            },
            volumes: {
              type: 'array',
              items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
            },
          },
        },
      },
    },
  },
} as const;

/** mlops.seldon.io/v1alpha1 Model. */
export const seldonModelSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'mlops.seldon.io/v1alpha1' },
    kind: { const: 'Model' },
    metadata: metadata(),
    spec: {
      type: 'object',
      required: ['storageUri'],
      additionalProperties: false,
      properties: {
        storageUri: { type: 'string', minLength: 1 },
        requirements: { type: 'array', items: { type: 'string' } },
        server: { type: 'string', pattern: DNS_LABEL },
        replicas: { ...int32, minimum: 0 },
        minReplicas: { ...int32, minimum: 0 },
        maxReplicas: { ...int32, minimum: 0 },
      },
    },
  },
} as const;
