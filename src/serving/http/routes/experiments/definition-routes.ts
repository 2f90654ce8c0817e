import { ErrorCode, FerryError } from '../../../../core/errors.js';
import { EXPERIMENT_STATUSES, type ExperimentStatus } from '../../../../ports/experiment-api.js';
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

/** POST /v1/experiments, GET /v1/experiments, GET /v1/experiments/:id (admin). */
export const registerDefinitionRoutes: RouteGroup = (admin, { service, flush }) => {
  admin.post(
    '/v1/experiments',
    {
      schema: {
        summary:
          'Create an experiment (A/B, bandit, canary, shadow) over versions of one model; returns it and a units-needed estimate when "power" is given',
        tags,
        security,
        body: service.bodies.schemas.definition,
      },
      validatorCompiler: experimentSchemaValidator(service.bodies),
      config: { docs: { success: 201, errors: [409] } },
    },
    async (req, reply) => reply.code(201).send(await service.create(req.body, byAdmin(req.id))),
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
};
