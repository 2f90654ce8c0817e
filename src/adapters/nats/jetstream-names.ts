import { ErrorCode, FerryError } from '../../core/errors.js';

/**
 * How Ferry's streams map onto JetStream, in one place: stream `orders` is the JetStream stream
 * `FERRY_orders` on subjects `ferry.orders.<partition>`, its dead letters the stream
 * `FERRY_orders_DLQ` on `ferry-dlq.orders`, and consumer `enrich` one durable pull consumer per
 * partition, `enrich-p0`, `enrich-p1`, … (nats-server 2.9 has no consumer with several filter
 * subjects). Ferry's names are lower case, so `_DLQ` never collides with a stream of Ferry's.
 */
export const jsName = {
  stream: (stream: string) => `FERRY_${stream}`,
  dlq: (stream: string) => `FERRY_${stream}_DLQ`,
  subject: (stream: string, partition: number) => `ferry.${stream}.${partition}`,
  subjects: (stream: string) => `ferry.${stream}.*`,
  dlqSubject: (stream: string) => `ferry-dlq.${stream}`,
  durable: (consumer: string, partition: number) => `${consumer}-p${partition}`,
};

/** `FERRY_orders` → `orders`; undefined for a DLQ or a stream that is not Ferry's. */
export function ferryStreamOf(jsStream: string): string | undefined {
  const m = /^FERRY_([a-z0-9][a-z0-9_-]{0,63})$/.exec(jsStream);
  return m?.[1];
}

/** `enrich-p3` → `{ consumer: 'enrich', partition: 3 }`. */
export function consumerOfDurable(durable: string): { consumer: string; partition: number } | undefined {
  const m = /^(.+)-p(\d+)$/.exec(durable);
  if (m === null) return undefined;
  return { consumer: m[1] as string, partition: Number(m[2]) };
}

/** Headers Ferry puts on a message (the event id travels as Nats-Msg-Id, which drives the dedupe). */
export const HEADER = {
  id: 'Nats-Msg-Id',
  key: 'Ferry-Key',
  reason: 'Ferry-Reason',
  sequence: 'Ferry-Sequence',
  consumer: 'Ferry-Consumer',
  deadId: 'Ferry-Id',
};

/** Header values must be one line of ASCII: ids and keys are any Unicode, so they are %-encoded. */
export const encodeHeader = (value: string): string => encodeURIComponent(value);
export function decodeHeader(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Milliseconds → JetStream's nanoseconds. */
export const nanos = (ms: number): number => Math.round(ms * 1_000_000);

/*
 * The NATS packages are loaded lazily (nats-connection.ts), so their error classes are known here
 * by their names and fields, which the packages set on every instance.
 */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
const MESSAGE_NOT_FOUND = 10037;
const API_ERRORS = new Set(['JetStreamApiError', 'StreamNotFoundError', 'ConsumerNotFoundError']);

function apiError(e: unknown): { code: number; status: number } | undefined {
  if (!(e instanceof Error) || !API_ERRORS.has(e.name)) return undefined;
  const { code, status } = e as Error & { code?: unknown; status?: unknown };
  return typeof code === 'number' && typeof status === 'number' ? { code, status } : undefined;
}

export function isStreamNotFound(e: unknown): boolean {
  return apiError(e)?.code === STREAM_NOT_FOUND;
}

export function isMessageNotFound(e: unknown): boolean {
  return apiError(e)?.code === MESSAGE_NOT_FOUND;
}

export function isConsumerNotFound(e: unknown): boolean {
  return apiError(e)?.code === CONSUMER_NOT_FOUND;
}

/** A request nobody answered (`RequestError` caused by `NoResponders`). */
export function isNoResponders(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'NoResponders') return true;
  return e.name === 'RequestError' && e.cause instanceof Error && e.cause.name === 'NoResponders';
}

const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'NoResponders',
  'RequestError',
  'ClosedConnectionError',
  'ConnectionError',
  'DrainingConnectionError',
  // A publish to a subject no stream holds (or JetStream off).
  'JetStreamNotEnabled',
]);

/** A lost or refused connection, a timeout, or JetStream not answering: the caller backs off. */
function isUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (UNAVAILABLE_NAMES.has(e.name)) return true;
  const api = apiError(e);
  if (api !== undefined) return api.status >= 500;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

function unavailable(where: string, e: unknown, details: Record<string, unknown> = {}): FerryError {
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(
    ErrorCode.STREAM_UNAVAILABLE,
    `NATS JetStream is unavailable (${where}): ${message}`,
    {
      details,
      cause: e,
    },
  );
}

/** Anything a JetStream call threw, as a FerryError (stream-not-found is handled by the callers). */
export function toStreamError(where: string, e: unknown, details: Record<string, unknown> = {}): FerryError {
  if (e instanceof FerryError) return e;
  if (isUnavailable(e)) return unavailable(where, e, details);
  if (e instanceof Error && e.name === 'JetStreamError' && /maximum|max_payload|exceeds/i.test(e.message)) {
    return new FerryError(ErrorCode.STREAM_EVENT_TOO_LARGE, `JetStream refused the event: ${e.message}`, {
      details,
      cause: e,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  const codes = apiError(e);
  const api = codes === undefined ? {} : { apiCode: codes.code, apiStatus: codes.status };
  return new FerryError(ErrorCode.INTERNAL, `unexpected JetStream error (${where}): ${message}`, {
    details: { ...details, ...api },
    cause: e,
  });
}
