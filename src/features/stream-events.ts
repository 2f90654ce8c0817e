import { ErrorCode, FerryError } from '../core/errors.js';
import { storableTextProblem } from '../core/text-guard.js';
import type { EventToPublish } from '../ports/event-stream.js';
import { parseEventTime } from './event-time.js';
import type { FeatureRepoDef, StreamSourceDef } from './feature-definitions.js';
import { joinKeysOf } from './row-transform.js';

/**
 * How the events of a stream are identified, from the stream source that reads it: the id field
 * (publish dedupe, processor dedupe), the key field (partition: one key is processed in order) and
 * the event-time field. Producers (HTTP, CLI, library) check events at the edge with
 * `toStreamEvent`, so what enters the stream has what the processor needs; the processor still
 * dead-letters anything else (a producer may write to the transport directly).
 */
export interface EventSpec {
  readonly stream: string;
  readonly source: string;
  readonly idField: string;
  readonly keyField: string;
  readonly timestampField: string;
}

/** Ids and keys are copied into headers, indexes and dead letters: bounded. */
const MAX_ID_LENGTH = 256;

/** One spec per stream that a stream source of the repository reads. */
export function eventSpecs(repo: FeatureRepoDef): Map<string, EventSpec> {
  const specs = new Map<string, EventSpec>();
  for (const source of repo.sources) {
    if (source.kind !== 'stream' || specs.has(source.stream)) continue;
    specs.set(source.stream, specOf(repo, source));
  }
  return specs;
}

function specOf(repo: FeatureRepoDef, source: StreamSourceDef): EventSpec {
  const view = repo.views.find((v) => v.source === source.name);
  const keyField = source.keyField ?? (view !== undefined ? joinKeysOf(repo, view)[0] : undefined) ?? 'key';
  return {
    stream: source.stream,
    source: source.name,
    idField: source.idField ?? 'id',
    keyField,
    timestampField: source.timestampField,
  };
}

/** Why an event is refused (the processor's dead-letter reasons use the same words). */
function eventProblem(event: unknown, spec: EventSpec): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    return 'the event is not a JSON object';
  const fields = event as Record<string, unknown>;
  for (const [field, what] of [
    [spec.idField, 'id'],
    [spec.keyField, 'key'],
  ] as const) {
    const value = fields[field];
    if (value === undefined || value === null || value === '') return `no ${what} ("${field}")`;
    if (typeof value !== 'string' && !Number.isSafeInteger(value)) {
      return `the ${what} "${field}" must be a string or an integer`;
    }
    const text = String(value);
    if (text.length > MAX_ID_LENGTH)
      return `the ${what} "${field}" is longer than ${MAX_ID_LENGTH} characters`;
    const problem = storableTextProblem(text);
    if (problem !== undefined) return `the ${what} "${field}" ${problem}`;
  }
  if (fields[spec.timestampField] === undefined) return `no event time ("${spec.timestampField}")`;
  if (parseEventTime(fields[spec.timestampField]) === undefined) {
    return `the event time "${spec.timestampField}" is not a date-time or milliseconds since the epoch`;
  }
  return undefined;
}

/**
 * The event as the transport takes it: id and key from their fields, the whole object as JSON
 * bytes. FERRY_STREAM_EVENT_INVALID (400) or FERRY_STREAM_EVENT_TOO_LARGE (413) naming `where`.
 */
export function toStreamEvent(
  event: unknown,
  spec: EventSpec,
  maxEventBytes: number,
  where: string,
): EventToPublish {
  const problem = eventProblem(event, spec);
  if (problem !== undefined) {
    throw new FerryError(ErrorCode.STREAM_EVENT_INVALID, `${where}: ${problem}`, {
      details: { stream: spec.stream, at: where, reason: problem },
    });
  }
  const fields = event as Record<string, unknown>;
  const data = new TextEncoder().encode(JSON.stringify(event));
  if (data.byteLength > maxEventBytes) {
    throw new FerryError(
      ErrorCode.STREAM_EVENT_TOO_LARGE,
      `${where}: the event is ${data.byteLength} bytes, more than FERRY_STREAM_MAX_EVENT_BYTES (${maxEventBytes})`,
      { details: { stream: spec.stream, at: where, bytes: data.byteLength, max: maxEventBytes } },
    );
  }
  return { id: String(fields[spec.idField]), key: String(fields[spec.keyField]), data };
}

/** The spec of `stream`, or FERRY_STREAM_NOT_FOUND listing the streams the definitions read. */
export function specFor(specs: ReadonlyMap<string, EventSpec>, stream: string): EventSpec {
  const spec = specs.get(stream);
  if (spec === undefined) {
    const known = [...specs.keys()].sort();
    throw new FerryError(
      ErrorCode.STREAM_NOT_FOUND,
      `no stream source reads "${stream}"${known.length > 0 ? `; known: ${known.join(', ')}` : ' (apply feature definitions with a stream source first)'}`,
      { details: { stream, known } },
    );
  }
  return spec;
}
