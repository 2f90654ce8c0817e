import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { findNul } from '../../core/text-guard.js';
import type { CounterSeries, HistogramSeries } from '../series-metrics.js';
import { accessLogged, logAccess } from './access-log.js';
import { ferryClientErrorHandler, rememberRequestId } from './client-errors.js';
import { answerPreflight, applyCorsHeaders, type CorsPolicy, corsEnabled, isPreflight } from './cors.js';
import { sendError } from './http-errors.js';
import { registerStrictJsonParser } from './json-body-parser.js';
import { lazyChildLogger } from './lazy-child-logger.js';
import { documentResponses } from './openapi-responses.js';
import { RouteMethods } from './route-methods.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerBatchJobRoutes } from './routes/batch-job-routes.js';
import { registerCourseRoutes } from './routes/course-routes.js';
import { registerExperimentRoutes } from './routes/experiment-routes.js';
import { registerFeatureRoutes } from './routes/feature-routes.js';
import { registerFeatureStatusRoutes } from './routes/feature-status-routes.js';
import { registerFeedbackRoutes } from './routes/feedback-routes.js';
import { registerMonitoringRoutes } from './routes/monitoring-routes.js';
import { registerStoredPredictionRoutes } from './routes/stored-prediction-routes.js';
import { registerStreamRoutes } from './routes/stream-routes.js';
import { registerUiRoutes } from './routes/ui-routes.js';
import { registerV2Routes } from './routes/v2-routes.js';
import type { ServerContext } from './server-context.js';

interface RouteSeries {
  seconds: HistogramSeries;
  byStatus: Map<number, CounterSeries>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP server (not listening): routes, validation, errors, metrics and docs. */
export async function buildServer(
  ctx: ServerContext,
  opts: {
    logger?: FastifyBaseLogger | undefined;
    /**
     * Serve the Swagger UI at /docs (default true). Off in the Lambda bundle: the UI's assets are
     * files read from its package folder, which a one-file bundle does not carry (/openapi.json is
     * still served).
     */
    docsUi?: boolean;
  } = {},
): Promise<FastifyInstance> {
  const { limits } = ctx;
  const accessLogSample = ctx.accessLogSample ?? 0;
  const app = Fastify({
    ...(opts.logger !== undefined ? { loggerInstance: opts.logger } : { logger: false }),
    // fastify's own two lines per request cost more than a prediction: Ferry's access log (one line,
    // sampled, off by default) replaces them; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: limits.bodyLimit,
    // Slow clients: the whole request (headers and body) must arrive within the documented timeout,
    // the headers too; node checks these every connectionsCheckingInterval (30 s by default, which
    // let a slow body hold a connection for 87 s), so the check runs often enough to be on time.
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.requestTimeoutMs / 10))),
    },
    // A connection with no traffic in either direction for this long is closed (a client that stops
    // reading its answer); generous, so that a slow on-demand model load still gets its answer.
    connectionTimeout: limits.requestTimeoutMs * 3,
    // fastify's default is 72 s: idle keep-alive connections would be held that long.
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    clientErrorHandler: ferryClientErrorHandler,
    // Entity ids in /v1/predictions/… may be 512 characters, up to 12 URL-encoded bytes each.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
    // fastify's own 503 while closing has its own body shape: Ferry answers it in the onRequest hook.
    return503OnClosing: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Errors fastify raises before routing (a malformed URL) still get Ferry's error shapes.
    frameworkErrors: (err, req, reply) => sendError(req, reply, err),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
  });
  registerStrictJsonParser(app);
  // Before any route is added, so that it sees them all (the docs' too).
  const routeMethods = new RouteMethods(app);
  const cors: CorsPolicy = { origins: ctx.corsOrigins ?? [] };
  // 0: no cap (node's default).
  if (limits.maxConnections > 0) app.server.maxConnections = limits.maxConnections;
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    // A connection that goes idle once its last request is answered closes at once: kept alive, it
    // would hold the drain until FERRY_KEEP_ALIVE_TIMEOUT_MS (fastify closes the connections idle
    // when the drain starts, once; `podman stop` took 6.4 s instead of under one). Node reads this
    // when each response finishes, and a request already pipelined behind it still gets its 503.
    app.server.keepAliveTimeout = 1;
    done();
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Ferry model server',
        version: ctx.serverVersion,
        description:
          'Made With ML API, Open Inference Protocol v2, admin API. Besides the statuses listed per operation: any other method on a listed path is answered 405 with an Allow header, a request that does not arrive within the request timeout 408, headers too large 431.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
    transform: documentResponses,
  });
  if (opts.docsUi !== false) await app.register(swaggerUi, { routePrefix: '/docs' });

  const { metrics } = ctx;
  // A route's series are resolved once (its latency, and its count per status), not per request.
  const perRoute = new Map<string, RouteSeries>();
  const seriesOf = (method: string, route: string): RouteSeries => {
    const key = `${method} ${route}`;
    let series = perRoute.get(key);
    if (series === undefined) {
      series = { seconds: metrics.requestSeconds.series({ route, method }), byStatus: new Map() };
      perRoute.set(key, series);
    }
    return series;
  };
  app.addHook('onRequest', (req, reply, done) => {
    metrics.inFlightNow++;
    reply.header('x-request-id', req.id);
    rememberRequestId(req.raw, req.id);
    // Before anything can fail: a browser can only read an error that carries the CORS headers.
    applyCorsHeaders(cors, req, reply);
    if (closing) {
      reply.header('connection', 'close');
      done(
        new FerryError(ErrorCode.SERVING_SHUTTING_DOWN, 'the server is shutting down', {
          details: { retryAfterSeconds: 1 },
        }),
      );
      return;
    }
    // The query string is a text input too (bodies are checked by the parser; path parameters by
    // their routes: entity ids, experiment and model names refuse NUL with their own codes).
    // Node refuses a raw NUL in the request line: one can only arrive percent-encoded.
    const nulAt = req.url.includes('%00') ? findNul(req.query) : undefined;
    if (nulAt !== undefined) {
      done(
        new FerryError(
          ErrorCode.HTTP_INVALID_REQUEST,
          'the URL contains U+0000 (NUL), which is not accepted',
        ),
      );
      return;
    }
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    metrics.inFlightNow--;
    const route = req.routeOptions.url ?? 'unmatched';
    const series = seriesOf(req.method, route);
    series.seconds.observe(reply.elapsedTime / 1000);
    const status = reply.statusCode;
    let count = series.byStatus.get(status);
    if (count === undefined) {
      count = metrics.requests.series({ route, method: req.method, status: String(status) });
      series.byStatus.set(status, count);
    }
    count.inc();
    if (accessLogged(accessLogSample)) logAccess(req, reply, route);
    done();
  });

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = routeMethods.allowed(path);
    // No route answers OPTIONS: a preflight lands here, and so does a method a path does not serve.
    if (allowed.length > 0 && corsEnabled(cors) && isPreflight(req)) {
      const answer = answerPreflight(cors, req, reply, allowed);
      return answer instanceof FerryError ? sendError(req, reply, answer) : answer;
    }
    // A route that serves this method and answered "not found" itself (a static file that does not
    // exist under /ui/*) is a 404, not a 405.
    if (allowed.length > 0 && !allowed.includes(req.method)) {
      reply.header('allow', allowed.join(', '));
      return sendError(
        req,
        reply,
        new FerryError(ErrorCode.HTTP_METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${path}`, {
          details: { allow: allowed },
        }),
      );
    }
    return sendError(req, reply, new FerryError(ErrorCode.HTTP_NOT_FOUND, `no route ${req.method} ${path}`));
  });

  registerCourseRoutes(app, ctx);
  registerV2Routes(app, ctx);
  registerAdminRoutes(app, ctx);
  if (ctx.storedPredictions) registerStoredPredictionRoutes(app, ctx, ctx.storedPredictions);
  if (ctx.experiments) registerExperimentRoutes(app, ctx, ctx.experiments);
  if (ctx.features) registerFeatureRoutes(app, ctx, ctx.features);
  if (ctx.monitoring) registerMonitoringRoutes(app, ctx, ctx.monitoring);
  if (ctx.features && ctx.streams)
    registerStreamRoutes(app, ctx, { ...ctx.streams, access: ctx.features.access });
  if (ctx.features?.status)
    registerFeatureStatusRoutes(app, ctx, { ...ctx.features.status, access: ctx.features.access });
  if (ctx.feedback) await registerFeedbackRoutes(app, ctx, ctx.feedback);
  if (ctx.batchJobs) registerBatchJobRoutes(app, ctx, ctx.batchJobs);
  if (ctx.ui) await registerUiRoutes(app, ctx.ui.root);

  app.get(
    '/metrics',
    {
      schema: { summary: 'Prometheus metrics', tags: ['operations'] },
      config: { docs: { produces: 'text/plain; version=0.0.4' } },
    },
    async (_req, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.scrape();
    },
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
