import { ErrorCode, FerryError } from '../core/errors.js';
import { SETTINGS } from '../core/settings/catalogue.js';
import { parseEventTime } from '../features/event-time.js';
import { keyPart } from '../features/row-transform.js';
import type { EventStream, EventToPublish } from '../ports/event-stream.js';
import { entityKeyOf } from '../ports/online-feature-store.js';
import { EVENT_ID_FIELD } from './pipeline-plan.js';

export interface ProducerOptions {
  /**
   * The field(s) of each event holding its entity's join key(s): the transport key, so that one
   * entity's events share a partition and stay in order. Required (per call or here).
   */
  readonly keyField?: string | readonly string[];
  /** When given, every event must have a valid event time in this field. */
  readonly timeField?: string;
  /** Default FERRY_STREAM_MAX_EVENT_BYTES's default. */
  readonly maxEventBytes?: number;
}

export interface PublishResult {
  /** Events stored by this call. */
  readonly published: number;
  /** Events whose id the transport had already stored within its dedupe window (not stored again). */
  readonly duplicates: number;
  /** The stream sequence of each event, in order. */
  readonly sequences: readonly number[];
}

/** Events per publish call to the transport. */
const CHUNK = 500;
const encoder = new TextEncoder();

/**
 * Publishes JSON events to a stream: each event is an object with an `id` (the dedupe key: a
 * producer that retries never stores an event twice within the transport's window) and its
 * entity's key field(s). Every event of a call is checked before any is sent
 * (FERRY_STREAM_EVENT_INVALID, FERRY_STREAM_EVENT_TOO_LARGE naming the event's index), so a call
 * publishes all of its events or none of them (bar a transport failure midway, which a retry with
 * the same ids completes without duplicates). The stream is created on first use if it does not
 * exist (4 partitions).
 */
export class StreamProducer {
  private readonly ensured = new Set<string>();
  private initialised = false;

  constructor(
    private readonly stream: EventStream,
    private readonly opts: ProducerOptions = {},
  ) {}

  async publish(
    streamName: string,
    events: readonly object[],
    opts: ProducerOptions = {},
  ): Promise<PublishResult> {
    const keyField = opts.keyField ?? this.opts.keyField;
    const timeField = opts.timeField ?? this.opts.timeField;
    const maxBytes =
      opts.maxEventBytes ?? this.opts.maxEventBytes ?? SETTINGS.FERRY_STREAM_MAX_EVENT_BYTES.default;
    if (keyField === undefined || (Array.isArray(keyField) && keyField.length === 0)) {
      throw invalid('publish needs keyField: the field of each event holding its entity key');
    }
    const keys = typeof keyField === 'string' ? [keyField] : keyField;
    const toPublish = events.map((event, index) =>
      encodeEvent(event as Readonly<Record<string, unknown>>, index, keys, timeField, maxBytes),
    );
    if (!this.initialised) {
      await this.stream.init();
      this.initialised = true;
    }
    if (!this.ensured.has(streamName)) {
      await this.stream.ensureStream({ name: streamName });
      this.ensured.add(streamName);
    }
    const sequences: number[] = [];
    let duplicates = 0;
    for (let at = 0; at < toPublish.length; at += CHUNK) {
      const acks = await this.stream.publish(streamName, toPublish.slice(at, at + CHUNK));
      for (const ack of acks) {
        sequences.push(ack.sequence);
        if (ack.duplicate) duplicates++;
      }
    }
    return { published: sequences.length - duplicates, duplicates, sequences };
  }

  close(): Promise<void> {
    return this.stream.close();
  }
}

function invalid(message: string, index?: number): FerryError {
  return new FerryError(
    ErrorCode.STREAM_EVENT_INVALID,
    index === undefined ? message : `event ${index}: ${message}`,
    { details: index === undefined ? {} : { index } },
  );
}

function encodeEvent(
  event: Readonly<Record<string, unknown>>,
  index: number,
  keyFields: readonly string[],
  timeField: string | undefined,
  maxBytes: number,
): EventToPublish {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw invalid('must be a JSON object', index);
  }
  const rawId = Object.hasOwn(event, EVENT_ID_FIELD) ? event[EVENT_ID_FIELD] : undefined;
  let id: string;
  if (typeof rawId === 'string' && rawId !== '') id = rawId;
  else if (typeof rawId === 'number' && Number.isSafeInteger(rawId)) id = String(rawId);
  else throw invalid(`needs an "${EVENT_ID_FIELD}" (non-empty text or an integer)`, index);
  const parts: string[] = [];
  for (const field of keyFields) {
    const part = keyPart(Object.hasOwn(event, field) ? event[field] : undefined, field);
    if (typeof part !== 'string') throw invalid(part.reason, index);
    parts.push(part);
  }
  if (timeField !== undefined) {
    const raw = Object.hasOwn(event, timeField) ? event[timeField] : undefined;
    if (parseEventTime(raw) === undefined) {
      throw invalid(`"${timeField}" is not an event time (ISO 8601 or milliseconds since the epoch)`, index);
    }
  }
  let text: string;
  try {
    text = JSON.stringify(event);
  } catch (e) {
    throw invalid(`is not JSON-serialisable: ${(e as Error).message}`, index);
  }
  const data = encoder.encode(text);
  if (data.byteLength > maxBytes) {
    throw new FerryError(
      ErrorCode.STREAM_EVENT_TOO_LARGE,
      `event ${index} has ${data.byteLength} bytes, over the limit of ${maxBytes}`,
      { details: { index, bytes: data.byteLength, limit: maxBytes } },
    );
  }
  return { id, key: entityKeyOf(parts), data };
}
