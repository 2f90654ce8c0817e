/**
 * The stream transport: a durable, partitioned, replayable log of events, consumed by durable
 * consumers with explicit acknowledgement. Two adapters pass one conformance suite
 * (test/conformance/event-stream.conformance.ts): NATS JetStream (`nats://`, at scale) and an
 * embedded log in SQLite (`sqlite:`, one machine).
 *
 * Guarantees every adapter gives:
 * - **Dedupe on publish** by event id within `duplicateWindowMs` (JetStream's `Nats-Msg-Id`): a
 *   producer that retries never stores an event twice inside the window.
 * - **Partitions by key**: an event goes to partition `partitionOf(key, partitions)`; within a
 *   partition, first deliveries follow publish order (a fetch returns a partition's events in
 *   sequence order), so one key is processed in order. The next events of a partition are
 *   delivered while earlier ones are in flight (as JetStream does with `max_ack_pending` > 1), so a
 *   redelivery (ack wait run out, or a nak) may come after later events of its key: a consumer
 *   that acks after committing and whose sink keeps the newest event time per key is unaffected.
 *   Several processes share a stream by taking disjoint sets of partitions (or the same ones: a
 *   consumer name's position is shared, and each event goes to one of them).
 * - **At-least-once delivery**: a delivery not acked within `ackWaitMs` (or nak'ed) is delivered
 *   again with `deliveryCount` + 1. Consumers make it effectively-once with idempotent sinks and
 *   a dedupe on `id`. After `maxDeliveries` deliveries without an ack, the transport moves the
 *   event to the dead letters with reason `max-deliveries` instead of delivering it again (a later
 *   `fetch` of a consumer of its partition does it, once that last delivery's ack wait ran out).
 * - **Durable position**: a consumer's acked position survives a restart of the process and of the
 *   server; `startAt` (a sequence or a time) applies only when the consumer is first created, and
 *   `resetConsumer` replays from a new position.
 *
 * Errors are FerryErrors: `FERRY_STREAM_UNAVAILABLE` (503) when the server cannot be reached within
 * the adapter's timeout (the caller backs off and retries), `FERRY_STREAM_NOT_FOUND` for a stream
 * that was never created, `FERRY_STREAM_EVENT_TOO_LARGE` for an event over `maxEventBytes`.
 */
export interface StreamConfig {
  /** `[a-z0-9][a-z0-9_-]{0,63}`. */
  readonly name: string;
  /** Fixed at creation (changing it would move keys between partitions). Default 4. */
  readonly partitions?: number;
  /** Events older than this are discarded by the server. Default 7 days. */
  readonly maxAgeMs?: number;
  /** Publish dedupe window. Default 2 minutes. */
  readonly duplicateWindowMs?: number;
  /** Largest payload accepted. Default 1 MiB. */
  readonly maxEventBytes?: number;
}

export interface EventToPublish {
  /** Unique per event, set by the producer (dedupe key). */
  readonly id: string;
  /** The entity the event is about: decides the partition. */
  readonly key: string;
  /** The payload (JSON bytes by convention). */
  readonly data: Uint8Array;
}

export interface PublishAck {
  /** The stream sequence the event got (for a duplicate: the original's). */
  readonly sequence: number;
  /** True when the id was seen within the window and nothing new was stored. */
  readonly duplicate: boolean;
}

export interface ConsumerOptions {
  /** Durable name, `[a-z0-9][a-z0-9_-]{0,63}`: the position is kept under it. */
  readonly name: string;
  /** Partitions this consumer takes; default all. */
  readonly partitions?: readonly number[];
  /** Redelivery after this long without an ack. Default 30 s. */
  readonly ackWaitMs?: number;
  /** Deliveries before the event goes to the dead letters. Default 5. */
  readonly maxDeliveries?: number;
  /** Where a new consumer starts: the first event (default), a stream sequence, or a time. */
  readonly startAt?: { readonly sequence: number } | { readonly timeMs: number };
}

export interface Delivery {
  readonly id: string;
  readonly key: string;
  readonly data: Uint8Array;
  readonly partition: number;
  /** Stream sequence (increasing with publish order; per stream on the embedded log, per stream on JetStream). */
  readonly sequence: number;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  /** When the transport stored it (ms since the epoch). */
  readonly publishedAtMs: number;
  /** Done: never delivered again to this consumer. */
  ack(): Promise<void>;
  /** Not done: deliver again after `delayMs` (default at once). */
  nak(delayMs?: number): Promise<void>;
}

export interface StreamConsumer {
  /** Up to `max` deliveries, waiting up to `waitMs` for the first; [] when none came. */
  fetch(max: number, waitMs: number): Promise<Delivery[]>;
  /**
   * Stops fetching (a fetch waiting returns what it has); unacked deliveries are redelivered to the
   * next consumer of the name once their ack wait runs out. Acks of deliveries already fetched
   * still work.
   */
  close(): Promise<void>;
}

export interface DeadLetter {
  readonly id: string;
  readonly key: string;
  readonly data: Uint8Array;
  readonly reason: string;
  /** The sequence the event had in its stream, when it came from one. */
  readonly sequence?: number;
  /** The consumer that gave up on it, when known. */
  readonly consumer?: string;
  readonly atMs: number;
}

export interface StreamStatus {
  readonly name: string;
  readonly partitions: number;
  /** Events stored now. */
  readonly events: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly deadLetters: number;
  readonly consumers: ReadonlyArray<{
    readonly name: string;
    /** Events not yet acked by this consumer (its lag). */
    readonly pending: number;
    /** Delivered, not yet acked. */
    readonly inFlight: number;
    /** Stream sequence of the last delivered event. */
    readonly deliveredSequence: number;
  }>;
}

export interface EventStream {
  /** Opens connections. Safe to call twice; the constructor does no I/O. */
  init(): Promise<void>;
  /** Creates the stream (and its dead-letter store) or checks that the existing one matches. */
  ensureStream(config: StreamConfig): Promise<void>;
  /** Names of the streams this transport holds (Ferry's only). */
  listStreams(): Promise<string[]>;
  /**
   * Appends events, in order; resolves when every one is durably stored. When it fails, some of the
   * events may be stored (JetStream stores one by one): retry the same events, the dedupe by id
   * makes it safe within the window.
   */
  publish(stream: string, events: readonly EventToPublish[]): Promise<PublishAck[]>;
  /** Opens (creating if needed) a durable consumer. */
  consumer(stream: string, opts: ConsumerOptions): Promise<StreamConsumer>;
  /** Moves a delivery to the stream's dead letters with a reason, and acks it. */
  deadLetter(stream: string, delivery: Delivery, reason: string): Promise<void>;
  /** The newest dead letters first, at most `limit`. */
  deadLetters(stream: string, limit: number): Promise<DeadLetter[]>;
  /** Deletes the durable consumer so the next `consumer()` starts at its `startAt`. */
  resetConsumer(stream: string, name: string): Promise<void>;
  status(stream: string): Promise<StreamStatus>;
  close(): Promise<void>;
}

/**
 * The partition of a key: FNV-1a 32-bit of its UTF-8 bytes, modulo `partitions`. Fixed here (not per
 * adapter) so producers and consumers of either transport agree, and so it never changes.
 */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

export const STREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
