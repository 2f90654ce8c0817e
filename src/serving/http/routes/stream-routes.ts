import type { FastifyInstance } from 'fastify';
import { encodeStreamEvent, eventSpecs, specFor } from '../../../features/stream-events.js';
import type { EventStream } from '../../../ports/event-stream.js';
import type { FeatureAccess } from '../../feature-access.js';
import { requireBearer } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';

const STREAMS_DISABLED =
  'publishing events needs a token: start the server with FERRY_STREAMS_TOKEN (or FERRY_ADMIN_TOKEN) set';

/** The most events one request may carry (each up to FERRY_STREAM_MAX_EVENT_BYTES, within the body limit). */
const MAX_EVENTS_PER_REQUEST = 1000;

export interface StreamRoutesDeps {
  access: FeatureAccess;
  /** The transport, opened on first use. */
  transport: () => Promise<EventStream>;
  token?: string | undefined;
  maxEventBytes: number;
}

/**
 * POST /v1/streams/{stream}/events: producers put events into a stream that a stream source of the
 * applied definitions reads. Token-protected (events change features and predictions others read).
 * Every event is checked before any is published (all or nothing at the edge); the transport
 * dedupes by event id, so a producer retrying a request stores nothing twice.
 */
export function registerStreamRoutes(app: FastifyInstance, ctx: ServerContext, deps: StreamRoutesDeps): void {
  app.post<{ Params: { stream: string }; Body: { events: unknown[] } }>(
    '/v1/streams/:stream/events',
    {
      onRequest: async (req, reply) =>
        requireBearer(req, reply, [deps.token, ctx.adminToken], STREAMS_DISABLED),
      schema: {
        summary: 'Publish events to a stream (token: FERRY_STREAMS_TOKEN or the admin token)',
        tags: ['streams'],
        params: {
          type: 'object',
          properties: { stream: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        body: {
          type: 'object',
          required: ['events'],
          additionalProperties: false,
          properties: {
            events: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_EVENTS_PER_REQUEST,
              items: { type: 'object' },
              description: 'JSON objects with the id, key and event-time fields of the stream source',
            },
          },
        },
        response: {
          202: {
            type: 'object',
            properties: {
              accepted: { type: 'integer', description: 'Events stored now' },
              duplicates: { type: 'integer', description: 'Events whose id was already stored' },
              events: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    sequence: { type: 'integer' },
                    duplicate: { type: 'boolean' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const { repo } = await deps.access.applied();
      const spec = specFor(eventSpecs(repo), req.params.stream);
      const events = req.body.events.map((e, i) => encodeStreamEvent(e, i, spec, deps.maxEventBytes));
      const transport = await deps.transport();
      await transport.ensureStream({ name: spec.stream });
      const acks = await transport.publish(spec.stream, events);
      const duplicates = acks.filter((a) => a.duplicate).length;
      return reply.code(202).send({
        accepted: acks.length - duplicates,
        duplicates,
        events: acks.map((a, i) => ({ id: events[i]!.id, sequence: a.sequence, duplicate: a.duplicate })),
      });
    },
  );
}
