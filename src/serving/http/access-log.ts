import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Whether this request gets an access-log line: `sample` is FERRY_ACCESS_LOG_SAMPLE (0: off, 1:
 * every request, `--access-log`). Off costs one comparison per request.
 */
export function accessLogged(sample: number): boolean {
  return sample > 0 && (sample >= 1 || Math.random() < sample);
}

/**
 * One access-log line (info): method, the route's pattern (not the URL: no entity ids or query
 * strings in the log), status, latency, request id, and the model and version when the answer
 * names them (the X-Ferry-Model headers, or the route's `:model` and `:version`).
 */
export function logAccess(req: FastifyRequest, reply: FastifyReply, route: string): void {
  const params = (req.params ?? {}) as Record<string, unknown>;
  // Predictions name theirs in headers; the v2 and /v1/predictions routes in their path.
  const model = reply.getHeader('x-ferry-model') ?? params.model;
  const version = reply.getHeader('x-ferry-model-version') ?? params.version;
  req.log.info(
    {
      event: 'access',
      method: req.method,
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      requestId: req.id,
      ...(typeof model === 'string' ? { model } : {}),
      ...(typeof version === 'string' || typeof version === 'number' ? { version: String(version) } : {}),
    },
    `${req.method} ${route} ${reply.statusCode}`,
  );
}
