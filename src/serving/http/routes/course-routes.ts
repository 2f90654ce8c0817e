import type { FastifyInstance, FastifyReply } from 'fastify';
import { checkIdentifier } from '../../../core/text-guard.js';
import { validateTextInput } from '../../../model/validate-input.js';
import type { PredictResult } from '../../prediction-service.js';
import type { ServerContext } from '../server-context.js';
import { unitHeader } from '../unit-header.js';

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

/** The Made With ML course's API, unchanged for its users: GET / and POST /predict. */
export function registerCourseRoutes(app: FastifyInstance, ctx: ServerContext): void {
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
          anyOf: [{ required: ['title'] }, { required: ['items'] }],
          properties: {
            ...item.properties,
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
          200: { type: 'object', properties: { results: { type: 'array', items: predictionSchema } } },
        },
      },
      config: { docs: { predicts: true } },
    },
    async (req, reply) => {
      const body = req.body;
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
        validateTextInput(x, body.items !== undefined ? `items[${i}]` : 'body', ctx.limits),
      );
      const unit =
        body.unit !== undefined
          ? checkIdentifier(body.unit, 'unit')
          : unitHeader(req.headers['x-ferry-unit']);
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
