import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OnlineReadResponse } from '../../../features/online-read.js';
import type { FeatureAccess } from '../../feature-access.js';
import { requireBearer } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';

const valueSchema = {
  type: 'object',
  properties: {
    value: { description: 'The feature value (JSON); null unless PRESENT' },
    status: { type: 'string', enum: ['PRESENT', 'NOT_FOUND', 'EXPIRED'] },
    event_time: { type: 'string', format: 'date-time', nullable: true },
  },
} as const;

const responseSchema = {
  type: 'object',
  properties: {
    features: { type: 'array', items: { type: 'string' }, description: '`view:feature`, in the order asked' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          entity: { type: 'object', additionalProperties: { type: 'string' } },
          features: { type: 'object', additionalProperties: valueSchema },
        },
      },
    },
  },
} as const;

/**
 * Who may read online features: anyone who may call `/predict`, unless FERRY_FEATURES_TOKEN is
 * set; then that token or the admin token. Entity lookups in `/predict` and v2 infer follow the
 * same rule (they reveal the features through the prediction).
 */
export function requireFeatureAccess(req: FastifyRequest, reply: FastifyReply, ctx: ServerContext): void {
  const token = ctx.features?.token;
  if (token !== undefined && token !== '') {
    requireBearer(req, reply, [token, ctx.adminToken], 'online features need a token');
  }
}

/** Snake case on the wire, as every Ferry route. A plain loop: a read can hold 500 000 values. */
function toWire(response: OnlineReadResponse) {
  return {
    features: response.features,
    results: response.results.map((r) => {
      const features: Record<string, { value: unknown; status: string; event_time: string | null }> = {};
      for (const name of Object.keys(r.features)) {
        const f = r.features[name]!;
        features[name] = { value: f.value, status: f.status, event_time: f.eventTime };
      }
      return { entity: r.entity, features };
    }),
  };
}

/** POST /v1/features/online: Feast's get-online-features, with the TTL enforced at read time. */
export function registerFeatureRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  features: { access: FeatureAccess },
): void {
  app.post<{
    Body: { service?: string; features?: string[]; entities: Record<string, (string | number)[]> };
  }>(
    '/v1/features/online',
    {
      schema: {
        summary:
          'Online features of entities: a feature service or `view:feature` list, entities as join key → values',
        tags: ['features'],
        body: {
          type: 'object',
          required: ['entities'],
          additionalProperties: false,
          properties: {
            service: { type: 'string', minLength: 1, maxLength: 64 },
            features: {
              type: 'array',
              minItems: 1,
              maxItems: 500,
              items: { type: 'string', minLength: 1, maxLength: 200 },
            },
            entities: {
              type: 'object',
              maxProperties: 16,
              additionalProperties: {
                type: 'array',
                maxItems: 1000,
                items: { anyOf: [{ type: 'string', maxLength: 512 }, { type: 'integer' }] },
              },
            },
          },
        },
        response: { 200: responseSchema },
      },
      // The schema documents the answer (/docs); JSON.stringify writes it. fast-json-stringify's
      // code for a map of objects (`additionalProperties`) is slower than JSON.stringify here:
      // 100 entities × 50 features took 1.6× as long (bench/features). toWire builds exactly
      // the documented fields, so there is nothing for a schema serializer to drop.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req, reply) => {
      requireFeatureAccess(req, reply, ctx);
      const body = req.body;
      return toWire(
        await features.access.read({
          entities: body.entities,
          ...(body.service !== undefined ? { service: body.service } : {}),
          ...(body.features !== undefined ? { features: body.features } : {}),
        }),
      );
    },
  );
}
