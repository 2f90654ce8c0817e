import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, type ErrorCodeName, statusOf } from '../../core/errors.js';
import { errorBody } from './http-errors.js';

/**
 * A raw request's id, kept on the request itself so that an answer written at the socket level can
 * still carry it. A property rather than a WeakMap: every request sets it, and a WeakMap entry cost
 * about 1 % of a /predict request's CPU in a profile (the set, and the collector's ephemeron work).
 */
const REQUEST_ID = Symbol('ferry.requestId');

type WithRequestId = IncomingMessage & { [REQUEST_ID]?: string };

export function rememberRequestId(raw: IncomingMessage, id: string): void {
  (raw as WithRequestId)[REQUEST_ID] = id;
}

interface ClientErrorAnswer {
  reason: string;
  code: ErrorCodeName;
  message: string;
}

function answerFor(err: NodeJS.ErrnoException): ClientErrorAnswer {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      reason: 'Request Timeout',
      code: ErrorCode.HTTP_TIMEOUT,
      message: 'the request (headers and body) was not received in time',
    };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return {
      reason: 'Request Header Fields Too Large',
      code: ErrorCode.HTTP_HEADERS_TOO_LARGE,
      message: 'the request headers are larger than the limit',
    };
  }
  return {
    reason: 'Bad Request',
    code: ErrorCode.HTTP_INVALID_REQUEST,
    message: 'malformed HTTP request',
  };
}

/**
 * Node's `clientError` (malformed HTTP, headers too large, a request not received within
 * requestTimeout/headersTimeout): answered at the socket level, as fastify's default does, but in
 * Ferry's error shape and with `x-request-id`. When the request line was read (a slow body), its
 * URL picks the v2 shape and its id is reused.
 */
export function ferryClientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nothing to answer to.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  const raw = pending?.req;
  const url = raw?.url ?? '';
  const requestId = (raw as WithRequestId | undefined)?.[REQUEST_ID] ?? randomUUID();
  const a = answerFor(err);
  // The response of that request may have started (headers sent): then only closing is left.
  if (socket.writable && pending?.headersSent !== true) {
    const body = JSON.stringify(errorBody(url.startsWith('/v2'), a.code, a.message, {}));
    socket.write(
      `HTTP/1.1 ${statusOf(a.code)} ${a.reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
