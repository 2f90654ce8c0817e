import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, FerryError, toFerryError } from '../../core/errors.js';

/** Open Inference Protocol routes answer errors as `{"error": "..."}`; everything else as Ferry's shape. */
export function isV2Route(req: FastifyRequest): boolean {
  return req.url.startsWith('/v2');
}

/** Turns what fastify and its plugins throw into FerryErrors with stable codes and 4xx statuses. */
export function toHttpError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const fe = err as Partial<FastifyError> & { validation?: unknown[]; validationContext?: string };
  if (fe.validation) {
    return new FerryError(
      ErrorCode.HTTP_INVALID_REQUEST,
      `invalid request ${fe.validationContext ?? 'body'}: ${fe.message ?? 'does not match the schema'}`,
      {
        status: 400,
        details: { validation: fe.validation },
      },
    );
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FerryError(ErrorCode.HTTP_PAYLOAD_TOO_LARGE, 'request body is larger than the limit', {
        status: 413,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FerryError(
        ErrorCode.HTTP_INVALID_REQUEST,
        'unsupported content type: send application/json',
        { status: 415 },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FerryError(ErrorCode.HTTP_INVALID_REQUEST, 'the JSON body is empty', { status: 400 });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new FerryError(ErrorCode.HTTP_INVALID_REQUEST, fe.message ?? 'invalid request body', {
        status: 400,
      });
    default:
      break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new FerryError(ErrorCode.HTTP_INVALID_REQUEST, fe.message ?? 'bad request', {
      status: fe.statusCode,
    });
  }
  return toFerryError(err);
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = toHttpError(err);
  if (e.status >= 500 && e.code === ErrorCode.INTERNAL)
    req.log.error({ err: e.cause ?? e }, 'unexpected error');
  const retry = e.details.retryAfterSeconds;
  if (typeof retry === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
  // The message of an unexpected error may carry internals: clients get a generic one and the request id.
  const message = e.code === ErrorCode.INTERNAL ? `internal error (request ${req.id})` : e.message;
  const body = isV2Route(req)
    ? { error: message }
    : { error: { code: e.code, message, details: e.code === ErrorCode.INTERNAL ? {} : e.details } };
  return reply.code(e.status).send(body);
}
