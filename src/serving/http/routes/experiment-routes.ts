import type { FastifyInstance } from 'fastify';
import { adminAuth } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';
import { registerDefinitionRoutes } from './experiments/definition-routes.js';
import { registerEventRoute, registerExclusionRoute } from './experiments/event-routes.js';
import type { ExperimentRouteDeps } from './experiments/shared.js';
import { registerStatusRoutes } from './experiments/status-routes.js';

/**
 * The experiments API. Bodies are checked against the schemas of experiments/experiment-schemas.ts
 * (the same objects /openapi.json shows), then by the service's rules.
 * - Admin (bearer FERRY_ADMIN_TOKEN), reads included: POST /v1/experiments,
 *   GET /v1/experiments[?status&model&limit&offset&order] ({experiments}; paged: + total, offset, limit),
 *   GET /v1/experiments/:id (definition + analysis; a shadow's merged report, a canary's state),
 *   POST /v1/experiments/:id/pause|resume|stop, POST /v1/experiments/:id/conclude {winner?, reason?},
 *   POST /v1/experiments/:id/promote|abort {reason?} (canaries only; 409 otherwise),
 *   POST /v1/experiments/:id/events/exclude {reason, event_ids?, unit?, metric?, outOfRange?, by?}.
 * - Outcomes: POST /v1/experiments/:id/events {unit, metric, value, event_id[, at]} or
 *   {events: [...]}, strictly validated against the experiment's metrics (see registerEventRoute
 *   for its token).
 */
export function registerExperimentRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  experiments: ExperimentRouteDeps,
): void {
  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(ctx.adminToken));
    registerDefinitionRoutes(admin, experiments);
    registerStatusRoutes(admin, experiments);
    registerExclusionRoute(admin, experiments);
  });
  registerEventRoute(app, ctx, experiments);
}
