import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertEntityId } from '../../../core/entity-id.js';
import { nextCheckPhase } from '../../../core/event-loop.js';
import { validateTextInput } from '../../../model/validate-input.js';
import {
  type StoredAnswer,
  type StoredPredictionService,
  storedNotFound,
} from '../../stored-prediction-service.js';
import { requireBearer } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';

type Params = { model: string; entityId: string };

const WRITE_BACK_DISABLED =
  'writing back stored predictions needs a token: start the server with FERRY_PREDICTIONS_TOKEN (or FERRY_ADMIN_TOKEN) set, or call without Authorization for a live answer that is not stored';

const paramsSchema = {
  type: 'object',
  required: ['model', 'entityId'],
  properties: {
    model: { type: 'string', description: 'Model name, e.g. tagifai' },
    entityId: {
      type: 'string',
      description: 'Entity id as the batch job stored it (URL-encoded; 1 to 512 characters)',
    },
  },
} as const;

const storedPredictionSchema = {
  type: 'object',
  properties: {
    entity_id: { type: 'string' },
    model: { type: 'string' },
    version: { type: 'integer' },
    outputs: {
      type: 'object',
      description:
        "The entity's outputs by name, one row of them (shape without the batch dimension), for any model kind; the text classifier's are label [] and probabilities [classes]",
      additionalProperties: {
        type: 'object',
        properties: {
          datatype: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer' } },
          data: { type: 'array' },
        },
      },
    },
    prediction: { type: 'string', description: 'The text classifier only: the label' },
    probabilities: {
      type: 'object',
      additionalProperties: { type: 'number' },
      description: 'The text classifier only: the probability per class',
    },
    computed_at: { type: 'string', format: 'date-time' },
    age_seconds: { type: 'number' },
    source: { type: 'string', enum: ['store', 'model'] },
  },
} as const;

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

/**
 * Lookups of the predictions batch jobs computed ahead of time (public, no token):
 * - GET  /v1/predictions/:model/:entityId: the stored prediction, whatever its age; 404 when none.
 *   Any model kind: `outputs` (one row's tensors); the text classifier's also `prediction` and
 *   `probabilities`.
 * - POST /v1/predictions/:model/:entityId with {title, description} (the text classifier): the stored prediction when it was
 *   computed from these very inputs and is no older than the max age; otherwise a live prediction of
 *   the served default alias (production). The live answer is written back to the store (source
 *   `live`) only under the write-back policy AND for a caller with the predictions (or admin) bearer
 *   token: an anonymous client must not replace what batch jobs computed, nor create entities.
 *   A request with a wrong token is refused (401) rather than silently not written.
 * Every answer says where it came from: `source` in the body and the `x-ferry-source` header.
 */
export function registerStoredPredictionRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  stored: StoredPredictionService,
): void {
  const { metrics } = ctx;
  const tags = ['stored predictions'];

  metrics.setStoredStalenessSource(
    () => stored.notFromServedVersion(),
    stored.settings.stalenessCacheMs ?? 5000,
  );

  /** Counts the lookup and answers with the prediction, saying where it came from. */
  const send = (reply: FastifyReply, answer: StoredAnswer) => {
    const { prediction: p, source, ageMs } = answer;
    metrics.storedLookups.inc({ result: answer.lookup });
    if (source === 'store') metrics.storedAge.observe({ model: p.model }, ageMs / 1000);
    reply
      .header('x-ferry-source', source)
      .header('x-ferry-model', p.model)
      .header('x-ferry-model-version', String(p.version));
    return {
      entity_id: p.entityId,
      model: p.model,
      version: p.version,
      outputs: p.outputs,
      // The text classifier's fields, as before outputs existed; absent for other models.
      ...(p.prediction !== undefined ? { prediction: p.prediction, probabilities: p.probabilities } : {}),
      computed_at: p.computedAt,
      age_seconds: ageMs / 1000,
      source,
    };
  };

  app.get<{ Params: Params }>(
    '/v1/predictions/:model/:entityId',
    {
      schema: {
        summary: 'The stored (batch) prediction of one entity, with its model version, computed-at and age',
        tags,
        params: paramsSchema,
        response: { 200: storedPredictionSchema, 404: errorSchema },
      },
    },
    async (req: FastifyRequest<{ Params: Params }>, reply) => {
      const { model, entityId } = req.params;
      // Read and answer with the turn's other lookups (measured: up to 1.45× a bare lookup's rate).
      await nextCheckPhase();
      const answer = await stored.lookup(model, entityId);
      if (answer === undefined) {
        metrics.storedLookups.inc({ result: 'miss' });
        throw storedNotFound(model, entityId);
      }
      return send(reply, answer);
    },
  );

  app.post<{ Params: Params; Body: { title: string; description?: string } }>(
    '/v1/predictions/:model/:entityId',
    {
      schema: {
        summary:
          'The stored prediction when it was computed from these inputs and is recent enough; otherwise a live one',
        tags,
        params: paramsSchema,
        body: {
          type: 'object',
          required: ['title'],
          additionalProperties: false,
          properties: {
            title: { type: 'string', maxLength: ctx.limits.maxStringLength },
            description: { type: 'string', maxLength: ctx.limits.maxStringLength },
          },
        },
        description:
          'Anonymous callers are read-only: they get the live prediction, and nothing is stored. With ' +
          '`Authorization: Bearer` and the predictions token (FERRY_PREDICTIONS_TOKEN) or the admin token, ' +
          'the live answer is written back (unless FERRY_STORED_POLICY=read-only). Header ' +
          '`x-ferry-write-back`: written, skipped or failed.',
        response: { 200: storedPredictionSchema, 401: errorSchema },
      },
    },
    async (req, reply) => {
      const { model, entityId } = req.params;
      const authorised = req.headers.authorization !== undefined;
      if (authorised) {
        requireBearer(req, reply, [ctx.predictionsToken, ctx.adminToken], WRITE_BACK_DISABLED);
      }
      // Ids before the body, so a request wrong in both is answered about its URL.
      assertEntityId(model, 'model');
      assertEntityId(entityId);
      const input = validateTextInput(req.body, 'body', ctx.limits);
      const answer = await stored.lookupOrPredict({
        model,
        entityId,
        input,
        mayWriteBack: authorised,
        requestId: req.id,
        deadline: performance.now() + ctx.limits.requestTimeoutMs,
      });
      if (answer.readError !== undefined) {
        req.log.warn({ err: answer.readError }, 'prediction store lookup failed; predicting live');
      }
      if (answer.writeBack === 'failed') {
        metrics.storedWriteBackFailures.inc();
        req.log.warn({ err: answer.writeBackError }, 'prediction store write-back failed');
      }
      if (answer.writeBack !== undefined) reply.header('x-ferry-write-back', answer.writeBack);
      return send(reply, answer);
    },
  );
}
