import { JetStreamApiCodes, JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
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

export function isStreamNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound;
}

export function isConsumerNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound;
}

/** A lost or refused connection, a timeout, or JetStream not answering: the caller backs off. */
export function isUnavailable(e: unknown): boolean {
  return (
    e instanceof TimeoutError ||
    e instanceof NoRespondersError ||
    e instanceof RequestError ||
    e instanceof ClosedConnectionError ||
    e instanceof ConnectionError ||
    e instanceof DrainingConnectionError ||
    // Not exported by the package: known by its name (a publish to a subject no stream holds).
    (e instanceof Error && e.name === 'JetStreamNotEnabled') ||
    (e instanceof JetStreamApiError && e.status >= 500) ||
    (e instanceof Error && 'code' in e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code))
  );
}

export function unavailable(where: string, e: unknown, details: Record<string, unknown> = {}): FerryError {
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
  if (e instanceof JetStreamError && /maximum|max_payload|exceeds/i.test(e.message)) {
    return new FerryError(ErrorCode.STREAM_EVENT_TOO_LARGE, `JetStream refused the event: ${e.message}`, {
      details,
      cause: e,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  const api = e instanceof JetStreamApiError ? { apiCode: e.code, apiStatus: e.status } : {};
  return new FerryError(ErrorCode.INTERNAL, `unexpected JetStream error (${where}): ${message}`, {
    details: { ...details, ...api },
    cause: e,
  });
}
