import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import type { JsonSchema } from '../../../../core/schema-check.js';
import {
  type ExperimentApi,
  type ExperimentBodies,
  experimentNotFound,
  isValidExperimentName,
} from '../../../../ports/experiment-api.js';

/** What the experiment routes work with. */
export interface ExperimentRouteDeps {
  service: ExperimentApi;
  /** Writes what this server routed and counted for an experiment, before its analysis is read. */
  flush?: ((name: string) => Promise<void>) | undefined;
}

export type IdParams = { id: string };

export type RouteGroup = (app: FastifyInstance, deps: ExperimentRouteDeps) => void;

export const tags = ['experiments'];
export const security = [{ bearerAuth: [] }];

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'The experiment name' } },
} as const;

/**
 * Validates a route's body with the experiments' own schema checker: the schema shown in
 * /openapi.json is the one applied, and a refusal is the same 400 FERRY_EXPERIMENT_INVALID (or
 * _WEIGHTS) with details.field as the domain parser's, which checks the same schema (for the CLI).
 * fastify hands an absent body over as null; the optional bodies' schemas accept null. `check`
 * replaces the plain schema check where the parser names fields its own way (events).
 */
export function experimentSchemaValidator(
  bodies: ExperimentBodies,
  check?: (data: unknown) => void,
): FastifySchemaCompiler<unknown> {
  return ({ schema, httpPart }) =>
    (data: unknown) => {
      try {
        if (httpPart === 'body') (check ?? ((d: unknown) => bodies.conform(schema as JsonSchema, d)))(data);
        return { value: data };
      } catch (e) {
        return { error: e as Error };
      }
    };
}

/** A malformed name cannot name an experiment: 404, as for a well-formed unknown one. */
export function checkedId(id: string): string {
  if (!isValidExperimentName(id)) throw experimentNotFound(id);
  return id;
}

/** Who changed an experiment over HTTP, for the log: the admin token's holder, and which request. */
export function byAdmin(requestId: string): string {
  return `admin (http, request ${requestId})`;
}
