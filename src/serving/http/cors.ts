import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { readSetting } from '../../core/settings/read-settings.js';

/**
 * CORS for browser clients, off unless FERRY_CORS_ORIGINS lists origins (`*` for any). Written by
 * hand (no @fastify/cors): answers to allowed origins name them in Access-Control-Allow-Origin,
 * and every answer says `Vary: Origin` so caches keep one copy per origin.
 */
export interface CorsPolicy {
  /** Exact origins (`https://app.example:8443`), or `*`. Empty: CORS is off. */
  readonly origins: readonly string[];
}

/** Headers a browser may send cross-origin, and those it may read from the answer. */
const ALLOW_HEADERS = 'authorization, content-type, x-request-id, x-ferry-unit';
const EXPOSE_HEADERS =
  'x-request-id, x-ferry-model, x-ferry-model-version, x-ferry-experiment, x-ferry-arm, retry-after';
const MAX_AGE_SECONDS = '600';

/** Parses FERRY_CORS_ORIGINS: a comma list of `scheme://host[:port]` origins, or `*` (see the settings). */
export function parseCorsOrigins(raw: string | undefined): string[] {
  return readSetting({ FERRY_CORS_ORIGINS: raw }, 'FERRY_CORS_ORIGINS');
}

export function corsEnabled(policy: CorsPolicy): boolean {
  return policy.origins.length > 0;
}

function allowedOrigin(policy: CorsPolicy, origin: string): string | undefined {
  if (policy.origins.includes('*')) return '*';
  return policy.origins.includes(origin) ? origin : undefined;
}

/** On every request (onRequest): the headers an actual (non-preflight) cross-origin answer needs. */
export function applyCorsHeaders(policy: CorsPolicy, req: FastifyRequest, reply: FastifyReply): void {
  if (!corsEnabled(policy)) return;
  reply.header('vary', 'Origin');
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return;
  const allowed = allowedOrigin(policy, origin);
  if (allowed === undefined) return;
  reply.header('access-control-allow-origin', allowed);
  reply.header('access-control-expose-headers', EXPOSE_HEADERS);
}

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(req: FastifyRequest): boolean {
  return (
    req.method === 'OPTIONS' &&
    typeof req.headers.origin === 'string' &&
    typeof req.headers['access-control-request-method'] === 'string'
  );
}

/**
 * Answers a preflight for a path served with `methods`: 204 with the allowed methods and headers
 * when the origin is allowed and the method exists there; otherwise FERRY_HTTP_CORS_DENIED (403)
 * without CORS headers, which the browser reports as a blocked request.
 */
export function answerPreflight(
  policy: CorsPolicy,
  req: FastifyRequest,
  reply: FastifyReply,
  methods: readonly string[],
): FastifyReply | FerryError {
  const origin = req.headers.origin as string;
  const method = String(req.headers['access-control-request-method']).toUpperCase();
  const allowed = allowedOrigin(policy, origin);
  if (allowed === undefined) {
    return new FerryError(ErrorCode.HTTP_CORS_DENIED, `origin ${origin} is not allowed`);
  }
  if (!methods.includes(method)) {
    return new FerryError(ErrorCode.HTTP_CORS_DENIED, `method ${method} is not served on this path`, {
      details: { allow: methods },
    });
  }
  return reply
    .code(204)
    .header('access-control-allow-origin', allowed)
    .header('access-control-allow-methods', methods.join(', '))
    .header('access-control-allow-headers', ALLOW_HEADERS)
    .header('access-control-max-age', MAX_AGE_SECONDS)
    .header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers')
    .send();
}
