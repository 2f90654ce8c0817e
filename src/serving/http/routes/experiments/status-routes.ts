import {
  byAdmin,
  checkedId,
  experimentSchemaValidator,
  type IdParams,
  idParams,
  type RouteGroup,
  security,
  tags,
} from './shared.js';

/** The status moves (admin): pause|resume|stop, promote|abort (canaries), conclude. */
export const registerStatusRoutes: RouteGroup = (admin, { service }) => {
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
        config: { docs: { errors: [409] } },
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
          body: service.bodies.schemas.reason,
        },
        validatorCompiler: experimentSchemaValidator(service.bodies),
        config: { docs: { errors: [409] } },
      },
      async (req) => {
        const { reason } = service.bodies.reason(req.body);
        return {
          experiment: await service.canaryAction(checkedId(req.params.id), action, reason, byAdmin(req.id)),
        };
      },
    );
  }

  admin.post<{ Params: IdParams; Body: unknown }>(
    '/v1/experiments/:id/conclude',
    {
      schema: {
        summary: 'Conclude an experiment, recording the winning arm (if any); routing stops',
        tags,
        security,
        params: idParams,
        body: service.bodies.schemas.conclusion,
      },
      validatorCompiler: experimentSchemaValidator(service.bodies),
      config: { docs: { errors: [409] } },
    },
    async (req) => ({
      experiment: await service.conclude(checkedId(req.params.id), {
        ...service.bodies.conclusion(req.body),
        by: byAdmin(req.id),
      }),
    }),
  );
};
