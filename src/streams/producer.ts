import { ErrorCode, FerryError } from '../core/errors.js';
import { SETTINGS } from '../core/settings/catalogue.js';
import { DEFAULT_ID_FIELD, encodeStreamEvent } from '../features/stream-events.js';
import type { EventStream } from '../ports/event-stream.js';

export interface ProducerOptions {
  /** The field of each event holding its unique id (dedupe). Default `id`. */
  readonly idField?: string;
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
      throw new FerryError(
        ErrorCode.STREAM_EVENT_INVALID,
        'publish needs keyField: the field of each event holding its entity key',
      );
    }
    const fields = {
      idField: opts.idField ?? this.opts.idField ?? DEFAULT_ID_FIELD,
      keyFields: typeof keyField === 'string' ? [keyField] : keyField,
      timestampField: timeField,
    };
    const toPublish = events.map((event, index) => encodeStreamEvent(event, index, fields, maxBytes));
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
