import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ErrorCode, FerryError } from '../../../core/errors.js';

/**
 * Where `npm run build` (Vite, ui/vite.config.ts) writes the dashboard: `<package>/dist/ui`. The
 * same path from src/serving/http/routes (the source, as tests run it) and from dist/serving/http/routes.
 */
export const UI_ROOT = fileURLToPath(new URL('../../../../dist/ui/', import.meta.url));

/**
 * The dashboard's pages only talk to this server (`connect-src 'self'`), load nothing from
 * elsewhere and cannot be framed; uPlot sets its styles through the CSSOM, which CSP allows.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

/**
 * GET /ui and /ui/* — the dashboard's static files (public: they hold no data; every page reads
 * the API with the caller's own token). Hashed assets are cached for good, index.html never.
 * When the files are not built, FERRY_UI_NOT_BUILT (503) says how to build them.
 */
export async function registerUiRoutes(app: FastifyInstance, root: string = UI_ROOT): Promise<void> {
  const tags = ['dashboard'];
  await app.register(async (ui) => {
    ui.addHook('onSend', async (_req, reply, payload) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
      return payload;
    });
    if (!existsSync(join(root, 'index.html'))) {
      const notBuilt = async () => {
        throw new FerryError(
          ErrorCode.UI_NOT_BUILT,
          'the dashboard is not built: run `npm run build` (or start the server with --no-ui)',
        );
      };
      ui.get('/ui', { schema: { summary: 'The dashboard (not built)', tags } }, notBuilt);
      ui.get('/ui/*', { schema: { hide: true } }, notBuilt);
      return;
    }
    await ui.register(fastifyStatic, {
      root,
      prefix: '/ui/',
      // Only this plugin's own routes: @fastify/swagger-ui registers the package too.
      decorateReply: false,
      // The page itself is answered below (the plugin's index does not answer /ui/).
      index: false,
      redirect: false,
      wildcard: true,
      schemaHide: true,
      // Vite names assets by their content hash: they never change under one name.
      cacheControl: false,
      setHeaders: (reply, path) => {
        reply.header(
          'cache-control',
          path.startsWith(join(root, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
    // With the server's ignoreTrailingSlash, /ui and /ui/ are this one route. Read per request:
    // a rebuilt dashboard is served without a restart (assets are new files under new names).
    ui.get('/ui', { schema: { summary: 'The dashboard (HTML page; public)', tags } }, async (_req, reply) => {
      reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
      return readFile(join(root, 'index.html'));
    });
  });
}
