import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ErrorCode, FerryError } from '../../../../src/core/errors.js';
import { TEXT_SIGNATURE } from '../../../../src/model/model.js';
import { textOutputs } from '../../../../src/model/text-tensors.js';
import { decodeInferRequest } from '../../../../src/serving/v2/decode-infer-request.js';
import { encodeInferResponse } from '../../../../src/serving/v2/encode-infer-response.js';
import { modelMetadata, serverMetadata } from '../../../../src/serving/v2/metadata.js';
import {
  v2ErrorSchema,
  v2InferRequestSchema,
  v2InferResponseSchema,
  v2ModelMetadataSchema,
  v2ServerMetadataSchema,
} from '../../../../src/serving/v2/openapi-schemas.js';
import { hasSharedSpec, newAjv, SHARED_SPEC, spec, specValidator, VENDORED_SPEC } from './oip-spec.js';

interface ObjectSchema {
  properties?: Record<string, unknown>;
  required?: readonly string[];
}

/** Ours ↔ the OpenAPI file's component of the same body. */
const PAIRS: Array<[string, ObjectSchema, string]> = [
  ['v2InferRequestSchema', v2InferRequestSchema, 'inference_request'],
  ['v2InferResponseSchema', v2InferResponseSchema, 'inference_response'],
  ['v2ErrorSchema', v2ErrorSchema, 'inference_error_response'],
  ['v2ServerMetadataSchema', v2ServerMetadataSchema, 'metadata_server_response'],
  ['v2ModelMetadataSchema', v2ModelMetadataSchema, 'metadata_model_response'],
];

describe('the vendored OpenAPI file', () => {
  // Compared as data, not text, so reformatting the copy (quote style) does not matter.
  it.runIf(hasSharedSpec)('says the same as the one in ../shared', () => {
    expect(parse(readFileSync(VENDORED_SPEC, 'utf8'))).toEqual(parse(readFileSync(SHARED_SPEC, 'utf8')));
  });
});

describe('v2 JSON Schemas', () => {
  it.each(PAIRS)('%s compiles under strict draft-07 Ajv', (_, schema) => {
    expect(() => newAjv(true).compile(schema)).not.toThrow();
  });

  it.each(PAIRS)('%s has the properties and required fields of %s', (_, ours, component) => {
    const theirs = spec.components.schemas[component] as ObjectSchema;
    expect(Object.keys(ours.properties ?? {}).sort()).toEqual(Object.keys(theirs.properties ?? {}).sort());
    // The spec's error component forgets `required`, though the prose says the body "must contain" error.
    const expected = component === 'inference_error_response' ? ['error'] : (theirs.required ?? []);
    expect([...(ours.required ?? [])].sort()).toEqual([...expected].sort());
  });

  it("accepts the spec's own request example and our documented example", () => {
    const validate = newAjv().compile(v2InferRequestSchema);
    const [example1] = Object.values(
      (spec.components.schemas.inference_request as { 'x-examples': Record<string, unknown> })['x-examples'],
    );
    expect(validate(example1)).toBe(true);
    const [ours] = v2InferRequestSchema.examples;
    expect(validate(ours)).toBe(true);
    expect(specValidator('inference_request')(ours)).toBe(true);
    expect(
      decodeInferRequest(ours, { maxItems: 10, maxStringLength: 1000, maxTensorBytes: 1 << 20 }).inputs.title
        ?.data,
    ).toHaveLength(2);
  });

  it('leaves room for extension fields and leaves typing errors to the decoder', () => {
    const validate = newAjv().compile(v2InferRequestSchema);
    expect(validate({ inputs: [], custom: 1 })).toBe(true);
    expect(validate({ inputs: [{ name: 'title', shape: [1], datatype: 'FP32', data: [1] }] })).toBe(true);
    expect(validate({})).toBe(false);
  });

  it('matches error bodies of the protocol shape', () => {
    const validate = newAjv().compile(v2ErrorSchema);
    expect(validate({ error: 'bad' })).toBe(true);
    expect(validate({ error: { code: 'X', message: 'bad' } })).toBe(false);
    expect(specValidator('inference_error_response')({ error: 'bad' })).toBe(true);
  });
});

describe('v2 JSON Schemas in fastify', () => {
  const CLASSES = ['computer-vision', 'mlops'];
  const OPTS = { maxItems: 8, maxStringLength: 100, maxTensorBytes: 1 << 20 };

  /** A minimal stand-in for the real server, wired the way openapi-schemas.ts asks. */
  async function app(options: { skipBodyValidation: boolean }) {
    const seen: unknown[] = [];
    const server = Fastify({ logger: false });
    await server.register(fastifySwagger, { openapi: { info: { title: 'ferry', version: '0.1.0' } } });
    server.get('/v2', { schema: { response: { 200: v2ServerMetadataSchema } } }, async () =>
      serverMetadata('ferry', '0.1.0'),
    );
    server.get(
      '/v2/models/:model',
      { schema: { response: { 200: v2ModelMetadataSchema, 404: v2ErrorSchema } } },
      async () => modelMetadata('tagifai', ['1'], TEXT_SIGNATURE),
    );
    server.post(
      '/v2/models/:model/infer',
      {
        schema: { body: v2InferRequestSchema, response: { 200: v2InferResponseSchema, 400: v2ErrorSchema } },
        ...(options.skipBodyValidation ? { validatorCompiler: () => () => true } : {}),
      },
      async (request, reply) => {
        seen.push(structuredClone(request.body));
        try {
          const decoded = decodeInferRequest(request.body, OPTS);
          return encodeInferResponse({
            modelName: 'tagifai',
            modelVersion: '1',
            id: decoded.id,
            classes: CLASSES,
            signature: TEXT_SIGNATURE,
            outputs: textOutputs(
              CLASSES,
              (decoded.inputs.title?.data ?? []).map(() => ({
                prediction: 'mlops',
                probabilities: { 'computer-vision': 0.25, mlops: 0.75 },
              })),
            ),
            requestedOutputs: decoded.requestedOutputs,
          });
        } catch (e) {
          // Only client errors become the protocol's 400 body here; the real server maps the rest.
          if (!(e instanceof FerryError) || e.status !== 400) throw e;
          return reply.code(400).send({ error: e.message });
        }
      },
    );
    await server.ready();
    return { server, seen };
  }

  const goodBody = {
    id: '7',
    inputs: [{ name: 'title', shape: [1], datatype: 'BYTES', data: ['Kubeflow pipelines'] }],
  };

  it('serialises the response without losing parameters.classes or tensor data', async () => {
    const { server } = await app({ skipBodyValidation: true });
    const res = await server.inject({ method: 'POST', url: '/v2/models/tagifai/infer', payload: goodBody });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(
      encodeInferResponse({
        modelName: 'tagifai',
        modelVersion: '1',
        id: '7',
        classes: CLASSES,
        signature: TEXT_SIGNATURE,
        outputs: textOutputs(CLASSES, [
          { prediction: 'mlops', probabilities: { 'computer-vision': 0.25, mlops: 0.75 } },
        ]),
      }),
    );
    const meta = await server.inject({ method: 'GET', url: '/v2/models/tagifai' });
    expect(meta.json()).toEqual(modelMetadata('tagifai', ['1'], TEXT_SIGNATURE));
    expect((await server.inject({ method: 'GET', url: '/v2' })).json()).toEqual(
      serverMetadata('ferry', '0.1.0'),
    );
    await server.close();
  });

  it("needs the body validator skipped: fastify's coercion would hide errors the decoder reports", async () => {
    const bad = { id: 42, inputs: [{ name: 'title', shape: ['1'], datatype: 'BYTES', data: [5] }] };

    const coerced = await app({ skipBodyValidation: false });
    const hidden = await coerced.server.inject({ method: 'POST', url: '/v2/models/m/infer', payload: bad });
    // Ajv rewrote id, shape and the element to strings before the handler ran, so the bad request passed.
    expect(coerced.seen[0]).toEqual({
      id: '42',
      inputs: [{ name: 'title', shape: [1], datatype: 'BYTES', data: ['5'] }],
    });
    expect(hidden.statusCode).toBe(200);
    await coerced.server.close();

    const raw = await app({ skipBodyValidation: true });
    const res = await raw.server.inject({ method: 'POST', url: '/v2/models/m/infer', payload: bad });
    expect(raw.seen[0]).toEqual(bad);
    expect(res.statusCode).toBe(400);
    expect(Object.keys(res.json())).toEqual(['error']);
    expect(typeof res.json().error).toBe('string');
    expect(() => decodeInferRequest(bad, OPTS)).toThrow(FerryError);
    await raw.server.close();
  });

  it('documents the routes in the generated OpenAPI', async () => {
    const { server } = await app({ skipBodyValidation: true });
    const doc = server.swagger() as unknown as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
    };
    const infer = doc.paths['/v2/models/{model}/infer']?.post;
    expect(infer?.requestBody).toMatchObject({
      content: { 'application/json': { schema: { required: ['inputs'] } } },
    });
    expect(infer?.responses['200']).toMatchObject({
      content: { 'application/json': { schema: { required: ['model_name', 'outputs'] } } },
    });
    expect(infer?.responses['400']).toMatchObject({
      content: { 'application/json': { schema: { required: ['error'] } } },
    });
    expect(doc.paths['/v2']?.get?.responses['200']).toBeDefined();
    await server.close();
  });

  it('keeps the error code catalogue entry', () => {
    expect(ErrorCode.V2_INVALID_REQUEST).toBe('FERRY_V2_INVALID_REQUEST');
  });
});
