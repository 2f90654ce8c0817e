import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import { type FeatureStatusSources, featureViewsStatus } from '../../../features/feature-status.js';
import { type StreamStatusSources, streamsStatus } from '../../../features/stream-status.js';
import type { FeatureAccess } from '../../feature-access.js';
import { requireBearer } from '../bearer-auth.js';
import { integerQuery, readIntegerQuery } from '../query-integer.js';
import type { ServerContext } from '../server-context.js';

const STATUS_DISABLED =
  'feature and stream status needs a token: start the server with FERRY_FEATURES_TOKEN, FERRY_STREAMS_TOKEN or FERRY_ADMIN_TOKEN set';

export interface FeatureStatusDeps {
  readonly access: FeatureAccess;
  readonly features: FeatureStatusSources;
  /** Absent when the server has no stream transport: GET /v1/streams/status is not served. */
  readonly streams?: StreamStatusSources | undefined;
  readonly now?: () => number;
}

const DEAD_LETTERS = { min: 0, max: 50 };
const PAYLOAD_CHARS = { min: 1, max: 4000 };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const nullable = (type: string, description?: string) => ({
  type,
  nullable: true,
  ...(description ? { description } : {}),
});

const viewSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    entities: { type: 'array', items: { type: 'string' } },
    source: {
      type: 'object',
      properties: { name: { type: 'string' }, kind: { type: 'string', enum: ['file', 'sql', 'stream'] } },
    },
    transform: { type: 'string', enum: ['row', 'window'] },
    online: { type: 'boolean', description: 'false: an offline-only view' },
    ttl_seconds: nullable('number'),
    features: { type: 'integer', description: 'Features in the view' },
    last_event_time: nullable(
      'string',
      'The newest event time its values reflect: materialized (watermark, newest chunk of any run) or processed by a pipeline writing it',
    ),
    freshness_seconds: nullable('number', 'Now − last_event_time'),
    stale: { type: 'boolean', description: 'freshness_seconds > ttl_seconds: online reads answer EXPIRED' },
    last_materialization: {
      type: 'object',
      nullable: true,
      properties: {
        mode: { type: 'string', enum: ['full', 'range', 'incremental'] },
        status: { type: 'string', enum: ['running', 'done'] },
        started_at: { type: 'string' },
        finished_at: nullable('string'),
        rows: { type: 'integer', description: 'Source rows read' },
        written: { type: 'integer', description: 'Offline values inserted or changed' },
        bad: { type: 'integer', description: 'Rows refused' },
      },
    },
    pipelines: { type: 'array', items: { type: 'string' }, description: 'Stream pipelines writing the view' },
  },
} as const;

const readerSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    consumer: { type: 'boolean', description: 'false: no consumer of this name yet (never fetched)' },
    lag_events: { type: 'integer', description: 'Events not yet acknowledged' },
    in_flight: { type: 'integer' },
    delivered_sequence: nullable('integer'),
    pipeline: {
      type: 'object',
      nullable: true,
      properties: {
        last_event_time: nullable('string', 'The newest event time the pipeline accepted'),
        lag_seconds: nullable('number', 'Now − last_event_time while events wait; 0 when caught up'),
        processed: { type: 'integer' },
        late: { type: 'integer' },
        dead_lettered: { type: 'integer' },
        instances: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              partitions: { type: 'array', items: { type: 'integer' } },
              heartbeat_age_seconds: { type: 'number' },
              events_per_second: nullable('number'),
              stopped: { type: 'boolean' },
            },
          },
        },
      },
    },
  },
} as const;

const deadLetterSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    key: { type: 'string' },
    sequence: nullable('integer'),
    consumer: nullable('string'),
    at: { type: 'string' },
    reason: { type: 'string' },
    payload: { type: 'string', description: 'The payload as text, cut to payload_chars' },
    payload_bytes: { type: 'integer' },
    payload_truncated: { type: 'boolean' },
  },
} as const;

const streamSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    exists: { type: 'boolean', description: 'false: a stream source names it, nothing was published yet' },
    sources: { type: 'array', items: { type: 'string' } },
    partitions: { type: 'integer' },
    events: { type: 'integer', description: 'Events stored now' },
    last_sequence: { type: 'integer' },
    dead_letters: { type: 'integer' },
    readers: { type: 'array', items: readerSchema },
    recent_dead_letters: { type: 'array', items: deadLetterSchema, description: 'Newest first' },
  },
} as const;

/**
 * GET /v1/features/status and GET /v1/streams/status: what the dashboard's "Features and streams"
 * page shows: each feature view's freshness against its TTL, each stream's readers' lag and its
 * newest dead letters with their reasons.
 *
 * Access: a bearer token, always: FERRY_FEATURES_TOKEN, FERRY_STREAMS_TOKEN or the admin token
 * (dead letters hold raw event payloads). With none of them set, both routes answer 401. Neither
 * answer holds a source's path, query or URL, nor the transport's address.
 */
export function registerFeatureStatusRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  deps: FeatureStatusDeps,
): void {
  const now = deps.now ?? Date.now;
  const onRequest = async (req: FastifyRequest, reply: FastifyReply) =>
    requireBearer(req, reply, [ctx.features?.token, ctx.streams?.token, ctx.adminToken], STATUS_DISABLED);

  app.get(
    '/v1/features/status',
    {
      onRequest,
      schema: {
        summary:
          'Feature views with their freshness against the TTL (token: FERRY_FEATURES_TOKEN, FERRY_STREAMS_TOKEN or the admin token)',
        tags: ['features'],
        security: [{ bearerAuth: [] }],
        response: {
          200: {
            type: 'object',
            properties: {
              now: { type: 'string' },
              views: { type: 'array', items: viewSchema },
            },
          },
        },
      },
      config: { docs: { errors: [404] } },
    },
    async () => {
      const applied = await deps.access.applied();
      if (applied.objects.length === 0) {
        throw new FerryError(
          ErrorCode.FEATURES_NOT_APPLIED,
          'no feature definitions are applied on this server: run `ferry features apply`',
        );
      }
      const at = now();
      const views = await featureViewsStatus(applied.repo, deps.features, at);
      return {
        now: new Date(at).toISOString(),
        views: views.map((v) => ({
          name: v.name,
          entities: v.entities,
          source: v.source,
          transform: v.transform,
          online: v.online,
          ttl_seconds: v.ttlSeconds,
          features: v.features,
          last_event_time: iso(v.lastEventMs),
          freshness_seconds: v.freshnessSeconds,
          stale: v.stale,
          last_materialization:
            v.lastMaterialization === null
              ? null
              : {
                  mode: v.lastMaterialization.mode,
                  status: v.lastMaterialization.status,
                  started_at: v.lastMaterialization.startedAt,
                  finished_at: v.lastMaterialization.finishedAt,
                  rows: v.lastMaterialization.rows,
                  written: v.lastMaterialization.written,
                  bad: v.lastMaterialization.bad,
                },
          pipelines: v.pipelines,
        })),
      };
    },
  );

  const streams = deps.streams;
  if (streams === undefined) return;
  app.get<{ Querystring: { dead_letters?: string; payload_chars?: string } }>(
    '/v1/streams/status',
    {
      onRequest,
      schema: {
        summary:
          "Streams with their readers' lag and their newest dead letters (token: FERRY_FEATURES_TOKEN, FERRY_STREAMS_TOKEN or the admin token)",
        tags: ['streams'],
        security: [{ bearerAuth: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            dead_letters: integerQuery(
              DEAD_LETTERS,
              'Dead letters shown per stream, newest first, default 5',
            ),
            payload_chars: integerQuery(
              PAYLOAD_CHARS,
              "Characters of each dead letter's payload kept, default 500",
            ),
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              now: { type: 'string' },
              streams: { type: 'array', items: streamSchema },
            },
          },
        },
      },
      config: { docs: { errors: [404] } },
    },
    async (req) => {
      const deadLetterLimit = readIntegerQuery(req.query.dead_letters, 'dead_letters', DEAD_LETTERS) ?? 5;
      const payloadChars = readIntegerQuery(req.query.payload_chars, 'payload_chars', PAYLOAD_CHARS) ?? 500;
      const { repo } = await deps.access.applied();
      const at = now();
      let views: Awaited<ReturnType<typeof streamsStatus>>;
      try {
        views = await streamsStatus(repo, streams, {
          deadLetterLimit,
          payloadChars,
          nowMs: at,
        });
      } catch (e) {
        // The adapter's message may name the transport's host or file: the answer does not.
        if (e instanceof FerryError && e.code === ErrorCode.STREAM_UNAVAILABLE) {
          throw new FerryError(
            ErrorCode.STREAM_UNAVAILABLE,
            'the stream transport is not answering; retry later',
            { cause: e },
          );
        }
        throw e;
      }
      return {
        now: new Date(at).toISOString(),
        streams: views.map((s) => ({
          name: s.name,
          exists: s.exists,
          sources: s.sources,
          partitions: s.partitions,
          events: s.events,
          last_sequence: s.lastSequence,
          dead_letters: s.deadLetters,
          readers: s.readers.map((r) => ({
            name: r.name,
            consumer: r.consumer,
            lag_events: r.lagEvents,
            in_flight: r.inFlight,
            delivered_sequence: r.deliveredSequence,
            pipeline:
              r.pipeline === null
                ? null
                : {
                    last_event_time: iso(r.pipeline.newestEventMs),
                    lag_seconds: r.pipeline.lagSeconds,
                    processed: r.pipeline.processed,
                    late: r.pipeline.late,
                    dead_lettered: r.pipeline.deadLettered,
                    instances: r.pipeline.instances.map((i) => ({
                      partitions: i.partitions,
                      heartbeat_age_seconds: i.heartbeatAgeSeconds,
                      events_per_second: i.eventsPerSecond,
                      stopped: i.stopped,
                    })),
                  },
          })),
          recent_dead_letters: s.recentDeadLetters.map((d) => ({
            id: d.id,
            key: d.key,
            sequence: d.sequence,
            consumer: d.consumer,
            at: new Date(d.atMs).toISOString(),
            reason: d.reason,
            payload: d.payload,
            payload_bytes: d.payloadBytes,
            payload_truncated: d.payloadTruncated,
          })),
        })),
      };
    },
  );
}
