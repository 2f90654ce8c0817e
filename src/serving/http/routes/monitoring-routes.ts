import type { FastifyInstance } from 'fastify';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import type { StoredAlert } from '../../../monitoring/alerts/alert-store.js';
import type { DriftReport } from '../../../monitoring/report/drift-report.js';
import { type ReportWindow, resolveWindow } from '../../../monitoring/report/window.js';
import { assertModelName } from '../../../registry/model-ref.js';
import { requireBearer } from '../bearer-auth.js';
import { integerQuery, readIntegerQuery } from '../query-integer.js';
import type { ServerContext } from '../server-context.js';

const MONITOR_DISABLED =
  'drift reports need a token: start the server with FERRY_MONITOR_TOKEN (or FERRY_ADMIN_TOKEN) set';
/** A report reads a whole window of the log: one answer is reused this long per (model, version, window). */
const CACHE_MS = 5000;
/** Distinct reports kept; the oldest goes first. */
const CACHE_ENTRIES = 64;

export interface MonitoringRoutesDeps {
  /** FERRY_MONITOR_TOKEN; the admin token is accepted too. */
  readonly token?: string | undefined;
  /** FERRY_MONITOR_WINDOW_MS: the window when the query names none. */
  readonly defaultWindowMs: number;
  /** The report of the version `ref` resolves to (NAME@ALIAS or NAME/VERSION). */
  report(ref: string, window: ReportWindow): Promise<DriftReport>;
  /** The alerts monitors stored for a model, newest first (GET /v1/monitoring/{model}/alerts). */
  alerts?(model: string, opts: { readonly limit: number }): Promise<StoredAlert[]>;
  readonly now?: () => number;
}

/** Alerts a request may ask for at most (the default is 50, as `ferry monitor alerts`). */
const ALERTS_LIMIT = { min: 1, max: 500 };

interface MonitoringQuery {
  window?: string;
  since?: string;
  until?: string;
  version?: string;
  alias?: string;
}

/**
 * GET /v1/monitoring/{model}: the drift report of a model version (the production alias's unless
 * `version` or `alias` says otherwise) over a window of the prediction log, the same JSON as
 * `ferry monitor report --json`. Token-protected: a report shows what the inputs look like.
 */
export function registerMonitoringRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  deps: MonitoringRoutesDeps,
): void {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { readonly expires: number; readonly report: Promise<DriftReport> }>();

  app.get<{ Params: { model: string }; Querystring: MonitoringQuery }>(
    '/v1/monitoring/:model',
    {
      onRequest: async (req, reply) =>
        requireBearer(req, reply, [deps.token, ctx.adminToken], MONITOR_DISABLED),
      schema: {
        summary:
          'Drift report of a model version over a window of the prediction log (token: FERRY_MONITOR_TOKEN or the admin token)',
        tags: ['monitoring'],
        security: [{ bearerAuth: [] }],
        params: {
          type: 'object',
          properties: { model: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            window: {
              type: 'string',
              maxLength: 20,
              description: 'e.g. 30m, 1h, 7d (default FERRY_MONITOR_WINDOW_MS)',
            },
            since: { type: 'string', maxLength: 40, description: 'ISO 8601 with a zone, inclusive' },
            until: {
              type: 'string',
              maxLength: 40,
              description: 'ISO 8601 with a zone, exclusive (default now)',
            },
            version: { type: 'string', pattern: '^[1-9][0-9]{0,9}$', description: 'a version number' },
            alias: {
              type: 'string',
              minLength: 1,
              maxLength: 64,
              description: 'an alias (default production)',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            description:
              'The report: status (ok or no-data), window, counts, settings, features and outputs with their drift, text, dataset, quality',
            additionalProperties: true,
          },
        },
      },
      config: { docs: { errors: [401, 404] } },
      // The schema documents the answer; JSON.stringify writes it whole (a schema serializer would
      // drop the nested fields the document leaves open).
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req) => {
      const q = req.query;
      const { model } = req.params;
      if (q.version !== undefined && q.alias !== undefined) {
        throw new FerryError(ErrorCode.MONITOR_INVALID, 'give version or alias, not both');
      }
      const ref = q.version !== undefined ? `${model}/${q.version}` : `${model}@${q.alias ?? 'production'}`;
      const key = JSON.stringify([ref, q.window ?? null, q.since ?? null, q.until ?? null]);
      const t = now();
      const hit = cache.get(key);
      if (hit !== undefined && hit.expires > t) return hit.report;
      const window = resolveWindow({
        window: q.window,
        since: q.since,
        until: q.until,
        defaultWindowMs: deps.defaultWindowMs,
        now: new Date(t),
        names: 'query',
      });
      const report = deps.report(ref, window);
      cache.delete(key);
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(key, { expires: t + CACHE_MS, report });
      // A failure is not kept: the next request tries again.
      report.catch(() => {
        if (cache.get(key)?.report === report) cache.delete(key);
      });
      return report;
    },
  );

  const alerts = deps.alerts;
  if (alerts === undefined) return;
  /**
   * GET /v1/monitoring/{model}/alerts: the alerts the monitor loop fired for a model and stored
   * (ferry_monitor_alerts), newest first, with their evidence and whether they resolved: the same
   * JSON as `ferry monitor alerts --json`. Access: FERRY_MONITOR_TOKEN or the admin token, as the
   * report (the evidence quotes the report).
   */
  app.get<{ Params: { model: string }; Querystring: { limit?: string } }>(
    '/v1/monitoring/:model/alerts',
    {
      onRequest: async (req, reply) =>
        requireBearer(req, reply, [deps.token, ctx.adminToken], MONITOR_DISABLED),
      schema: {
        summary:
          'Alerts the monitor fired for a model, newest first, with evidence and resolution (token: FERRY_MONITOR_TOKEN or the admin token)',
        tags: ['monitoring'],
        security: [{ bearerAuth: [] }],
        params: {
          type: 'object',
          properties: { model: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: integerQuery(ALERTS_LIMIT, 'at most this many alerts, default 50'),
          },
        },
        response: {
          200: {
            type: 'object',
            description:
              'alerts: rule, model, version, severity, metric, op, threshold, value, forMs, pendingSince, firedAt, resolvedAt, message, evidence, delivery',
            additionalProperties: true,
          },
        },
      },
      config: { docs: { errors: [401] } },
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req) => {
      assertModelName(req.params.model);
      return {
        model: req.params.model,
        alerts: await alerts(req.params.model, {
          limit: readIntegerQuery(req.query.limit, 'limit', ALERTS_LIMIT) ?? 50,
        }),
      };
    },
  );
}
