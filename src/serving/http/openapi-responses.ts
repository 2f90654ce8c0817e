import type { RouteOptions } from 'fastify';
import { v2ErrorSchema } from '../v2/openapi-schemas.js';

/** What /openapi.json says about a route beyond its schema: set as `config: { docs }` on the route. */
interface RouteDocs {
  /** The success status when it is not 200 (and the route has no response schema for it). */
  success?: number;
  /** Statuses the route's own logic answers, beyond those every route of its kind can answer. */
  errors?: readonly number[];
  /** The route routes experiments: it reads `X-Ferry-Unit` and answers `x-ferry-*` headers. */
  predicts?: boolean;
  /** The success answer's media type when it is not JSON. */
  produces?: string;
  /** Answers whose body is not the error schema (a readiness 503), as documentation-only schemas. */
  responses?: Readonly<Record<number, Record<string, unknown>>>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    docs?: RouteDocs;
  }
}

type Schema = Record<string, unknown>;

/** Ferry's error body everywhere but on /v2 routes. */
const ferryErrorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', description: 'A stable FERRY_* code (README: error codes)' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

const WHY: Readonly<Record<number, string>> = {
  400: 'Invalid request: a body, parameter or query string that does not conform (NUL in the URL included)',
  401: 'Missing or wrong bearer token (WWW-Authenticate: Bearer)',
  404: 'Not found: the model, version, alias or experiment does not exist',
  409: 'Conflict with the current state (a name in use, a status move not allowed, an experiment not running)',
  413: 'Request body larger than the limit (FERRY_BODY_LIMIT)',
  415: 'Unsupported content type: send application/json',
  500: 'Internal error: a fixed message and the request id, never internals',
  503: 'Not available now: shutting down, not ready, overloaded, over a deadline or the on-demand limit; see Retry-After',
};

const requestIdHeader = {
  type: 'string',
  description: 'The request id: the X-Request-Id given (1-128 of A-Z a-z 0-9 . _ : -) or a new UUID',
};

const predictionHeaders = {
  'x-ferry-model': { type: 'string', description: 'The model that answered' },
  'x-ferry-model-version': { type: 'string', description: 'Its version' },
  'x-ferry-experiment': { type: 'string', description: 'The experiment that routed the request, if any' },
  'x-ferry-arm': { type: 'string', description: 'The arm it was routed to, if any' },
};

function errorStatuses(url: string, methods: readonly string[], schema: Schema, docs: RouteDocs): number[] {
  // Every route: NUL in the query string or a malformed URL (400), a failure (500), shutting down (503).
  const statuses = new Set<number>([400, 500, 503, ...(docs.errors ?? [])]);
  if (url.includes(':')) statuses.add(404);
  if (schema.security !== undefined) statuses.add(401);
  if (methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH')) {
    statuses.add(413);
    statuses.add(415);
  }
  return [...statuses];
}

/**
 * @fastify/swagger's transform: adds to each operation the error statuses it can really answer (with
 * Ferry's error schema, or the protocol's `{"error": string}` on /v2), the success status, the
 * `X-Request-Id` request header, the `x-request-id` response header on every answer, and on the
 * prediction routes the `X-Ferry-Unit` request header and the `x-ferry-*` response headers. Only
 * the document changes: fastify still serializes with the routes' own schemas.
 */
export function documentResponses({
  schema,
  url,
  route,
}: {
  schema: unknown;
  url: string;
  route: RouteOptions;
}): { schema: Schema; url: string } {
  const original = (schema ?? {}) as Schema;
  if (original.hide === true) return { schema: original, url };
  const docs = route.config?.docs ?? {};
  const methods = ([] as string[]).concat(route.method);
  const errorSchema = url.startsWith('/v2') ? v2ErrorSchema : ferryErrorSchema;
  const response: Record<string, Schema> = { ...((original.response ?? {}) as Record<string, Schema>) };
  const success = Object.keys(response).find((s) => s.startsWith('2')) ?? String(docs.success ?? 200);
  response[success] = {
    description: 'Success',
    ...response[success],
    headers: { 'x-request-id': requestIdHeader, ...(docs.predicts ? predictionHeaders : {}) },
  };
  const declared = Object.keys(response)
    .map(Number)
    .filter((s) => s >= 400);
  const statuses = [...new Set([...declared, ...errorStatuses(url, methods, original, docs)])];
  for (const status of statuses.sort((a, b) => a - b)) {
    const headers: Schema = { 'x-request-id': requestIdHeader };
    if (status === 401) headers['www-authenticate'] = { type: 'string', description: 'Bearer' };
    if (status === 503) headers['retry-after'] = { type: 'string', description: 'Seconds, when known' };
    const own: Schema = docs.responses?.[status] ?? response[String(status)] ?? errorSchema;
    response[String(status)] = { ...own, description: own.description ?? WHY[status], headers };
  }
  const headers: Schema = {
    type: 'object',
    properties: {
      'x-request-id': {
        type: 'string',
        pattern: '^[A-Za-z0-9._:-]{1,128}$',
        description: 'Your request id, echoed',
      },
      ...(docs.predicts
        ? {
            'x-ferry-unit': {
              type: 'string',
              maxLength: 256,
              description: 'Experiment unit (user id): the same unit always gets the same arm',
            },
          }
        : {}),
    },
  };
  if (docs.produces !== undefined) {
    response[success] = {
      ...response[success],
      content: { [docs.produces]: { schema: { type: 'string' } } },
    };
  }
  return { schema: { ...original, response, headers }, url };
}
