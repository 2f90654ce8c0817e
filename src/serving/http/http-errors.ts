import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, type ErrorCodeName, FerryError, toFerryError } from '../../core/errors.js';

/** Open Inference Protocol routes answer errors as `{"error": "..."}`; everything else as Ferry's shape. */
function isV2Route(req: FastifyRequest): boolean {
  return req.url.startsWith('/v2');
}

/**
 * The code of a 4xx fastify or a plugin answers with no more specific code below; its status is
 * then the code's (400 for a status Ferry has no code for).
 */
const CODE_BY_CLIENT_STATUS: Readonly<Record<number, ErrorCodeName>> = {
  404: ErrorCode.HTTP_NOT_FOUND,
  405: ErrorCode.HTTP_METHOD_NOT_ALLOWED,
  413: ErrorCode.HTTP_PAYLOAD_TOO_LARGE,
  414: ErrorCode.HTTP_URI_TOO_LONG,
  415: ErrorCode.HTTP_UNSUPPORTED_MEDIA_TYPE,
  431: ErrorCode.HTTP_HEADERS_TOO_LARGE,
};

/** Turns what fastify and its plugins throw into FerryErrors with stable codes and 4xx statuses. */
function toHttpError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const fe = err as Partial<FastifyError> & { validation?: unknown[]; validationContext?: string };
  if (fe.validation) {
    return new FerryError(
      ErrorCode.HTTP_INVALID_REQUEST,
      `invalid request ${fe.validationContext ?? 'body'}: ${fe.message ?? 'does not match the schema'}`,
      {
        details: { validation: fe.validation },
      },
    );
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FerryError(ErrorCode.HTTP_PAYLOAD_TOO_LARGE, 'request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FerryError(
        ErrorCode.HTTP_UNSUPPORTED_MEDIA_TYPE,
        'unsupported content type: send application/json',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FerryError(ErrorCode.HTTP_INVALID_REQUEST, 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new FerryError(ErrorCode.HTTP_INVALID_REQUEST, fe.message ?? 'invalid request body');
    default:
      break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = CODE_BY_CLIENT_STATUS[fe.statusCode] ?? ErrorCode.HTTP_INVALID_REQUEST;
    return new FerryError(code, fe.message ?? 'bad request');
  }
  return toFerryError(err);
}

/**
 * 5xx codes whose messages Ferry writes itself from request-level facts (queue sizes, deadlines):
 * safe for clients. Every other 5xx may carry where it failed (a database host, port and user, an
 * artifact's absolute path) and is answered with a fixed message per code instead.
 */
const SELF_DESCRIBED_5XX: ReadonlySet<string> = new Set([
  ErrorCode.SERVING_OVERLOADED,
  ErrorCode.SERVING_DEADLINE,
  ErrorCode.SERVING_NOT_READY,
  ErrorCode.SERVING_SHUTTING_DOWN,
  ErrorCode.SERVING_ON_DEMAND_LIMIT,
  ErrorCode.HTTP_TIMEOUT,
  ErrorCode.UI_NOT_BUILT,
]);

/** What failed, never where. */
const PUBLIC_MESSAGES: Readonly<Record<string, string>> = {
  [ErrorCode.DB_UNAVAILABLE]: 'the database is unavailable',
  [ErrorCode.DB_LOCKED]: 'the database is busy',
  [ErrorCode.DB_ERROR]: 'a database operation failed',
  [ErrorCode.DB_SCHEMA_TOO_NEW]: "the database's schema is newer than this server",
  [ErrorCode.KV_UNAVAILABLE]: 'the key-value store is unavailable',
  [ErrorCode.KV_ERROR]: 'a key-value store operation failed',
  [ErrorCode.FEATURES_UNAVAILABLE]: 'the online feature store is unavailable',
  [ErrorCode.STREAM_UNAVAILABLE]: 'the stream transport is unavailable',
  [ErrorCode.REGISTRY_ARTIFACT_MISSING]: "the model version's artifact is missing",
  [ErrorCode.REGISTRY_CHECKSUM_MISMATCH]: "the model version's artifact does not match its checksum",
  [ErrorCode.MODEL_INVALID_ARTIFACT]: "the model version's artifact is invalid",
  [ErrorCode.INTERNAL]: 'internal error',
};

/** The message and details a client may see; the full error goes to the log. */
function publicView(e: FerryError, requestId: string): { message: string; details: Record<string, unknown> } {
  if (e.status < 500 || SELF_DESCRIBED_5XX.has(e.code)) return { message: e.message, details: e.details };
  const retry = e.details.retryAfterSeconds;
  return {
    message: `${PUBLIC_MESSAGES[e.code] ?? 'the server could not answer'} (request ${requestId})`,
    details: typeof retry === 'number' ? { retryAfterSeconds: retry } : {},
  };
}

/** Ferry's error body: `{"error": "..."}` on v2 routes, `{"error": {code, message, details}}` elsewhere. */
export function errorBody(
  v2: boolean,
  code: ErrorCodeName,
  message: string,
  details: Record<string, unknown>,
): Record<string, unknown> {
  return v2 ? { error: message } : { error: { code, message, details } };
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = toHttpError(err);
  // Errors raised before the onRequest hook (fastify's frameworkErrors) carry the id too.
  reply.header('x-request-id', req.id);
  if (e.status >= 500 && !SELF_DESCRIBED_5XX.has(e.code)) {
    // The details clients no longer see (host, port, database, path) are here, with the request id.
    req.log.error({ err: e.cause ?? e, code: e.code, details: e.details, requestId: req.id }, e.message);
  }
  const retry = e.details.retryAfterSeconds;
  if (typeof retry === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
  const { message, details } = publicView(e, req.id);
  return reply.code(e.status).send(errorBody(isV2Route(req), e.code, message, details));
}
