import { ErrorCode, FerryError } from '../../../../core/errors.js';
import { EXPERIMENT_STATUSES, type ExperimentStatus } from '../../../../ports/experiment-api.js';
import { integerQuery, readIntegerQuery } from '../../query-integer.js';
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

/** One page of GET /v1/experiments: at most 1000 experiments. */
const LIST_LIMIT = { min: 1, max: 1000 };
const LIST_OFFSET = { min: 0, max: 999_999_999 };

interface ListQuery {
  status?: string;
  model?: string;
  limit?: string;
  offset?: string;
  order?: 'oldest' | 'newest';
}

/**
 * POST /v1/experiments, GET /v1/experiments[?status&model&limit&offset&order], GET
 * /v1/experiments/:id (admin: bearer FERRY_ADMIN_TOKEN, reads included).
 */
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

  admin.get<{ Querystring: ListQuery }>(
    '/v1/experiments',
    {
      schema: {
        summary:
          'List experiments (optionally by status, comma-separated, and model), oldest first (order=newest: newest first); limit and offset page the list (the answer then adds total, every match, and offset)',
        tags,
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', maxLength: 200 },
            model: { type: 'string', maxLength: 63 },
            limit: integerQuery(LIST_LIMIT, 'at most this many experiments; default all'),
            offset: integerQuery(LIST_OFFSET, 'skip this many of the matching experiments first; default 0'),
            order: { type: 'string', enum: ['oldest', 'newest'], description: 'by creation; default oldest' },
          },
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
      const limit = readIntegerQuery(req.query.limit, 'limit', LIST_LIMIT);
      const offset = readIntegerQuery(req.query.offset, 'offset', LIST_OFFSET) ?? 0;
      const list = await service.list({
        ...(req.query.model !== undefined ? { model: req.query.model } : {}),
        ...(statuses !== undefined ? { statuses: statuses as ExperimentStatus[] } : {}),
      });
      const ordered = req.query.order === 'newest' ? [...list].reverse() : list;
      // Without limit and offset the answer is the whole list, shaped as before paging existed.
      if (limit === undefined && req.query.offset === undefined) return { experiments: ordered };
      const page = ordered.slice(offset, limit === undefined ? undefined : offset + limit);
      return { experiments: page, total: list.length, offset, ...(limit !== undefined ? { limit } : {}) };
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
