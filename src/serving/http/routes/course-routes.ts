import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import { checkIdentifier } from '../../../core/text-guard.js';
import { validateTextInput } from '../../../model/validate-input.js';
import type { FeatureAccess } from '../../feature-access.js';
import type { PredictResult } from '../../prediction-service.js';
import type { ServerContext } from '../server-context.js';
import { unitHeader } from '../unit-header.js';
import { requireFeatureAccess } from './feature-routes.js';

const predictionSchema = {
  type: 'object',
  properties: {
    prediction: { type: 'string' },
    probabilities: { type: 'object', additionalProperties: { type: 'number' } },
  },
} as const;

/** x-ferry-model, x-ferry-model-version, and x-ferry-experiment / x-ferry-arm when an experiment routed it. */
export function setPredictionHeaders(
  reply: FastifyReply,
  result: Pick<PredictResult, 'model' | 'version' | 'experiment' | 'arm'>,
): void {
  reply.header('x-ferry-model', result.model).header('x-ferry-model-version', String(result.version));
  if (result.experiment !== undefined) {
    reply.header('x-ferry-experiment', result.experiment).header('x-ferry-arm', result.arm);
  }
}

const ENTITY_KEY_VALUE = {
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 512 },
    { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
  ],
} as const;

const TEXT_FIELDS = new Set(['title', 'description', 'items', 'unit', 'entity']);

/** The entity of a body that names one: `entity`, or the other fields as join keys. */
function entityOf(body: Record<string, unknown>): Record<string, string> {
  const given =
    body.entity !== undefined
      ? (body.entity as Record<string, unknown>)
      : Object.fromEntries(Object.entries(body).filter(([k]) => !TEXT_FIELDS.has(k)));
  if (Object.keys(given).length === 0) {
    throw new FerryError(
      ErrorCode.HTTP_INVALID_REQUEST,
      'send {"title", "description"}, {"items": [...]}, or an entity\'s join keys such as {"project_id": "42"}',
    );
  }
  return Object.fromEntries(Object.entries(given).map(([k, v]) => [k, String(v)]));
}

/** POST /predict for an entity: its title and description from the online store, then as usual. */
async function predictEntity(
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ServerContext,
  access: FeatureAccess,
  entity: Record<string, string>,
  unit: string | undefined,
) {
  requireFeatureAccess(req, reply, ctx);
  const model = ctx.service.host.modelNames[0]!;
  const found = await access.inputsFor(model, entity, ['title', 'description']);
  const input = validateTextInput(
    { title: found.values.title ?? '', description: found.values.description ?? '' },
    'features',
    ctx.limits,
  );
  const result = await ctx.service.predict({
    model,
    items: [input],
    requestId: req.id,
    deadline: performance.now() + ctx.limits.requestTimeoutMs,
    ...(typeof unit === 'string' ? { unit } : {}),
  });
  setPredictionHeaders(reply, result);
  reply.header('x-ferry-features-event-time', found.eventTime);
  return { results: result.predictions, entity };
}

/** The Made With ML course's API, unchanged for its users: GET / and POST /predict. */
export function registerCourseRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const joinKeys = (ctx.features?.joinKeys ?? []).filter((k) => !TEXT_FIELDS.has(k));
  const item = {
    type: 'object',
    required: ['title'],
    additionalProperties: false,
    properties: {
      title: { type: 'string', maxLength: ctx.limits.maxStringLength },
      description: { type: 'string', maxLength: ctx.limits.maxStringLength },
    },
  } as const;

  app.get(
    '/',
    {
      schema: {
        summary: 'Health check (Made With ML)',
        tags: ['course'],
        response: {
          200: {
            type: 'object',
            properties: {
              message: { type: 'string' },
              'status-code': { type: 'integer' },
              data: { type: 'object', additionalProperties: true },
            },
          },
        },
      },
    },
    async () => ({
      message: 'OK',
      'status-code': 200,
      data: { ready: ctx.service.host.ready, models: ctx.service.host.servedAliases() },
    }),
  );

  app.post<{
    Body: {
      title?: string;
      description?: string;
      items?: { title: string; description?: string }[];
      unit?: string;
      entity?: Record<string, string | number>;
      [joinKey: string]: unknown;
    };
  }>(
    '/predict',
    {
      schema: {
        summary: 'Predict the tag of one project, or of a batch with {"items": [...]}',
        tags: ['course'],
        body: {
          type: 'object',
          additionalProperties: false,
          // With the feature store, an entity instead: {"entity": {...}} or its join keys, {"project_id": "42"}.
          anyOf: [
            { required: ['title'] },
            { required: ['items'] },
            ...(ctx.features ? [{ required: ['entity'] }, ...joinKeys.map((k) => ({ required: [k] }))] : []),
          ],
          properties: {
            ...Object.fromEntries(joinKeys.map((k) => [k, ENTITY_KEY_VALUE])),
            ...item.properties,
            ...(ctx.features
              ? {
                  entity: {
                    type: 'object',
                    minProperties: 1,
                    maxProperties: 8,
                    additionalProperties: ENTITY_KEY_VALUE,
                    description:
                      'Predict for an entity from the online store: its join keys, e.g. {"project_id": "42"} (the feature service naming the model gives the inputs); the join keys may also be given at the top level',
                  },
                }
              : {}),
            items: { type: 'array', minItems: 1, maxItems: ctx.limits.maxItems, items: item },
            unit: {
              type: 'string',
              minLength: 1,
              maxLength: 256,
              description: 'Experiment unit (user id); wins over the X-Ferry-Unit header',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              results: { type: 'array', items: predictionSchema },
              entity: {
                type: 'object',
                additionalProperties: { type: 'string' },
                description: 'The entity predicted for, when the request named one',
              },
            },
          },
        },
      },
      config: { docs: { predicts: true } },
    },
    async (req, reply) => {
      const body = req.body;
      const unitOf = () =>
        body.unit !== undefined
          ? checkIdentifier(body.unit, 'unit')
          : unitHeader(req.headers['x-ferry-unit']);
      if (ctx.features && body.title === undefined && body.items === undefined) {
        return predictEntity(req, reply, ctx, ctx.features.access, entityOf(body), unitOf());
      }
      const raw = body.items !== undefined ? body.items : [body];
      if (body.items !== undefined && (body.title !== undefined || body.description !== undefined)) {
        return reply.code(400).send({
          error: {
            code: 'FERRY_HTTP_INVALID_REQUEST',
            message: 'send either {"title", "description"} or {"items": [...]}, not both',
            details: {},
          },
        });
      }
      const items = raw.map((x, i) =>
        validateTextInput(
          body.items !== undefined ? x : { title: body.title, description: body.description },
          body.items !== undefined ? `items[${i}]` : 'body',
          ctx.limits,
        ),
      );
      const unit = unitOf();
      const result = await ctx.service.predict({
        model: ctx.service.host.modelNames[0]!,
        items,
        requestId: req.id,
        deadline: performance.now() + ctx.limits.requestTimeoutMs,
        ...(typeof unit === 'string' ? { unit } : {}),
      });
      setPredictionHeaders(reply, result);
      return { results: result.predictions };
    },
  );
}
