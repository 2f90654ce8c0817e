import type { FastifyInstance } from 'fastify';
import { kindLabel } from '../../../model/kinds/index.js';
import { MAX_VERSION } from '../../../registry/model-ref.js';
import { adminAuth } from '../bearer-auth.js';
import { integerQuery, readIntegerQuery } from '../query-integer.js';
import type { ServerContext } from '../server-context.js';

/** Versions and alias moves are listed a page at a time: `limit` 1..500 (default 50) and `offset`. */
const DEFAULT_PAGE = 50;
const LIMIT = { min: 1, max: 500 };
const OFFSET = { min: 0, max: 999_999_999 };
const pageQuery = {
  limit: integerQuery(LIMIT, `Items per page, default ${DEFAULT_PAGE}`),
  offset: integerQuery(OFFSET, 'Items to skip, default 0'),
};
type PageQuery = { limit?: string; offset?: string };
function pageOf(q: PageQuery): { limit: number; offset: number } {
  return {
    limit: readIntegerQuery(q.limit, 'limit', LIMIT) ?? DEFAULT_PAGE,
    offset: readIntegerQuery(q.offset, 'offset', OFFSET) ?? 0,
  };
}
/** What a confirmation showed: the move is refused (409) if the alias no longer points there. */
const expectedFrom = {
  type: 'integer',
  nullable: true,
  minimum: 1,
  maximum: MAX_VERSION,
  description:
    'The version the alias must point at now (null: the alias must not exist), else 409 FERRY_REGISTRY_ALIAS_MOVED and nothing changes',
} as const;
const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

/**
 * Ferry's admin API under /v1: list models, their versions and alias history, move an alias, roll
 * one back, reload. Every route needs the admin token (Authorization: Bearer $FERRY_ADMIN_TOKEN).
 */
export function registerAdminRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const tags = ['admin'];
  const security = [{ bearerAuth: [] }];

  app.register(async (admin) => {
    admin.addHook('onRequest', adminAuth(ctx.adminToken));

    admin.get(
      '/v1/models',
      {
        schema: { summary: 'Registered models, their versions and what this server serves', tags, security },
      },
      async () => {
        const [summaries, versions] = await Promise.all([ctx.registry.listModels(), ctx.registry.list()]);
        // Each model with the kinds of its versions (one name may hold an ONNX export beside a text model).
        const models = summaries.map((m) => ({
          ...m,
          kinds: [...new Set(versions.filter((v) => v.name === m.name).map((v) => kindLabel(v.kind)))].sort(),
        }));
        return { models, served: ctx.service.host.servedAliases() };
      },
    );

    // Admin token (the hook above). One page of the versions, with `total`; without a query string
    // the first 50, oldest first, as before pages existed.
    admin.get<{
      Params: { name: string };
      Querystring: PageQuery & { order?: 'oldest' | 'newest' };
    }>(
      '/v1/models/:name',
      {
        schema: {
          summary:
            'Versions of one model, one page (limit, offset; order oldest or newest first), and how many it has in all',
          tags,
          security,
          params: nameParams,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ...pageQuery,
              order: {
                type: 'string',
                enum: ['oldest', 'newest'],
                description: 'By version: oldest (ascending, the default) or newest first',
              },
            },
          },
        },
      },
      async (req) => {
        const { limit, offset } = pageOf(req.query);
        const order = req.query.order ?? 'oldest';
        const page = await ctx.registry.listVersions(req.params.name, {
          limit,
          offset,
          newestFirst: order === 'newest',
        });
        return { ...page, limit, offset, order };
      },
    );

    // Admin token. The model's aliases now and their moves (every alias, or `alias`), newest first.
    admin.get<{
      Params: { name: string };
      Querystring: PageQuery & { alias?: string };
    }>(
      '/v1/models/:name/aliases',
      {
        schema: {
          summary:
            "A model's aliases and the history of their moves, newest first (time, alias, from, to, reason), one page",
          tags,
          security,
          params: nameParams,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ...pageQuery,
              alias: {
                type: 'string',
                minLength: 1,
                maxLength: 63,
                description: 'Only the moves of this alias',
              },
            },
          },
        },
      },
      async (req) => {
        const { name } = req.params;
        const { limit, offset } = pageOf(req.query);
        const [aliases, page] = await Promise.all([
          ctx.registry.aliases(name),
          ctx.registry.aliasEvents(name, {
            limit,
            offset,
            ...(req.query.alias !== undefined ? { alias: req.query.alias } : {}),
          }),
        ]);
        return { name, aliases, ...page, limit, offset };
      },
    );

    admin.put<{
      Params: { name: string; alias: string };
      Body: { version: number; reason?: string; from?: number | null };
    }>(
      '/v1/models/:name/aliases/:alias',
      {
        schema: {
          summary: 'Point an alias at a version (atomic); the server swaps to it without downtime',
          tags,
          security,
          body: {
            type: 'object',
            required: ['version'],
            additionalProperties: false,
            properties: {
              version: { type: 'integer', minimum: 1, maximum: MAX_VERSION },
              reason: { type: 'string', maxLength: 500 },
              from: expectedFrom,
            },
          },
        },
        config: { docs: { errors: [409] } },
      },
      async (req) => {
        const { name, alias } = req.params;
        const from = await ctx.registry.setAlias(
          name,
          alias,
          req.body.version,
          req.body.reason ?? 'PUT /v1/models/:name/aliases/:alias',
          req.body.from,
        );
        await ctx.service.host.refresh({ retryFailed: true });
        return { name, alias, from, to: req.body.version, served: ctx.service.host.servedAliases() };
      },
    );

    // Admin token. What `ferry models rollback` does: the alias goes back to where it pointed
    // before its last move (itself recorded as a move, so a second rollback undoes the first).
    admin.post<{
      Params: { name: string; alias: string };
      Body: { reason?: string; from?: number | null; to?: number };
    }>(
      '/v1/models/:name/aliases/:alias/rollback',
      {
        schema: {
          summary:
            'Move an alias back to the version it pointed at before its last move; the server swaps to it without downtime',
          tags,
          security,
          params: {
            type: 'object',
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 63 },
              alias: { type: 'string', minLength: 1, maxLength: 63 },
            },
          },
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              reason: { type: 'string', maxLength: 500 },
              from: expectedFrom,
              to: {
                type: 'integer',
                minimum: 1,
                maximum: MAX_VERSION,
                description: 'The version the rollback must go back to, else 409 FERRY_REGISTRY_ALIAS_MOVED',
              },
            },
          },
        },
        config: { docs: { errors: [409] } },
        // No body at all is an empty one (the reason is optional).
        preValidation: async (req) => {
          if (req.body === undefined || req.body === null) req.body = {};
        },
      },
      async (req) => {
        const { name, alias } = req.params;
        const { reason, from, to } = req.body;
        const move = await ctx.registry.rollback(
          name,
          alias,
          reason ?? 'POST /v1/models/:name/aliases/:alias/rollback',
          from === undefined && to === undefined
            ? undefined
            : { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) },
        );
        await ctx.service.host.refresh({ retryFailed: true });
        return { ...move, served: ctx.service.host.servedAliases() };
      },
    );

    admin.post(
      '/v1/reload',
      { schema: { summary: 'Re-read aliases from the registry now and swap what moved', tags, security } },
      async () => {
        await ctx.service.host.refresh({ retryFailed: true });
        return { served: ctx.service.host.servedAliases() };
      },
    );
  });
}
