/**
 * The recommendations server of the example: `GET /v1/recommendations/:user?limit=10`, built with
 * fastify and Ferry's library pieces (the settings, the feature store's online reads, the
 * prediction store, Ferry's error answers).
 *
 *   npx tsx examples/recommendations/server.ts --port 8010
 *
 * It reads FERRY_HOME / FERRY_DB (the applied definitions and the stored predictions) and
 * FERRY_ONLINE_STORE (default: a table of FERRY_DB) like `ferry serve`. The logic is recommend.ts.
 */

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { openFeatures } from '../../src/app/open-features.js';
import { PredictionStore } from '../../src/batch/prediction-store.js';
import { loadConfig } from '../../src/core/config.js';
import { ErrorCode, FerryError } from '../../src/core/errors.js';
import { createLogger, loadLogSettings } from '../../src/core/logger.js';
import { storableTextProblem } from '../../src/core/text-guard.js';
import { FeatureAccess } from '../../src/serving/feature-access.js';
import { sendError } from '../../src/serving/http/http-errors.js';
import { CandidateCache, FEATURES, Recommender } from './recommend.js';

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;
/** Users are stream keys (≤ 256 characters, see src/features/stream-events.ts). */
export const MAX_USER_LENGTH = 256;

function invalid(field: 'user' | 'limit', message: string): FerryError {
  return new FerryError(ErrorCode.HTTP_INVALID_REQUEST, message, { details: { field } });
}

/** The user id of the path, or why not: 1–256 characters, no control characters, storable text. */
export function checkUser(user: unknown): string {
  if (typeof user !== 'string' || user === '') throw invalid('user', 'the user id is empty');
  if (user.length > MAX_USER_LENGTH) {
    throw invalid('user', `the user id is longer than ${MAX_USER_LENGTH} characters`);
  }
  // Control characters include NUL and U+001F, the online store's key separator.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point.
  if (/[\u0000-\u001f\u007f]/.test(user)) throw invalid('user', 'the user id holds a control character');
  const problem = storableTextProblem(user);
  if (problem !== undefined) throw invalid('user', `the user id ${problem}`);
  return user;
}

/** `?limit=`: absent → DEFAULT_LIMIT; else a whole number in [1, MAX_LIMIT], given once. */
export function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== 'string' || !/^\d{1,4}$/.test(limit)) {
    throw invalid('limit', `limit must be a whole number from 1 to ${MAX_LIMIT}, given once`);
  }
  const n = Number(limit);
  if (n < 1 || n > MAX_LIMIT) throw invalid('limit', `limit must be from 1 to ${MAX_LIMIT}, got ${n}`);
  return n;
}

export interface RecommendationServerOptions {
  readonly recommender: Pick<Recommender, 'recommend'>;
  /** Default: none (tests). */
  readonly logger?: FastifyBaseLogger;
}

/** The fastify app (not listening). Errors are Ferry's `{"error": {code, message, details}}`, never a stack. */
export function buildRecommendationServer(opts: RecommendationServerOptions): FastifyInstance {
  const app = Fastify({
    ...(opts.logger === undefined ? { logger: false } : { loggerInstance: opts.logger }),
    // A user id in the path is at most 256 characters (up to 4 bytes each, %-encoded: 12); longer
    // paths get the router's 414, shorter ones over 256 characters the check's 400.
    routerOptions: { maxParamLength: MAX_USER_LENGTH * 12 },
    // A malformed URL (bad %-encoding) is answered in Ferry's shape too.
    frameworkErrors: (err, req, reply) => sendError(req, reply, err),
  });
  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) =>
    sendError(
      req,
      reply,
      new FerryError(ErrorCode.HTTP_NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`),
    ),
  );
  app.get<{ Params: { user: string }; Querystring: Record<string, unknown> }>(
    '/v1/recommendations/:user',
    async (req) => {
      const user = checkUser(req.params.user);
      const limit = checkLimit(req.query.limit);
      return opts.recommender.recommend(user, limit);
    },
  );
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8010' },
      host: { type: 'string', default: '127.0.0.1' },
      model: { type: 'string', default: 'tagifai' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${values.port} is not a port`);
  const { logger } = createLogger(loadLogSettings(process.env));
  const features = await openFeatures(loadConfig());
  try {
    const predictions = new PredictionStore({ sql: features.sql });
    await predictions.init();
    const access = new FeatureAccess({ repoStore: features.repoStore, online: features.online });
    // Fail at start, not per request, when the definitions were not applied.
    const { repo } = await access.applied();
    const missing = Object.values(FEATURES).filter(
      (ref) => !repo.views.some((v) => v.name === ref.split(':')[0]),
    );
    if (missing.length > 0) {
      throw new Error(
        `the applied feature definitions lack ${missing.join(', ')}: run \`ferry features apply --file examples/recommendations/features.json\` first`,
      );
    }
    const recommender = new Recommender({
      features: access,
      candidates: new CandidateCache({
        store: predictions,
        model: values.model,
        onStale: (err) => logger.warn({ err }, 'candidates could not be reloaded: serving the previous set'),
      }),
      onDegraded: (user, err) => logger.warn({ err, user }, 'online store unavailable: generic list served'),
    });
    const app = buildRecommendationServer({ recommender, logger });
    await app.listen({ port, host: values.host });
    const stop = () => {
      void app.close().finally(() => features.close());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (e) {
    await features.close();
    throw e;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`server: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
