import type { FastifyInstance } from 'fastify';
import { kindLabel } from '../../../model/kinds/index.js';
import { MAX_VERSION } from '../../../registry/model-ref.js';
import { adminAuth } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';

/** Ferry's admin API under /v1: list models, move an alias, reload. Bearer token required. */
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

    admin.get<{ Params: { name: string } }>(
      '/v1/models/:name',
      { schema: { summary: 'Versions of one model', tags, security } },
      async (req) => ({ versions: await ctx.registry.list(req.params.name) }),
    );

    admin.put<{ Params: { name: string; alias: string }; Body: { version: number; reason?: string } }>(
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
            },
          },
        },
      },
      async (req) => {
        const { name, alias } = req.params;
        const from = await ctx.registry.setAlias(
          name,
          alias,
          req.body.version,
          req.body.reason ?? 'PUT /v1/models/:name/aliases/:alias',
        );
        await ctx.service.host.refresh({ retryFailed: true });
        return { name, alias, from, to: req.body.version, served: ctx.service.host.servedAliases() };
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
