import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import {
  checkClasses,
  type FeedbackBody,
  feedbackBodySchema,
  type NewLabel,
  parseFeedbackBody,
} from '../../../monitoring/feedback/feedback-input.js';
import type { RecordOutcome } from '../../../monitoring/feedback/feedback-store.js';
import { hasBearer, requireBearer } from '../bearer-auth.js';
import type { ServerContext } from '../server-context.js';

/** What happened to labels, as `ferry_feedback_labels_total{outcome}` counts them (a partition). */
export type FeedbackOutcome = 'stored' | 'duplicate' | 'conflict' | 'unmatched';

export interface FeedbackRoutesDeps {
  /** Where labels go (the feedback store). */
  store: { record(model: string, labels: readonly NewLabel[]): Promise<RecordOutcome> };
  /**
   * The classes of the model's production version (empty: any label); undefined when the model is
   * not served here (404).
   */
  classesOf(model: string): readonly string[] | undefined;
  /** FERRY_FEEDBACK_TOKEN; the admin token is accepted too. */
  token: string | undefined;
  /** FERRY_FEEDBACK_MAX_ITEMS. */
  maxItems: number;
  /** FERRY_FEEDBACK_RATE_LIMIT: requests per second per client; 0: none. */
  rateLimit: number;
  /** Counts labels by outcome (the metrics). */
  onLabels?: (model: string, outcome: FeedbackOutcome, count: number) => void;
}

const FEEDBACK_DISABLED =
  'feedback needs a bearer token: start the server with FERRY_FEEDBACK_TOKEN or FERRY_ADMIN_TOKEN';

/** Bytes one label may take in the body (ids and label at their bounds, JSON escapes included). */
const BYTES_PER_LABEL = 2048;

const countsSchema = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    received: { type: 'integer', description: 'Labels in the request' },
    stored: { type: 'integer', description: 'Labels stored now (unmatched ones included)' },
    duplicates: { type: 'integer', description: 'Labels already stored with the same value: nothing new' },
    unmatched: {
      type: 'integer',
      description:
        'Of the stored labels, those whose prediction is not known yet (an unknown request id): kept, and joined once it is logged',
    },
  },
} as const;

type IncrCallback = (error: Error | null, result: { current: number; ttl: number }) => void;

/**
 * A fixed one-window-per-key counter for @fastify/rate-limit that answers each request with its own
 * count. The plugin's LocalStore hands every caller the same mutable entry and the plugin reads it
 * after an await, so requests arriving in one tick all saw the final count (a burst of 30 at a limit
 * of 5 was refused whole). Keys are bounded: the oldest are dropped past MAX_KEYS.
 */
class SnapshotStore {
  private static readonly MAX_KEYS = 10_000;
  private readonly windows = new Map<string, { count: number; startedAt: number }>();

  incr(key: string, cb: IncrCallback, timeWindow: number): void {
    const now = Date.now();
    let w = this.windows.get(key);
    if (w === undefined || w.startedAt + timeWindow <= now) {
      this.windows.delete(key);
      w = { count: 0, startedAt: now };
      this.windows.set(key, w);
      if (this.windows.size > SnapshotStore.MAX_KEYS) {
        const oldest = this.windows.keys().next();
        if (oldest.done !== true) this.windows.delete(oldest.value);
      }
    }
    w.count++;
    cb(null, { current: w.count, ttl: w.startedAt + timeWindow - now });
  }

  child(): SnapshotStore {
    return new SnapshotStore();
  }
}

/** The rate-limit key: the token's digest when the request carries a valid one, else the address. */
function clientKey(req: FastifyRequest, tokens: readonly (string | undefined)[]): string {
  if (hasBearer(req, tokens)) {
    const presented = (req.headers.authorization ?? '').slice('Bearer '.length);
    return `token:${createHash('sha256').update(presented).digest('hex').slice(0, 32)}`;
  }
  return `address:${req.ip}`;
}

/**
 * POST /v1/feedback: the true labels of served predictions, by request id (logged predictions) or
 * entity id (stored ones). Labels change the quality figures others read and what retraining
 * learns from, so the feedback or admin token is required (checked before the body is read), and
 * each client (token, else address) is held to FERRY_FEEDBACK_RATE_LIMIT requests a second.
 * Idempotent: the same label again stores nothing; a different one is a 409.
 */
export async function registerFeedbackRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  deps: FeedbackRoutesDeps,
): Promise<void> {
  const tokens = [deps.token, ctx.adminToken];
  const schema = feedbackBodySchema(deps.maxItems);
  const count = (model: string, outcome: FeedbackOutcome, n: number) => {
    if (n > 0) deps.onLabels?.(model, outcome, n);
  };
  // Its own scope: the rate-limit plugin (fastify-plugin) hooks only the routes registered here.
  await app.register(async (scope) => {
    await scope.register(rateLimit, { global: false, store: SnapshotStore as never });
    const auth = async (req: FastifyRequest, reply: FastifyReply) =>
      requireBearer(req, reply, tokens, FEEDBACK_DISABLED);
    const onRequest =
      deps.rateLimit > 0
        ? [
            // Before the token check: a flood of guesses is held to the rate of one address.
            scope.rateLimit({
              max: deps.rateLimit,
              timeWindow: 1000,
              keyGenerator: (req) => clientKey(req, tokens),
              errorResponseBuilder: (_req, context) =>
                new FerryError(
                  ErrorCode.FEEDBACK_RATE_LIMITED,
                  `more than ${context.max} feedback requests per second from this client (FERRY_FEEDBACK_RATE_LIMIT); retry in ${context.after}`,
                  {
                    details: {
                      limit: context.max,
                      retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
                    },
                  },
                ),
            }),
            auth,
          ]
        : [auth];
    const validatorCompiler: FastifySchemaCompiler<unknown> =
      ({ httpPart }) =>
      (data: unknown) => {
        if (httpPart !== 'body') return { value: data };
        try {
          return { value: parseFeedbackBody(data, schema, deps.maxItems) };
        } catch (e) {
          return { error: e as Error };
        }
      };
    scope.post<{ Body: FeedbackBody }>(
      '/v1/feedback',
      {
        bodyLimit: deps.maxItems * BYTES_PER_LABEL + 4096,
        onRequest,
        validatorCompiler,
        schema: {
          summary:
            'Report true labels of served predictions (by request_id or entity_id); a label already given counts once. Needs FERRY_FEEDBACK_TOKEN or the admin token.',
          tags: ['monitoring'],
          security: [{ bearerAuth: [] }],
          body: schema,
          response: { 200: countsSchema },
        },
        config: { docs: { errors: [401, 404, 409, 413, 422, 429] } },
      },
      async (req) => {
        const { model, labels } = req.body;
        const classes = deps.classesOf(model);
        if (classes === undefined) {
          throw new FerryError(
            ErrorCode.SERVING_UNKNOWN_MODEL,
            `model ${JSON.stringify(model)} is not served here`,
          );
        }
        checkClasses(model, labels, classes);
        let outcome: RecordOutcome;
        try {
          outcome = await deps.store.record(model, labels);
        } catch (e) {
          if (e instanceof FerryError && e.code === ErrorCode.FEEDBACK_CONFLICT)
            count(model, 'conflict', Number(e.details.count ?? 1));
          throw e;
        }
        count(model, 'stored', outcome.stored - outcome.unmatched);
        count(model, 'unmatched', outcome.unmatched);
        count(model, 'duplicate', outcome.duplicates);
        return { model, received: labels.length, ...outcome };
      },
    );
  });
}
