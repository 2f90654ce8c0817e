import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import {
  EXPERIMENT_STATUSES,
  EXPERIMENT_TYPES,
  type ExperimentApi,
  type ExperimentStatus,
  experimentNotFound,
  isValidExperimentName,
  METRIC_KINDS,
} from '../../../ports/experiment-api.js';
import { MAX_VERSION } from '../../../registry/model-ref.js';
import { adminAuth, requireBearer } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';

type IdParams = { id: string };

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'The experiment name' } },
} as const;

/** The documented shape; the checks (with FERRY_EXPERIMENT_* codes) are parseExperimentDefinition's. */
const definitionSchema = {
  type: 'object',
  required: ['name', 'model', 'arms'],
  properties: {
    name: { type: 'string', description: 'Unique id; also the default hashing seed' },
    type: { type: 'string', enum: [...EXPERIMENT_TYPES], default: 'ab' },
    model: { type: 'string' },
    arms: {
      type: 'array',
      minItems: 2,
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string' },
          version: { type: 'integer', minimum: 1, maximum: MAX_VERSION },
          alias: { type: 'string' },
          weight: { type: 'number', minimum: 0, maximum: 1 },
        },
      },
    },
    coverage: { type: 'number', minimum: 0, maximum: 1, default: 1 },
    seed: { type: 'string' },
    metrics: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind'],
        properties: {
          name: { type: 'string' },
          kind: { type: 'string', enum: [...METRIC_KINDS] },
          tau: { type: 'number', exclusiveMinimum: 0 },
          min: { type: 'number', description: 'numeric only: least event value (default -1e9)' },
          max: { type: 'number', description: 'numeric only: greatest event value (default 1e9)' },
        },
      },
    },
    analysis: {
      type: 'object',
      properties: {
        minUnitsPerArm: {
          type: 'integer',
          minimum: 2,
          default: 30,
          description: 'units each arm needs before a comparison is sufficientData',
        },
      },
    },
    bandit: {
      type: 'object',
      properties: {
        policy: { type: 'string', enum: ['thompson', 'ucb1', 'epsilon-greedy'] },
        floor: { type: 'number' },
        minUnitsPerArm: { type: 'integer' },
        updateEveryMs: { type: 'integer' },
        metric: { type: 'string' },
        epsilon: { type: 'number' },
        rewardRange: { type: 'number' },
      },
    },
    power: {
      type: 'object',
      description:
        'Units-needed estimate: {"baseline": 0.1, "mde": 0.1, "relative": true} for a binary metric',
      properties: {
        metric: { type: 'string' },
        baseline: { type: 'number' },
        sigma: { type: 'number' },
        mde: { type: 'number' },
        relative: { type: 'boolean' },
        alpha: { type: 'number' },
        power: { type: 'number' },
      },
    },
    description: { type: 'string' },
    canary: { type: 'object', additionalProperties: true },
    shadow: { type: 'object', additionalProperties: true },
  },
} as const;

const eventSchema = {
  type: 'object',
  required: ['unit', 'metric', 'value', 'event_id'],
  properties: {
    unit: { type: 'string', maxLength: 256 },
    metric: { type: 'string' },
    value: {
      type: ['number', 'boolean'],
      description: "binary: 0/1; numeric: within the metric's min/max (default ±1e9)",
    },
    event_id: { type: 'string', maxLength: 256 },
    at: {
      type: 'string',
      format: 'date-time',
      description: "within the experiment's life: from its creation − 5 min to now + 5 min",
    },
  },
} as const;

/** The schemas above document; the service validates (its 400s carry precise codes and fields). */
const documentOnly = () => () => true;

/** Who changed an experiment over HTTP, for the log: the admin token's holder, and which request. */
function byAdmin(requestId: string): string {
  return `admin (http, request ${requestId})`;
}

function concludeBody(raw: unknown): { winner?: string | null; reason?: string } {
  if (raw === undefined || raw === null) return {};
  const bad = (message: string) =>
    new FerryError(ErrorCode.EXPERIMENT_INVALID, message, { details: { field: 'body' } });
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('the body must be {"winner"?, "reason"?}');
  const body = raw as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'winner' && key !== 'reason') throw bad(`unknown field ${JSON.stringify(key)}`);
  }
  if (body.winner !== undefined && body.winner !== null && typeof body.winner !== 'string') {
    throw bad('winner must be an arm name or null');
  }
  if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 500)) {
    throw bad('reason must be a string of at most 500 characters');
  }
  return body as { winner?: string | null; reason?: string };
}

function reasonBody(raw: unknown): { reason?: string } {
  if (raw === undefined || raw === null) return {};
  const bad = (message: string) =>
    new FerryError(ErrorCode.EXPERIMENT_INVALID, message, { details: { field: 'body' } });
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('the body must be {"reason"?}');
  const body = raw as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'reason') throw bad(`unknown field ${JSON.stringify(key)}`);
  }
  if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 500)) {
    throw bad('reason must be a string of at most 500 characters');
  }
  return body.reason === undefined ? {} : { reason: body.reason as string };
}

function checkedId(id: string): string {
  if (!isValidExperimentName(id)) throw experimentNotFound(id);
  return id;
}

/**
 * The experiments API.
 * - Admin (bearer FERRY_ADMIN_TOKEN), reads included: POST /v1/experiments, GET /v1/experiments,
 *   GET /v1/experiments/:id (definition + analysis; a shadow's merged report, a canary's state),
 *   POST /v1/experiments/:id/pause|resume|stop, POST /v1/experiments/:id/conclude {winner?, reason?},
 *   POST /v1/experiments/:id/promote|abort {reason?} (canaries only; 409 otherwise),
 *   POST /v1/experiments/:id/events/exclude {reason, event_ids?, unit?, metric?, outOfRange?, by?}.
 * - Outcomes: POST /v1/experiments/:id/events {unit, metric, value, event_id[, at]} or
 *   {events: [...]}: no token unless the server has an events token (FERRY_EVENTS_TOKEN; the admin
 *   token is accepted too), because the applications that report outcomes should not hold the
 *   admin token. The body is strictly validated against the experiment's metrics.
 */
export function registerExperimentRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  experiments: {
    service: ExperimentApi;
    flush?: ((name: string) => Promise<void>) | undefined;
  },
): void {
  const { service, flush } = experiments;
  const tags = ['experiments'];
  const security = [{ bearerAuth: [] }];

  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(ctx.adminToken));

    admin.post(
      '/v1/experiments',
      {
        schema: {
          summary:
            'Create an experiment (A/B, bandit, canary, shadow) over versions of one model; returns it and a units-needed estimate when "power" is given',
          tags,
          security,
          body: definitionSchema,
        },
        validatorCompiler: documentOnly,
      },
      async (req, reply) => {
        const created = await service.create(req.body, byAdmin(req.id));
        return reply.code(201).send(created);
      },
    );

    admin.get<{ Querystring: { status?: string; model?: string } }>(
      '/v1/experiments',
      {
        schema: {
          summary: 'List experiments (optionally by status, comma-separated, and model)',
          tags,
          security,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { status: { type: 'string' }, model: { type: 'string', maxLength: 63 } },
          },
        },
      },
      async (req) => {
        const statuses = req.query.status?.split(',').map((s) => s.trim());
        for (const s of statuses ?? []) {
          if (!(EXPERIMENT_STATUSES as readonly string[]).includes(s)) {
            throw new FerryError(
              ErrorCode.HTTP_INVALID_REQUEST,
              `status must be among ${EXPERIMENT_STATUSES.join(', ')}`,
              { details: { status: s } },
            );
          }
        }
        const list = await service.list({
          ...(req.query.model !== undefined ? { model: req.query.model } : {}),
          ...(statuses !== undefined ? { statuses: statuses as ExperimentStatus[] } : {}),
        });
        return { experiments: list };
      },
    );

    admin.get<{ Params: IdParams }>(
      '/v1/experiments/:id',
      {
        schema: {
          summary:
            'The experiment and its analysis: per arm and metric, lift with CI and p-value, chance to beat control, always-valid (mSPRT) p-value and interval, Holm/BH, SRM; bandits: probability best and weights history',
          tags,
          security,
          params: idParams,
        },
      },
      async (req) => {
        const id = checkedId(req.params.id);
        // What this server routed (and its shadow and canary counters) so far is counted.
        await flush?.(id);
        return service.analyze(id);
      },
    );

    for (const action of ['pause', 'resume', 'stop'] as const) {
      admin.post<{ Params: IdParams }>(
        `/v1/experiments/:id/${action}`,
        {
          schema: {
            summary: `${action[0]!.toUpperCase()}${action.slice(1)} an experiment`,
            tags,
            security,
            params: idParams,
          },
        },
        async (req) => ({
          experiment: await service.transition(checkedId(req.params.id), action, byAdmin(req.id)),
        }),
      );
    }

    for (const action of ['promote', 'abort'] as const) {
      admin.post<{ Params: IdParams; Body: unknown }>(
        `/v1/experiments/:id/${action}`,
        {
          schema: {
            summary:
              action === 'promote'
                ? 'Canaries: promote now (the production alias moves to the canary version; the experiment is concluded)'
                : "Canaries: abort (the canary's traffic goes back to production; the experiment is concluded)",
            tags,
            security,
            params: idParams,
            body: {
              type: 'object',
              additionalProperties: false,
              properties: { reason: { type: 'string', maxLength: 500 } },
            },
          },
          validatorCompiler: documentOnly,
        },
        async (req) => {
          const { reason } = reasonBody(req.body);
          return {
            experiment: await service.canaryAction(checkedId(req.params.id), action, reason, byAdmin(req.id)),
          };
        },
      );
    }

    admin.post<{ Params: IdParams; Body: unknown }>(
      '/v1/experiments/:id/events/exclude',
      {
        schema: {
          summary:
            'Exclude events (by event_ids, unit, metric, or outOfRange values); they stay stored with when, who and why, and are never counted',
          tags,
          security,
          params: idParams,
          body: {
            type: 'object',
            required: ['reason'],
            additionalProperties: false,
            properties: {
              event_ids: { type: 'array', items: { type: 'string' }, maxItems: 1000 },
              unit: { type: 'string', maxLength: 256 },
              metric: { type: 'string' },
              outOfRange: { type: 'boolean' },
              reason: { type: 'string', maxLength: 500 },
              by: { type: 'string', maxLength: 256 },
            },
          },
        },
        validatorCompiler: documentOnly,
      },
      async (req) =>
        service.excludeEvents(checkedId(req.params.id), req.body, {
          defaultBy: 'admin',
          via: `http, request ${req.id}`,
        }),
    );

    admin.post<{ Params: IdParams; Body: unknown }>(
      '/v1/experiments/:id/conclude',
      {
        schema: {
          summary: 'Conclude an experiment, recording the winning arm (if any); routing stops',
          tags,
          security,
          params: idParams,
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              winner: { type: ['string', 'null'], maxLength: 64 },
              reason: { type: 'string', maxLength: 500 },
            },
          },
        },
        // The body is optional, which fastify's validation cannot say: checked below.
        validatorCompiler: documentOnly,
      },
      async (req) => {
        const body = concludeBody(req.body);
        const experiment = await service.conclude(checkedId(req.params.id), {
          ...(body.winner !== undefined ? { winner: body.winner } : {}),
          ...(body.reason !== undefined ? { reason: body.reason } : {}),
          by: byAdmin(req.id),
        });
        return { experiment };
      },
    );
  });

  app.post<{ Params: IdParams }>(
    '/v1/experiments/:id/events',
    {
      schema: {
        summary:
          'Report outcomes: {unit, metric, value, event_id} or {events: [...]}; an event_id already stored counts once',
        tags,
        params: idParams,
        body: {
          oneOf: [
            eventSchema,
            {
              type: 'object',
              required: ['events'],
              properties: { events: { type: 'array', items: eventSchema } },
            },
          ],
        },
      },
      validatorCompiler: documentOnly,
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
        // Outcomes change the analysis (and bandit weights, canary decisions) others read: a token
        // is needed unless the operator opted into anonymous events.
        if (ctx.eventsAnonymous === true) return;
        requireBearer(
          req,
          reply,
          [ctx.eventsToken, ctx.adminToken],
          'events need a bearer token: start the server with FERRY_EVENTS_TOKEN or FERRY_ADMIN_TOKEN (or FERRY_EVENTS_ANONYMOUS=true)',
        );
      },
    },
    async (req) => {
      const id = checkedId(req.params.id);
      return service.recordEvents(id, req.body);
    },
  );
}
