import { STATUS_CODES } from 'node:http';
import { ErrorCode } from '../core/errors.js';
import { errorBody } from '../serving/http/http-errors.js';

/**
 * The event sources a function answers, told apart by their documented shapes:
 * - API Gateway HTTP API, payload format 2.0, and Lambda function URLs (the same format; a function
 *   URL's `requestContext.domainName` ends in `.lambda-url.<region>.on.aws`);
 * - API Gateway REST API (and HTTP API payload 1.0): `httpMethod`, `path`, `requestContext`;
 * - Application Load Balancer: `httpMethod`, `path`, `requestContext.elb`, and `multiValueHeaders`
 *   instead of `headers` when the target group enables multi-value headers.
 */
export type EventSource = 'http-api-v2' | 'function-url' | 'rest-api-v1' | 'alb';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const METHOD = /^[A-Z]{3,7}$/;

function stringMap(v: unknown): boolean {
  return v === undefined || v === null || (isObj(v) && Object.values(v).every((x) => typeof x === 'string'));
}

function listMap(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    (isObj(v) && Object.values(v).every((x) => Array.isArray(x) && x.every((y) => typeof y === 'string')))
  );
}

/** Which source sent the event, or undefined when it has none of their shapes (checked, not trusted). */
export function eventSource(event: unknown): EventSource | undefined {
  if (!isObj(event) || !isObj(event.requestContext)) return undefined;
  const rc = event.requestContext;
  const bodyOk = event.body === undefined || event.body === null || typeof event.body === 'string';
  if (!bodyOk || (event.isBase64Encoded !== undefined && typeof event.isBase64Encoded !== 'boolean'))
    return undefined;
  if (event.version === '2.0') {
    const http = rc.http;
    if (!isObj(http) || typeof http.method !== 'string' || !METHOD.test(http.method)) return undefined;
    if (typeof event.rawPath !== 'string' || !event.rawPath.startsWith('/')) return undefined;
    if (!stringMap(event.headers) || !stringMap(event.queryStringParameters)) return undefined;
    if (
      event.cookies !== undefined &&
      !(Array.isArray(event.cookies) && event.cookies.every((c) => typeof c === 'string'))
    )
      return undefined;
    const domain = typeof rc.domainName === 'string' ? rc.domainName : '';
    return /\.lambda-url\.[a-z0-9-]+\.on\.aws$/.test(domain) ? 'function-url' : 'http-api-v2';
  }
  if (typeof event.httpMethod !== 'string' || !METHOD.test(event.httpMethod)) return undefined;
  if (typeof event.path !== 'string' || !event.path.startsWith('/')) return undefined;
  if (!stringMap(event.headers) || !stringMap(event.queryStringParameters)) return undefined;
  if (!listMap(event.multiValueHeaders) || !listMap(event.multiValueQueryStringParameters)) return undefined;
  if (isObj(rc.elb)) return 'alb';
  if (event.version === undefined || event.version === '1.0') return 'rest-api-v1';
  return undefined;
}

/** What every source accepts: a status, headers and a body (ALB adds its own fields below). */
export interface LambdaResult {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  cookies?: string[];
  isBase64Encoded?: boolean;
  body?: string;
}

/**
 * An answer to an event the serving app never saw (no known shape, an undecodable URL): Ferry's
 * error body and status, as the app would give them, and nothing of the failure's internals.
 */
export function errorResult(status: 400 | 500, message: string, requestId?: string): LambdaResult {
  const code = status === 400 ? ErrorCode.HTTP_INVALID_REQUEST : ErrorCode.INTERNAL;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return {
    statusCode: status,
    headers,
    isBase64Encoded: false,
    body: JSON.stringify(errorBody(false, code, message, {})),
  };
}

/**
 * ALB wants `statusDescription` ("200 OK"), and, when its target group sends multi-value headers
 * (the event had `multiValueHeaders`), answers read from `multiValueHeaders` only.
 */
export function forAlb(result: LambdaResult, multiValue: boolean): LambdaResult {
  const out: LambdaResult = {
    ...result,
    statusDescription: `${result.statusCode} ${STATUS_CODES[result.statusCode] ?? ''}`.trim(),
    isBase64Encoded: result.isBase64Encoded ?? false,
  };
  if (multiValue) {
    const multi: Record<string, string[]> = { ...(result.multiValueHeaders ?? {}) };
    for (const [k, v] of Object.entries(result.headers ?? {})) multi[k] = [...(multi[k] ?? []), v];
    out.multiValueHeaders = multi;
    delete out.headers;
  } else if (result.multiValueHeaders !== undefined) {
    // Single-value mode: ALB reads `headers` only, so a repeated header is joined.
    const headers = { ...(result.headers ?? {}) };
    for (const [k, v] of Object.entries(result.multiValueHeaders)) headers[k] = v.join(', ');
    out.headers = headers;
    delete out.multiValueHeaders;
  }
  return out;
}
