import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  assertEntityId,
  type PredictionStore,
  type StoredPrediction,
} from '../../../batch/prediction-store.js';
import { ErrorCode, FerryError, isFerryError } from '../../../core/errors.js';
import { inputFingerprint } from '../../../model/input-fingerprint.js';
import { validateTextInput } from '../../../model/validate-input.js';
import { requireBearer } from '../bearer-auth.js';
import { DEFAULT_STORED_SETTINGS, type ServerContext } from '../server-context.js';

type Params = { model: string; entityId: string };
type Source = 'store' | 'model';
/** What became of a live answer: stored, not stored (anonymous caller or read-only policy), or the write failed. */
type WriteBack = 'written' | 'skipped' | 'failed';

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
    prediction: { type: 'string' },
    probabilities: { type: 'object', additionalProperties: { type: 'number' } },
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
 * - POST /v1/predictions/:model/:entityId with {title, description}: the stored prediction when it was
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
  store: PredictionStore,
): void {
  const settings = ctx.storedPredictions ?? DEFAULT_STORED_SETTINGS;
  const { metrics } = ctx;
  const tags = ['stored predictions'];

  metrics.setStoredStalenessSource(async () => {
    const counts = new Map<string, number>();
    for (const model of ctx.service.host.modelNames) {
      const version = ctx.service.host.current(model)?.version;
      if (version !== undefined) counts.set(model, await store.countNotFromVersion(model, version));
    }
    return counts;
  }, settings.stalenessCacheMs ?? 5000);

  const send = (reply: FastifyReply, p: StoredPrediction, source: Source, ageMs: number) => {
    reply
      .header('x-ferry-source', source)
      .header('x-ferry-model', p.model)
      .header('x-ferry-model-version', String(p.version));
    return {
      entity_id: p.entityId,
      model: p.model,
      version: p.version,
      prediction: p.prediction,
      probabilities: p.probabilities,
      computed_at: p.computedAt,
      age_seconds: ageMs / 1000,
      source,
    };
  };
  const servedFromStore = (reply: FastifyReply, p: StoredPrediction, ageMs: number) => {
    metrics.storedAge.observe({ model: p.model }, ageMs / 1000);
    return send(reply, p, 'store', ageMs);
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
      const stored = await store.get(model, entityId);
      if (stored === undefined) {
        metrics.storedLookups.inc({ result: 'miss' });
        throw new FerryError(
          ErrorCode.BATCH_NOT_FOUND,
          `no stored prediction of model "${model}" for entity ${JSON.stringify(entityId)}; ` +
            'run "ferry batch predict" for it, or POST its inputs to this URL',
          { details: { model, entityId } },
        );
      }
      const ageMs = store.ageMs(stored);
      metrics.storedLookups.inc({ result: ageMs <= settings.maxAgeMs ? 'hit' : 'stale' });
      return servedFromStore(reply, stored, ageMs);
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
      assertEntityId(model, 'model');
      assertEntityId(entityId);
      const input = validateTextInput(req.body, 'body', ctx.limits);
      const fingerprint = inputFingerprint(input);

      let stored: StoredPrediction | undefined;
      try {
        stored = await store.get(model, entityId);
      } catch (e) {
        // The model can always answer: a store that cannot be read is a miss, not a failed request.
        if (isFerryError(e, ErrorCode.BATCH_INVALID_ID)) throw e;
        req.log.warn({ err: e }, 'prediction store lookup failed; predicting live');
      }
      if (stored !== undefined && stored.inputSha256 === fingerprint) {
        const ageMs = store.ageMs(stored);
        if (ageMs <= settings.maxAgeMs) {
          metrics.storedLookups.inc({ result: 'hit' });
          return servedFromStore(reply, stored, ageMs);
        }
      }

      const result = await ctx.service.predict({
        model,
        items: [input],
        requestId: req.id,
        deadline: performance.now() + ctx.limits.requestTimeoutMs,
      });
      const p = result.predictions[0]!;
      const fresh: StoredPrediction = {
        model: result.model,
        entityId,
        version: result.version,
        inputSha256: fingerprint,
        prediction: p.prediction,
        probabilities: { ...p.probabilities },
        computedAt: store.now().toISOString(),
        jobId: null,
        source: 'live',
      };
      metrics.storedLookups.inc({ result: stored === undefined ? 'miss' : 'refreshed' });
      let writeBack: WriteBack = 'skipped';
      if (settings.policy === 'write-back' && authorised) {
        // Awaited, so a GET that follows this answer reads what it returned; a failure only costs the
        // write-back (counted and logged), never the answer.
        try {
          await store.upsertMany([fresh]);
          writeBack = 'written';
        } catch (e) {
          writeBack = 'failed';
          metrics.storedWriteBackFailures.inc();
          req.log.warn({ err: e }, 'prediction store write-back failed');
        }
      }
      reply.header('x-ferry-write-back', writeBack);
      return send(reply, fresh, 'model', 0);
    },
  );
}
