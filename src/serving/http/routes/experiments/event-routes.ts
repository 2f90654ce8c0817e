import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkEventsBody } from '../../../../experiments/experiment-definition.js';
import { eventsBodySchema, exclusionSchema } from '../../../../experiments/experiment-schemas.js';
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
        body: exclusionSchema,
      },
      validatorCompiler: experimentSchemaValidator(),
    },
    async (req) =>
      service.excludeEvents(checkedId(req.params.id), req.body, {
        defaultBy: 'admin',
        via: `http, request ${req.id}`,
      }),
  );
};

/**
 * POST /v1/experiments/:id/events: no token unless the server has an events token
 * (FERRY_EVENTS_TOKEN; the admin token is accepted too), because the applications that report
 * outcomes should not hold the admin token.
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
          'Report outcomes: {unit, metric, value, event_id} or {events: [...]}; an event_id already stored counts once. A bearer token (FERRY_EVENTS_TOKEN or the admin token) when the server has an events token.',
        tags,
        params: idParams,
        body: eventsBodySchema,
      },
      validatorCompiler: experimentSchemaValidator(checkEventsBody),
      config: { docs: { errors: [401, 409] } },
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
        if (ctx.eventsToken !== undefined && ctx.eventsToken !== '') {
          requireBearer(req, reply, [ctx.eventsToken, ctx.adminToken], 'events need a bearer token');
        }
      },
    },
    async (req) => service.recordEvents(checkedId(req.params.id), req.body),
  );
}
