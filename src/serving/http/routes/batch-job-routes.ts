import type { FastifyInstance } from 'fastify';
import { assertEntityId, MAX_ENTITY_ID_LENGTH } from '../../../core/entity-id.js';
import {
  BATCH_JOB_STATUSES,
  type BatchJobReader,
  DEFAULT_BATCH_LIST_LIMIT,
  type JobStatus,
  MAX_BATCH_LIST_LIMIT,
  MAX_BATCH_LIST_OFFSET,
} from '../../../ports/batch-jobs.js';
import { adminAuth } from '../bearer-auth.js';
import { integerQuery, readIntegerQuery } from '../query-integer.js';
import type { ServerContext } from '../server-context.js';

/** The batch jobs of the server's database (the registry's: where `ferry batch predict` writes them). */
export type BatchJobRoutesDeps = BatchJobReader;

interface ListQuery {
  limit?: string;
  offset?: string;
  status?: string;
  model?: string;
}

const LIMIT = { min: 1, max: MAX_BATCH_LIST_LIMIT };
const OFFSET = { min: 0, max: MAX_BATCH_LIST_OFFSET };

const workerSchema = {
  type: 'object',
  properties: {
    worker: { type: 'string', description: 'host:pid of the process that committed the chunks' },
    chunks: { type: 'integer' },
    rows: { type: 'integer', description: 'input records of its chunks, rejects included' },
    rejects: { type: 'integer' },
    firstChunkAt: { type: 'string', format: 'date-time' },
    lastChunkAt: { type: 'string', format: 'date-time' },
    rowsPerSecond: {
      type: 'number',
      nullable: true,
      description:
        'records after its first chunk over the time from its first commit to its last; null with one chunk',
    },
  },
} as const;

const jobFields = {
  jobId: { type: 'string' },
  model: { type: 'string' },
  version: { type: 'integer' },
  input: { type: 'string', description: 'what was read: a path, or the database and query (no password)' },
  inputSha256: { type: 'string' },
  chunkSize: { type: 'integer' },
  status: { type: 'string', enum: BATCH_JOB_STATUSES },
  totalRows: {
    type: 'integer',
    nullable: true,
    description: 'known once the input has been read to its end',
  },
  totalChunks: { type: 'integer', nullable: true },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
  finishedAt: { type: 'string', nullable: true, format: 'date-time' },
  error: { type: 'string', nullable: true },
  chunksDone: { type: 'integer' },
  rowsDone: { type: 'integer', description: 'input records of the chunks done, rejects included' },
  predicted: { type: 'integer' },
  rejects: { type: 'integer' },
} as const;

/**
 * The batch jobs, read-only, under the admin token: a job's input names operator files, tables and
 * queries, so its list is operator data (401 FERRY_HTTP_UNAUTHORIZED without the token).
 * - GET /v1/batch/jobs?limit&offset&status&model: a page, newest first, with the total
 *   (the JSON of `ferry batch list --json`).
 * - GET /v1/batch/jobs/:jobId: one job's progress with its workers and their rates (the JSON of
 *   `ferry batch status --json`); 404 FERRY_BATCH_JOB_NOT_FOUND when unknown.
 */
export function registerBatchJobRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  deps: BatchJobRoutesDeps,
): void {
  const tags = ['batch'];
  const security = [{ bearerAuth: [] }];

  app.register(async (scope) => {
    scope.addHook('onRequest', adminAuth(ctx.adminToken));

    scope.get<{ Querystring: ListQuery }>(
      '/v1/batch/jobs',
      {
        schema: {
          summary: 'Batch jobs of this database, newest first, with their progress (admin token)',
          tags,
          security,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: integerQuery(LIMIT, `jobs per page, default ${DEFAULT_BATCH_LIST_LIMIT}`),
              offset: integerQuery(OFFSET, 'jobs skipped, default 0'),
              status: { type: 'string', enum: BATCH_JOB_STATUSES },
              model: {
                type: 'string',
                minLength: 1,
                maxLength: MAX_ENTITY_ID_LENGTH,
                description: 'a model name: its jobs of every version',
              },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                jobs: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      ...jobFields,
                      workers: { type: 'integer', description: 'processes that committed chunks' },
                      lastChunkAt: { type: 'string', nullable: true, format: 'date-time' },
                    },
                  },
                },
                total: { type: 'integer', description: 'jobs matching the filter, on every page' },
                limit: { type: 'integer' },
                offset: { type: 'integer' },
              },
            },
          },
        },
      },
      async (req) => {
        const q = req.query;
        if (q.model !== undefined) assertEntityId(q.model, 'model');
        const limit = readIntegerQuery(q.limit, 'limit', LIMIT);
        const offset = readIntegerQuery(q.offset, 'offset', OFFSET);
        return deps.list({
          ...(limit !== undefined ? { limit } : {}),
          ...(offset !== undefined ? { offset } : {}),
          ...(q.status !== undefined ? { status: q.status as JobStatus } : {}),
          ...(q.model !== undefined ? { model: q.model } : {}),
        });
      },
    );

    scope.get<{ Params: { jobId: string } }>(
      '/v1/batch/jobs/:jobId',
      {
        schema: {
          summary: "One batch job's progress, rejects and workers with their rates (admin token)",
          tags,
          security,
          params: {
            type: 'object',
            required: ['jobId'],
            properties: {
              jobId: {
                type: 'string',
                minLength: 1,
                maxLength: MAX_ENTITY_ID_LENGTH,
                description: 'the job id (URL-encoded), as `ferry batch predict` printed it',
              },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: { ...jobFields, workers: { type: 'array', items: workerSchema } },
            },
          },
        },
        config: { docs: { errors: [404] } },
      },
      async (req) => {
        assertEntityId(req.params.jobId, 'jobId');
        return deps.status(req.params.jobId);
      },
    );
  });
}
