import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FerryError } from '../../core/errors.js';

/** Constant-time comparison of a presented token with the expected one. */
function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the request carries `Authorization: Bearer <one of tokens>` (undefined tokens never match). */
export function hasBearer(req: FastifyRequest, tokens: readonly (string | undefined)[]): boolean {
  const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return false;
  return tokens.some((t) => t !== undefined && t !== '' && tokenMatches(match[1]!, t));
}

/**
 * Throws 401 FERRY_HTTP_UNAUTHORIZED (with `WWW-Authenticate: Bearer`) unless the request carries
 * one of `tokens`. With no token configured at all, every request is refused with `disabledMessage`.
 */
export function requireBearer(
  req: FastifyRequest,
  reply: FastifyReply,
  tokens: readonly (string | undefined)[],
  disabledMessage: string,
): void {
  if (!tokens.some((t) => t !== undefined && t !== '')) {
    reply.header('www-authenticate', 'Bearer');
    throw new FerryError(ErrorCode.HTTP_UNAUTHORIZED, disabledMessage);
  }
  if (!hasBearer(req, tokens)) {
    reply.header('www-authenticate', 'Bearer');
    throw new FerryError(ErrorCode.HTTP_UNAUTHORIZED, 'missing or wrong bearer token');
  }
}

const ADMIN_DISABLED_MESSAGE = 'the admin API is disabled: start the server with FERRY_ADMIN_TOKEN set';

/** The admin routes' onRequest hook: the admin bearer token, checked before the body is parsed. */
export function adminAuth(adminToken: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    requireBearer(req, reply, [adminToken], ADMIN_DISABLED_MESSAGE);
  };
}
