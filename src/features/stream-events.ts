import { ErrorCode, FerryError } from '../core/errors.js';
import { storableTextProblem } from '../core/text-guard.js';
import type { EventToPublish } from '../ports/event-stream.js';
import { entityKeyOf } from '../ports/online-feature-store.js';
import { parseEventTime } from './event-time.js';
import type { FeatureRepoDef, StreamSourceDef } from './feature-definitions.js';
import { joinKeysOf, keyPart } from './row-transform.js';

/**
 * The producer's edge checks, one copy for every way events enter a stream (HTTP
 * `POST /v1/streams/{stream}/events`, `ferry stream publish`, the library's producer): an event is
 * a JSON object with an id (publish dedupe, processor dedupe), its entity's key field(s) (the
 * partition: one key is processed in order) and, when known, an event time. The processor still
 * dead-letters anything else (a producer may write to the transport directly).
 */
export interface EventFields {
  /** Default `id`. */
  readonly idField: string;
  readonly keyFields: readonly string[];
  /** When given, every event must have a valid event time in this field. */
  readonly timestampField?: string | undefined;
}

/** The fields of a stream, from the stream source that reads it. */
export interface EventSpec extends EventFields {
  readonly stream: string;
  readonly source: string;
  readonly timestampField: string;
}

/** The field of an event holding its id when its source names none. */
export const DEFAULT_ID_FIELD = 'id';
const MAX_ID_BYTES = 256;

/** One spec per stream a stream source of the repository reads (the first source wins). */
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
  const keyFields =
    source.keyField !== undefined ? [source.keyField] : view !== undefined ? joinKeysOf(repo, view) : [];
  return {
    stream: source.stream,
    source: source.name,
    idField: source.idField ?? DEFAULT_ID_FIELD,
    keyFields: keyFields.length > 0 ? keyFields : ['key'],
    timestampField: source.timestampField,
  };
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

function invalid(index: number, reason: string): FerryError {
  return new FerryError(ErrorCode.STREAM_EVENT_INVALID, `event ${index}: ${reason}`, {
    details: { index, reason },
  });
}

function eventId(value: unknown, field: string): string | { reason: string } {
  let id: string;
  if (typeof value === 'string') id = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) id = String(value);
  else if (value === undefined || value === null) return { reason: `no id ("${field}")` };
  else return { reason: `the id "${field}" must be text or an integer` };
  if (id === '') return { reason: `the id "${field}" is empty` };
  if (Buffer.byteLength(id) > MAX_ID_BYTES)
    return { reason: `the id "${field}" is longer than ${MAX_ID_BYTES} bytes` };
  const problem = storableTextProblem(id);
  return problem === undefined ? id : { reason: `the id "${field}" ${problem}` };
}

const encoder = new TextEncoder();

/**
 * The event as the transport takes it (id, key, JSON bytes), or FERRY_STREAM_EVENT_INVALID (400)
 * / FERRY_STREAM_EVENT_TOO_LARGE (413) naming its index and the reason.
 */
export function encodeStreamEvent(
  event: unknown,
  index: number,
  fields: EventFields,
  maxEventBytes: number,
): EventToPublish {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw invalid(index, 'the event is not a JSON object');
  }
  const own = (name: string) =>
    Object.hasOwn(event, name) ? (event as Record<string, unknown>)[name] : undefined;
  const id = eventId(own(fields.idField), fields.idField);
  if (typeof id !== 'string') throw invalid(index, id.reason);
  const parts: string[] = [];
  for (const field of fields.keyFields) {
    const part = keyPart(own(field), field);
    if (typeof part !== 'string') throw invalid(index, part.reason);
    parts.push(part);
  }
  if (fields.timestampField !== undefined) {
    const raw = own(fields.timestampField);
    if (raw === undefined || raw === null || raw === '')
      throw invalid(index, `no event time ("${fields.timestampField}")`);
    if (parseEventTime(raw) === undefined) {
      throw invalid(
        index,
        `the event time "${fields.timestampField}" is not ISO 8601 or milliseconds since the epoch`,
      );
    }
  }
  let text: string;
  try {
    text = JSON.stringify(event);
  } catch (e) {
    throw invalid(index, `the event is not JSON-serialisable: ${(e as Error).message}`);
  }
  const data = encoder.encode(text);
  if (data.byteLength > maxEventBytes) {
    throw new FerryError(
      ErrorCode.STREAM_EVENT_TOO_LARGE,
      `event ${index}: ${data.byteLength} bytes, more than FERRY_STREAM_MAX_EVENT_BYTES (${maxEventBytes})`,
      { details: { index, bytes: data.byteLength, max: maxEventBytes } },
    );
  }
  return { id, key: entityKeyOf(parts), data };
}
