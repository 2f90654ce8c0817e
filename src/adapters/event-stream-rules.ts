import { ErrorCode, FerryError } from '../core/errors.js';
import { storableTextProblem } from '../core/text-guard.js';
import {
  type ConsumerOptions,
  type EventToPublish,
  STREAM_NAME,
  type StreamConfig,
} from '../ports/event-stream.js';

/**
 * The checks and defaults both stream adapters apply, kept in one copy so the embedded log and
 * JetStream refuse and default the same things (the conformance suite holds them to it).
 */
const STREAM_DEFAULTS = {
  partitions: 4,
  maxAgeMs: 7 * 24 * 3600 * 1000,
  duplicateWindowMs: 2 * 60 * 1000,
  maxEventBytes: 1_048_576,
  ackWaitMs: 30_000,
  maxDeliveries: 5,
} as const;

/**
 * One durable JetStream consumer per partition: more than this would be more consumers than a
 * server should hold per stream, and the embedded log has no reason to differ.
 */
const MAX_PARTITIONS = 256;
/** Event ids and keys: bounded because both are copied into headers, indexes and dead letters. */
const MAX_ID_BYTES = 256;
/** The largest batch one fetch may ask for. */
const MAX_FETCH = 10_000;

export interface ResolvedStreamConfig {
  readonly name: string;
  readonly partitions: number;
  readonly maxAgeMs: number;
  readonly duplicateWindowMs: number;
  readonly maxEventBytes: number;
}

export interface ResolvedConsumerOptions {
  readonly name: string;
  /** undefined: every partition of the stream (known once the stream is read). */
  readonly partitions: readonly number[] | undefined;
  readonly ackWaitMs: number;
  readonly maxDeliveries: number;
  readonly startAt: { readonly sequence: number } | { readonly timeMs: number } | undefined;
}

export function invalidStream(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.STREAM_INVALID, message, { details });
}

export function checkStreamName(name: unknown, what = 'stream name'): string {
  if (typeof name !== 'string' || !STREAM_NAME.test(name)) {
    throw invalidStream(`a ${what} must match ${STREAM_NAME.source}`, {
      name: typeof name === 'string' ? name.slice(0, 80) : null,
    });
  }
  return name;
}

function positiveInteger(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidStream(`${field} must be an integer from 1 to ${max}`, { [field]: value });
  }
  return value;
}

/** The config with its defaults; the fields the caller gave are returned in `given`. */
export function resolveStreamConfig(config: StreamConfig): {
  resolved: ResolvedStreamConfig;
  given: Partial<ResolvedStreamConfig>;
} {
  const name = checkStreamName(config.name);
  const given: { -readonly [K in keyof ResolvedStreamConfig]?: ResolvedStreamConfig[K] } = {};
  if (config.partitions !== undefined)
    given.partitions = positiveInteger(config.partitions, 'partitions', MAX_PARTITIONS);
  if (config.maxAgeMs !== undefined) given.maxAgeMs = positiveInteger(config.maxAgeMs, 'maxAgeMs');
  if (config.duplicateWindowMs !== undefined)
    given.duplicateWindowMs = positiveInteger(config.duplicateWindowMs, 'duplicateWindowMs');
  if (config.maxEventBytes !== undefined)
    given.maxEventBytes = positiveInteger(config.maxEventBytes, 'maxEventBytes');
  const resolved: ResolvedStreamConfig = {
    name,
    partitions: given.partitions ?? STREAM_DEFAULTS.partitions,
    maxAgeMs: given.maxAgeMs ?? STREAM_DEFAULTS.maxAgeMs,
    duplicateWindowMs: given.duplicateWindowMs ?? STREAM_DEFAULTS.duplicateWindowMs,
    maxEventBytes: given.maxEventBytes ?? STREAM_DEFAULTS.maxEventBytes,
  };
  // JetStream refuses a window longer than the retention; the embedded log keeps the same rule.
  if (resolved.duplicateWindowMs > resolved.maxAgeMs) {
    throw invalidStream('duplicateWindowMs must not exceed maxAgeMs', {
      duplicateWindowMs: resolved.duplicateWindowMs,
      maxAgeMs: resolved.maxAgeMs,
    });
  }
  return { resolved, given };
}

/**
 * The settings of an existing stream after `ensureStream` with `given`: partitions are fixed at
 * creation (changing them would move keys between partitions), the rest follows the caller.
 */
export function mergeStreamConfig(
  existing: ResolvedStreamConfig,
  given: Partial<ResolvedStreamConfig>,
): ResolvedStreamConfig {
  if (given.partitions !== undefined && given.partitions !== existing.partitions) {
    throw invalidStream(
      `stream "${existing.name}" has ${existing.partitions} partitions; the count is fixed at creation`,
      { stream: existing.name, partitions: existing.partitions, asked: given.partitions },
    );
  }
  const merged = { ...existing, ...given, name: existing.name, partitions: existing.partitions };
  if (merged.duplicateWindowMs > merged.maxAgeMs) {
    throw invalidStream('duplicateWindowMs must not exceed maxAgeMs', {
      duplicateWindowMs: merged.duplicateWindowMs,
      maxAgeMs: merged.maxAgeMs,
    });
  }
  return merged;
}

export function sameStreamConfig(a: ResolvedStreamConfig, b: ResolvedStreamConfig): boolean {
  return (
    a.partitions === b.partitions &&
    a.maxAgeMs === b.maxAgeMs &&
    a.duplicateWindowMs === b.duplicateWindowMs &&
    a.maxEventBytes === b.maxEventBytes
  );
}

function eventInvalid(message: string, index: number): FerryError {
  return new FerryError(ErrorCode.STREAM_EVENT_INVALID, `event ${index}: ${message}`, {
    details: { index },
  });
}

function checkEventText(value: unknown, field: string, index: number): string {
  if (typeof value !== 'string' || value.length === 0)
    throw eventInvalid(`${field} must be a non-empty string`, index);
  if (value.length > MAX_ID_BYTES || Buffer.byteLength(value, 'utf8') > MAX_ID_BYTES) {
    throw eventInvalid(`${field} must be at most ${MAX_ID_BYTES} bytes (UTF-8)`, index);
  }
  const problem = storableTextProblem(value);
  if (problem !== undefined) throw eventInvalid(`${field} ${problem}`, index);
  return value;
}

/** Checks every event before any is stored, so a bad one in a batch stores nothing of it. */
export function checkEvents(stream: string, events: readonly EventToPublish[], maxEventBytes: number): void {
  if (!Array.isArray(events)) {
    throw new FerryError(ErrorCode.STREAM_EVENT_INVALID, 'events must be an array');
  }
  events.forEach((event, index) => {
    if (typeof event !== 'object' || event === null) throw eventInvalid('must be an object', index);
    checkEventText(event.id, 'id', index);
    checkEventText(event.key, 'key', index);
    if (!(event.data instanceof Uint8Array)) throw eventInvalid('data must be a Uint8Array', index);
    if (event.data.byteLength > maxEventBytes)
      throw eventTooLarge(stream, index, event.data.byteLength, maxEventBytes);
  });
}

export function eventTooLarge(stream: string, index: number, bytes: number, limit: number): FerryError {
  return new FerryError(
    ErrorCode.STREAM_EVENT_TOO_LARGE,
    `event ${index} of stream "${stream}" has ${bytes} bytes, over the limit of ${limit}`,
    { details: { stream, index, bytes, limit } },
  );
}

export function resolveConsumerOptions(opts: ConsumerOptions): ResolvedConsumerOptions {
  const name = checkStreamName(opts?.name, 'consumer name');
  let partitions: number[] | undefined;
  if (opts.partitions !== undefined) {
    if (!Array.isArray(opts.partitions) || opts.partitions.length === 0) {
      throw invalidStream('partitions must be a non-empty list of partition numbers', { consumer: name });
    }
    partitions = [...new Set(opts.partitions)].sort((a, b) => a - b);
    for (const p of partitions) {
      if (!Number.isInteger(p) || p < 0 || p >= MAX_PARTITIONS) {
        throw invalidStream(`partition ${String(p)} is not a partition number`, { consumer: name });
      }
    }
  }
  const ackWaitMs =
    opts.ackWaitMs === undefined ? STREAM_DEFAULTS.ackWaitMs : positiveInteger(opts.ackWaitMs, 'ackWaitMs');
  const maxDeliveries =
    opts.maxDeliveries === undefined
      ? STREAM_DEFAULTS.maxDeliveries
      : positiveInteger(opts.maxDeliveries, 'maxDeliveries', 1000);
  let startAt: ResolvedConsumerOptions['startAt'];
  if (opts.startAt !== undefined) {
    if ('sequence' in opts.startAt)
      startAt = { sequence: positiveInteger(opts.startAt.sequence, 'startAt.sequence') };
    else if ('timeMs' in opts.startAt) {
      const t = opts.startAt.timeMs;
      if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
        throw invalidStream('startAt.timeMs must be a time in ms since the epoch', { consumer: name });
      }
      startAt = { timeMs: Math.floor(t) };
    } else throw invalidStream('startAt must be { sequence } or { timeMs }', { consumer: name });
  }
  return { name, partitions, ackWaitMs, maxDeliveries, startAt };
}

/** The consumer's partitions, checked against the stream's count. */
export function consumerPartitions(
  stream: string,
  opts: ResolvedConsumerOptions,
  partitions: number,
): readonly number[] {
  if (opts.partitions === undefined) return Array.from({ length: partitions }, (_, p) => p);
  const outside = opts.partitions.find((p) => p >= partitions);
  if (outside !== undefined) {
    throw invalidStream(`stream "${stream}" has partitions 0..${partitions - 1}, not ${outside}`, {
      stream,
      partition: outside,
    });
  }
  return opts.partitions;
}

export function checkFetch(max: number, waitMs: number): void {
  if (!Number.isInteger(max) || max < 1 || max > MAX_FETCH) {
    throw invalidStream(`fetch: max must be an integer from 1 to ${MAX_FETCH}`, { max });
  }
  if (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0) {
    throw invalidStream('fetch: waitMs must be a non-negative number', { waitMs });
  }
}

export function checkReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.length === 0 || Buffer.byteLength(reason, 'utf8') > 1024) {
    throw invalidStream('a dead-letter reason must be a non-empty string of at most 1024 bytes');
  }
  const problem = storableTextProblem(reason);
  if (problem !== undefined) throw invalidStream(`a dead-letter reason ${problem}`);
  return reason;
}

export function checkLimit(limit: number): number {
  return positiveInteger(limit, 'limit', 10_000);
}

export function streamNotFound(stream: string, known: readonly string[]): FerryError {
  const list = known.length === 0 ? 'there are none' : `known: ${known.slice(0, 20).join(', ')}`;
  return new FerryError(ErrorCode.STREAM_NOT_FOUND, `no stream "${stream}" (${list})`, {
    details: { stream, known: known.slice(0, 100) },
  });
}

/** The reason a transport gives an event it dead-letters itself after too many deliveries. */
export const MAX_DELIVERIES_REASON = 'max-deliveries';
