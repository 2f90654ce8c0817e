import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import { kindLabel } from '../../../model/kinds/index.js';
import { parseVersionText } from '../../../registry/model-ref.js';
import { type FeatureAccess, v2InputsFromFeatures } from '../../feature-access.js';
import type { VersionSelector } from '../../prediction-service.js';
import { decodeInferRequest } from '../../v2/decode-infer-request.js';
import { encodeInferResponse } from '../../v2/encode-infer-response.js';
import { modelMetadata, serverMetadata } from '../../v2/metadata.js';
import {
  v2ErrorSchema,
  v2InferRequestSchema,
  v2InferResponseSchema,
  v2ModelMetadataSchema,
  v2ServerMetadataSchema,
} from '../../v2/openapi-schemas.js';
import { hasBearer } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';
import { unitHeader } from '../unit-header.js';
import { setPredictionHeaders } from './course-routes.js';
import { requireFeatureAccess } from './feature-routes.js';

type ModelParams = { model: string; version?: string };

function selectorOf(params: ModelParams): VersionSelector {
  if (params.version === undefined) return {};
  const version = parseVersionText(params.version);
  if (version === undefined) {
    throw new FerryError(
      ErrorCode.SERVING_UNKNOWN_MODEL,
      `model "${params.model}" has no version "${params.version}" (versions are positive integers)`,
    );
  }
  return { version };
}

/**
 * The version a request names, after the access rule: without the admin token, a version that is
 * not released (alias, running experiment, FERRY_SERVE_VERSIONS) is answered exactly as one that
 * does not exist (404), so that the answer does not tell whether it is registered.
 */
async function releasedSelector(
  req: FastifyRequest<{ Params: ModelParams }>,
  ctx: ServerContext,
): Promise<VersionSelector> {
  const selector = selectorOf(req.params);
  const { model } = req.params;
  if (
    selector.version === undefined ||
    ctx.versionAccess === undefined ||
    !ctx.service.host.modelNames.includes(model) ||
    hasBearer(req, [ctx.adminToken])
  ) {
    return selector;
  }
  if (!(await ctx.versionAccess.allows(model, selector.version))) {
    throw new FerryError(
      ErrorCode.SERVING_UNKNOWN_MODEL,
      `model "${model}" has no version ${selector.version}`,
    );
  }
  return selector;
}

/** The documented schemas describe the protocol; decodeInferRequest does the checking (its 400 messages are precise). */
const skipValidation = () => () => true;

/** The documented 503 of a readiness route: not ready (its own body), or the server's error. */
function notReady(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    description: 'Not ready (ready: false), or not available now (shutting down: the error body)',
    oneOf: [
      { type: 'object', properties: { ...fields, ready: { type: 'boolean', enum: [false] } } },
      v2ErrorSchema,
    ],
  };
}

/** The Open Inference Protocol v2 (KServe, Triton, MLServer, Seldon), REST binding. */
export function registerV2Routes(app: FastifyInstance, ctx: ServerContext): void {
  const { service } = ctx;
  const tags = ['open inference protocol v2'];

  app.get(
    '/v2',
    { schema: { summary: 'Server metadata', tags, response: { 200: v2ServerMetadataSchema } } },
    async () => serverMetadata(ctx.serverName, ctx.serverVersion),
  );
  app.get('/v2/health/live', { schema: { summary: 'Liveness', tags } }, async () => ({ live: true }));
  app.get(
    '/v2/health/ready',
    {
      schema: { summary: 'Readiness: every served model is loaded and warm', tags },
      config: { docs: { responses: { 503: notReady({ live: { type: 'boolean' } }) } } },
    },
    async (_req, reply) => {
      const ready = service.host.ready;
      return reply.code(ready ? 200 : 503).send({ live: true, ready });
    },
  );

  const metadata = async (req: FastifyRequest<{ Params: ModelParams }>) => {
    const served = await service.resolve(req.params.model, await releasedSelector(req, ctx), {
      limited: true,
    });
    const registered = (await ctx.registry.list(served.name)).map((v) => v.version);
    // Without the admin token, only released versions are listed (the rule of releasedSelector).
    const access = hasBearer(req, [ctx.adminToken]) ? undefined : ctx.versionAccess;
    const listed: number[] = [];
    for (const v of registered) if (!access || (await access.allows(served.name, v))) listed.push(v);
    const versions = listed.map(String);
    return modelMetadata(served.name, versions, served.model.signature, kindLabel(served.meta.kind));
  };
  const ready = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const served = await service.resolve(req.params.model, await releasedSelector(req, ctx), {
      limited: true,
    });
    const isReady = service.host.ready;
    return reply.code(isReady ? 200 : 503).send({ name: served.name, ready: isReady });
  };
  const infer = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    if (req.headers['inference-header-content-length'] !== undefined) {
      throw new FerryError(
        ErrorCode.V2_INVALID_REQUEST,
        'binary tensor data is not supported; send the JSON representation',
      );
    }
    const body = ctx.features ? await withEntityInputs(req, reply, ctx, ctx.features.access) : req.body;
    const decoded = decodeInferRequest(body, {
      maxItems: ctx.limits.maxItems,
      maxStringLength: ctx.limits.maxStringLength,
      maxTensorBytes: ctx.limits.maxTensorBytes,
    });
    // decodeInferRequest checked unit_id (an identifier when present); the header is checked the same way.
    const unitParam = decoded.parameters?.unit_id;
    const unit = typeof unitParam === 'string' ? unitParam : unitHeader(req.headers['x-ferry-unit']);
    const result = await service.infer({
      model: req.params.model,
      selector: await releasedSelector(req, ctx),
      inputs: decoded.inputs,
      maxItems: ctx.limits.maxItems,
      textLimits: ctx.limits,
      ...(decoded.requestedOutputs ? { requestedOutputs: decoded.requestedOutputs } : {}),
      requestId: decoded.id || req.id,
      deadline: performance.now() + ctx.limits.requestTimeoutMs,
      ...(typeof unit === 'string' ? { unit } : {}),
    });
    setPredictionHeaders(reply, result);
    return encodeInferResponse({
      modelName: result.model,
      modelVersion: String(result.version),
      ...(decoded.id !== undefined ? { id: decoded.id } : {}),
      signature: result.signature,
      classes: result.classes,
      outputs: result.outputs,
      ...(decoded.requestedOutputs ? { requestedOutputs: decoded.requestedOutputs } : {}),
    });
  };

  /**
   * `parameters.entity` without inputs: the model's input tensors from the online store, through
   * the feature service that names the model, then decoded and checked like a client's.
   */
  const withEntityInputs = async (
    req: FastifyRequest<{ Params: ModelParams }>,
    reply: FastifyReply,
    ctx: ServerContext,
    access: FeatureAccess,
  ): Promise<unknown> => {
    const body = req.body as Record<string, unknown> | null;
    const parameters = body?.parameters as Record<string, unknown> | undefined;
    const entity = parameters?.entity;
    if (entity === undefined || (Array.isArray(body?.inputs) && body.inputs.length > 0)) return body;
    if (
      typeof entity !== 'object' ||
      entity === null ||
      Array.isArray(entity) ||
      Object.keys(entity).length === 0
    ) {
      throw new FerryError(
        ErrorCode.V2_INVALID_REQUEST,
        '"parameters.entity" must be an object of join key → value, e.g. {"project_id": "42"}',
      );
    }
    const keys: Record<string, string> = {};
    for (const [k, v] of Object.entries(entity)) {
      if (
        (typeof v !== 'string' && !Number.isSafeInteger(v)) ||
        String(v).length === 0 ||
        String(v).length > 512
      ) {
        throw new FerryError(
          ErrorCode.V2_INVALID_REQUEST,
          `"parameters.entity.${k}" must be a non-empty string or an integer`,
        );
      }
      keys[k] = String(v);
    }
    requireFeatureAccess(req, reply, ctx);
    const served = await service.resolve(req.params.model, await releasedSelector(req, ctx), {
      limited: true,
    });
    const signature = served.model.signature;
    const found = await access.inputsFor(
      served.name,
      keys,
      signature.inputs.map((i) => i.name),
    );
    reply.header('x-ferry-features-event-time', found.eventTime);
    return { ...body, inputs: v2InputsFromFeatures(signature, found.values) };
  };

  for (const prefix of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get(
      prefix,
      {
        schema: {
          summary: 'Model metadata',
          tags,
          response: { 200: v2ModelMetadataSchema, 404: v2ErrorSchema },
        },
      },
      metadata,
    );
    app.get(
      `${prefix}/ready`,
      {
        schema: { summary: 'Model readiness', tags },
        config: { docs: { responses: { 503: notReady({ name: { type: 'string' } }) } } },
      },
      ready,
    );
    app.post(
      `${prefix}/infer`,
      {
        schema: {
          summary:
            'Inference: the model\'s input tensors as its metadata lists them (the text classifier: BYTES "title" and "description" [n] → "label" and "probabilities" FP32 [n, classes])',
          tags,
          body: v2InferRequestSchema,
          response: {
            200: v2InferResponseSchema,
            400: v2ErrorSchema,
            404: v2ErrorSchema,
            503: v2ErrorSchema,
          },
        },
        validatorCompiler: skipValidation,
        config: { docs: { predicts: true } },
      },
      infer,
    );
  }
}
