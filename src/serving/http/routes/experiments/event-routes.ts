import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireBearer } from '../../bearer-auth.js';
import type { ServerContext } from '../../server-context.js';
import {
  checkedId,
  type ExperimentRouteDeps,
  experimentSchemaValidator,
  type IdParams,
  idParams,
  type RouteGroup,
  security,
  tags,
} from './shared.js';

/** POST /v1/experiments/:id/events/exclude (admin). */
export const registerExclusionRoute: RouteGroup = (admin, { service }) => {
  admin.post<{ Params: IdParams; Body: unknown }>(
    '/v1/experiments/:id/events/exclude',
    {
      schema: {
        summary:
          'Exclude events (by event_ids, unit, metric, or outOfRange values); they stay stored with when, who and why, and are never counted',
        tags,
        security,
        params: idParams,
        body: service.bodies.schemas.exclusion,
      },
      validatorCompiler: experimentSchemaValidator(service.bodies),
    },
    async (req) =>
      service.excludeEvents(checkedId(req.params.id), req.body, {
        defaultBy: 'admin',
        via: `http, request ${req.id}`,
      }),
  );
};

/**
 * POST /v1/experiments/:id/events: outcomes change the analysis (and bandit weights, canary
 * decisions) others read, so they need the events token (FERRY_EVENTS_TOKEN, for the applications
 * that report outcomes, which should not hold the admin token) or the admin token, unless the
 * operator opted into anonymous events (FERRY_EVENTS_ANONYMOUS).
 */
export function registerEventRoute(
  app: FastifyInstance,
  ctx: ServerContext,
  { service }: ExperimentRouteDeps,
): void {
  app.post<{ Params: IdParams }>(
    '/v1/experiments/:id/events',
    {
      schema: {
        summary:
          'Report outcomes: {unit, metric, value, event_id} or {events: [...]}; an event_id already stored counts once. Needs a bearer token (FERRY_EVENTS_TOKEN or the admin token) unless the server allows anonymous events.',
        tags,
        params: idParams,
        body: service.bodies.schemas.events,
      },
      validatorCompiler: experimentSchemaValidator(service.bodies, service.bodies.checkEvents),
      config: { docs: { errors: [401, 409] } },
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
        if (ctx.eventsAnonymous === true) return;
        requireBearer(
          req,
          reply,
          [ctx.eventsToken, ctx.adminToken],
          'events need a bearer token: start the server with FERRY_EVENTS_TOKEN or FERRY_ADMIN_TOKEN (or FERRY_EVENTS_ANONYMOUS=true)',
        );
      },
    },
    async (req) => service.recordEvents(checkedId(req.params.id), req.body),
  );
}
