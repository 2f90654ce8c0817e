import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type {
  ConsumerOptions,
  DeadLetter,
  Delivery,
  EventStream,
  EventToPublish,
  PublishAck,
  StreamConfig,
  StreamConsumer,
  StreamStatus,
} from '../../ports/event-stream.js';
import { partitionOf } from '../../ports/event-stream.js';
import {
  checkEvents,
  checkLimit,
  checkReason,
  checkStreamName,
  consumerPartitions,
  eventTooLarge,
  MAX_DELIVERIES_REASON,
  mergeStreamConfig,
  type ResolvedConsumerOptions,
  type ResolvedStreamConfig,
  resolveConsumerOptions,
  resolveStreamConfig,
  sameStreamConfig,
  streamNotFound,
} from '../event-stream-rules.js';
import { parseServerUrl, safeDecode, scrubSecret } from '../server-url.js';
import { deadLetterStreamConfig, durableConfig, metaOf, streamConfig } from './jetstream-config.js';
import {
  type JsConsumer,
  type JsConsumerHost,
  JsConsumer as JsConsumerImpl,
  type JsDelivery,
} from './jetstream-consumer.js';
import {
  consumerOfDurable,
  decodeHeader,
  encodeHeader,
  ferryStreamOf,
  HEADER,
  isConsumerNotFound,
  isMessageNotFound,
  isNoResponders,
  isStreamNotFound,
  jsName,
  toStreamError,
} from './jetstream-names.js';
import { type NatsKit, openNatsConnection } from './nats-connection.js';

export interface JetStreamEventStreamOptions {
  /** `nats://[user:password@]host[:port]` (a lone user part is a token). */
  url: string;
  /** How long init() waits for the first connection. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Every API call, publish acknowledgement and ack confirmation. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** The longest pause between two looks while a fetch over several partitions waits. Default 50 ms. */
  maxPollMs?: number;
  /** Reconnection backs off exponentially up to this. Default 2000 ms. */
  maxReconnectDelayMs?: number;
  /** Shown by the server's monitoring. Default `ferry`. */
  connectionName?: string;
}

interface StreamMeta {
  readonly config: ResolvedStreamConfig;
  readonly at: number;
}

/** A stream's settings are read again after this (another process may have changed the limits). */
const META_TTL_MS = 5000;
/** Publishes of one call in flight at once (one connection keeps their order). */
const PUBLISH_WINDOW = 512;

/**
 * The stream transport over NATS JetStream (names in jetstream-names.ts). Dedupe is JetStream's
 * (`Nats-Msg-Id` = the event id, the stream's `duplicate_window`); consumers are durable pull
 * consumers with explicit acks, `ack_wait` and a start policy given at creation.
 *
 * maxDeliveries: the server's `max_deliver` is set to maxDeliveries + 2 and the adapter moves any
 * delivery past maxDeliveries to the DLQ stream (publish with a dedupe id, then ack) before the
 * caller sees it. Listening to the MAX_DELIVERIES advisory instead would lose the event whenever no
 * process listened at that moment (advisories are not stored); the spare deliveries let a move
 * that failed be tried again. The cost: an event is moved by the next fetch after its last ack
 * wait, not by the server.
 *
 * Connection: reconnects forever with exponential backoff (capped at maxReconnectDelayMs). While
 * disconnected every call fails at once with FERRY_STREAM_UNAVAILABLE (nothing is queued to be
 * sent later), and fetches waiting fail when the link drops; a hung server is bounded by
 * requestTimeoutMs and detected by pings.
 */
export class JetStreamEventStream implements EventStream, JsConsumerHost {
  readonly requestTimeoutMs: number;
  readonly maxPollMs: number;
  private readonly opts: JetStreamEventStreamOptions;
  private readonly target: { host: string; port: number; user: string; pass: string };
  private nc: NatsConnection | undefined;
  private jsm: JetStreamManager | undefined;
  private js: JetStreamClient | undefined;
  private kit: NatsKit | undefined;
  private connected = false;
  private opening: Promise<void> | undefined;
  private readonly disconnectListeners = new Set<() => void>();
  private readonly metas = new Map<string, StreamMeta>();

  constructor(opts: JetStreamEventStreamOptions) {
    const parsed = parseServerUrl(opts.url, 'NATS', ['nats:']);
    this.target = {
      host: parsed.hostname || '127.0.0.1',
      port: parsed.port === '' ? 4222 : Number(parsed.port),
      user: safeDecode(parsed.username),
      pass: safeDecode(parsed.password),
    };
    this.opts = opts;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.maxPollMs = opts.maxPollMs ?? 50;
  }

  init(): Promise<void> {
    if (this.nc !== undefined) return Promise.resolve();
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async ensureStream(config: StreamConfig): Promise<void> {
    const { resolved, given } = resolveStreamConfig(config);
    const jsm = this.manager();
    const name = resolved.name;
    const info = await this.lookup('ensureStream', () => jsm.streams.info(jsName.stream(name)));
    let effective = resolved;
    if (info === undefined) {
      await this.api('ensureStream', () => jsm.streams.add(streamConfig(resolved)));
    } else {
      const existing = metaOf(name, info);
      effective = mergeStreamConfig(existing, given);
      if (!sameStreamConfig(existing, effective)) {
        await this.api('ensureStream', () =>
          jsm.streams.update(jsName.stream(name), { ...info.config, ...streamConfig(effective) }),
        );
      }
    }
    const dlq = await this.lookup('ensureStream', () => jsm.streams.info(jsName.dlq(name)));
    const dlqConfig = deadLetterStreamConfig(effective);
    if (dlq === undefined) await this.api('ensureStream', () => jsm.streams.add(dlqConfig));
    else if (
      dlq.config.max_age !== dlqConfig.max_age ||
      dlq.config.duplicate_window !== dlqConfig.duplicate_window
    ) {
      await this.api('ensureStream', () =>
        jsm.streams.update(dlqConfig.name, { ...dlq.config, ...dlqConfig }),
      );
    }
    this.metas.set(name, { config: effective, at: Date.now() });
  }

  async listStreams(): Promise<string[]> {
    const jsm = this.manager();
    return this.api('listStreams', async () => {
      const out: string[] = [];
      for await (const name of jsm.streams.names()) {
        const ferry = ferryStreamOf(name);
        if (ferry !== undefined) out.push(ferry);
      }
      return out.sort();
    });
  }

  async publish(stream: string, events: readonly EventToPublish[]): Promise<PublishAck[]> {
    checkStreamName(stream);
    const { config } = await this.meta(stream);
    checkEvents(stream, events, config.maxEventBytes);
    const nc = this.connection();
    const js = this.client();
    const maxPayload = nc.info?.max_payload ?? 1_048_576;
    const prepared = events.map((event, index) => {
      const id = encodeHeader(event.id);
      const key = encodeHeader(event.key);
      // NATS/1.0 line, two header lines and the blank line, with room to spare.
      const headerBytes = 64 + HEADER.id.length + id.length + HEADER.key.length + key.length;
      if (event.data.byteLength + headerBytes > maxPayload) {
        // The server's max_payload, not the stream's setting, is the limit here.
        throw eventTooLarge(stream, index, event.data.byteLength, maxPayload - headerBytes);
      }
      const h = this.natsKit().headers();
      h.set(HEADER.key, key);
      return {
        subject: jsName.subject(stream, partitionOf(event.key, config.partitions)),
        id,
        h,
        data: event.data,
      };
    });
    const acks: PublishAck[] = [];
    try {
      for (let i = 0; i < prepared.length; i += PUBLISH_WINDOW) {
        const window = prepared.slice(i, i + PUBLISH_WINDOW);
        const results = await Promise.all(
          window.map((p) =>
            js.publish(p.subject, p.data, { msgID: p.id, headers: p.h, timeout: this.requestTimeoutMs }),
          ),
        );
        for (const r of results) acks.push({ sequence: r.seq, duplicate: r.duplicate });
      }
    } catch (e) {
      throw await this.whyFailed('publish', stream, e);
    }
    return acks;
  }

  async consumer(stream: string, opts: ConsumerOptions): Promise<StreamConsumer> {
    checkStreamName(stream);
    const resolved = resolveConsumerOptions(opts);
    const { config } = await this.meta(stream, true);
    const partitions = consumerPartitions(stream, resolved, config.partitions);
    await Promise.all(partitions.map((p) => this.ensureDurable(stream, resolved, p)));
    return new JsConsumerImpl(this, stream, resolved, partitions);
  }

  async deadLetter(stream: string, delivery: Delivery, reason: string): Promise<void> {
    checkStreamName(stream);
    checkReason(reason);
    const consumer = isJsDelivery(delivery) ? delivery.consumer.options.name : undefined;
    await this.publishDead(stream, delivery, consumer, reason);
    await delivery.ack();
  }

  async deadLetters(stream: string, limit: number): Promise<DeadLetter[]> {
    checkStreamName(stream);
    checkLimit(limit);
    await this.meta(stream, true);
    const jsm = this.manager();
    const dlq = jsName.dlq(stream);
    const info = await this.lookup('deadLetters', () => jsm.streams.info(dlq));
    if (info === undefined || info.state.messages === 0) return [];
    const out: DeadLetter[] = [];
    let seq = info.state.last_seq;
    // Newest first, read in parallel slices; sequences missing (aged out) are skipped.
    while (out.length < limit && seq >= info.state.first_seq) {
      const slice: number[] = [];
      for (let n = 0; n < Math.min(64, limit - out.length) && seq >= info.state.first_seq; n++)
        slice.push(seq--);
      const msgs = await this.api('deadLetters', () =>
        Promise.all(
          slice.map((s) =>
            jsm.streams.getMessage(dlq, { seq: s }).catch((e: unknown) => {
              // A sequence aged out (or deleted) between the stream info and the read.
              if (isMessageNotFound(e)) return null;
              throw e;
            }),
          ),
        ),
      );
      for (const m of msgs) {
        if (m === null || out.length >= limit) continue;
        const sequence = Number(m.header.get(HEADER.sequence));
        const consumer = decodeHeader(m.header.get(HEADER.consumer) || undefined);
        out.push({
          id: decodeHeader(m.header.get(HEADER.deadId)),
          key: decodeHeader(m.header.get(HEADER.key)),
          data: new Uint8Array(m.data),
          reason: decodeHeader(m.header.get(HEADER.reason)),
          ...(Number.isSafeInteger(sequence) && sequence > 0 ? { sequence } : {}),
          ...(consumer === '' ? {} : { consumer }),
          atMs: m.time.getTime(),
        });
      }
    }
    return out;
  }

  async resetConsumer(stream: string, name: string): Promise<void> {
    checkStreamName(stream);
    checkStreamName(name, 'consumer name');
    const { config } = await this.meta(stream, true);
    const jsm = this.manager();
    await this.api('resetConsumer', () =>
      Promise.all(
        Array.from({ length: config.partitions }, (_, p) =>
          jsm.consumers.delete(jsName.stream(stream), jsName.durable(name, p)).catch((e: unknown) => {
            if (!isConsumerNotFound(e)) throw e;
            return false;
          }),
        ),
      ),
    );
  }

  async status(stream: string): Promise<StreamStatus> {
    checkStreamName(stream);
    const jsm = this.manager();
    const info = await this.lookup('status', () => jsm.streams.info(jsName.stream(stream)));
    if (info === undefined) throw streamNotFound(stream, await this.listStreams());
    const config = metaOf(stream, info);
    const dlq = await this.lookup('status', () => jsm.streams.info(jsName.dlq(stream)));
    const consumers = new Map<string, { pending: number; inFlight: number; deliveredSequence: number }>();
    await this.api('status', async () => {
      for await (const c of jsm.consumers.list(jsName.stream(stream))) {
        const owner = consumerOfDurable(c.name);
        if (owner === undefined) continue;
        const entry = consumers.get(owner.consumer) ?? { pending: 0, inFlight: 0, deliveredSequence: 0 };
        entry.pending += c.num_pending + c.num_ack_pending;
        entry.inFlight += c.num_ack_pending;
        entry.deliveredSequence = Math.max(entry.deliveredSequence, c.delivered.stream_seq);
        consumers.set(owner.consumer, entry);
      }
    });
    return {
      name: stream,
      partitions: config.partitions,
      events: info.state.messages,
      firstSequence: info.state.first_seq,
      lastSequence: info.state.last_seq,
      deadLetters: dlq?.state.messages ?? 0,
      consumers: [...consumers]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, c]) => ({ name, ...c })),
    };
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    const nc = this.nc;
    this.nc = undefined;
    this.jsm = undefined;
    this.js = undefined;
    this.connected = false;
    for (const fn of [...this.disconnectListeners]) fn();
    await nc?.close().catch(() => undefined);
  }

  // JsConsumerHost

  connection(): NatsConnection {
    if (this.nc === undefined) {
      throw new FerryError(
        ErrorCode.STREAM_UNAVAILABLE,
        `the JetStream transport is not open: call init() first (or it was closed)`,
        {
          details: this.where(),
        },
      );
    }
    if (!this.connected) {
      throw new FerryError(
        ErrorCode.STREAM_UNAVAILABLE,
        `NATS at ${this.describe()} is disconnected; reconnecting`,
        {
          details: this.where(),
        },
      );
    }
    return this.nc;
  }

  async settle(reply: string, body: string): Promise<void> {
    const nc = this.connection();
    try {
      await nc.request(reply, body, { timeout: this.requestTimeoutMs });
    } catch (e) {
      // Nobody serves the ack subject: the consumer was deleted (resetConsumer), so this
      // delivery's outcome no longer matters to anyone.
      if (isNoResponders(e)) return;
      throw toStreamError('ack', e, this.where());
    }
  }

  async recreate(consumer: JsConsumer, partition: number): Promise<void> {
    await this.ensureDurable(consumer.stream, consumer.options, partition);
  }

  async deadLetterExhausted(delivery: JsDelivery): Promise<void> {
    await this.publishDead(delivery.stream, delivery, delivery.consumer.options.name, MAX_DELIVERIES_REASON);
    await delivery.ack();
  }

  inbox(): string {
    return this.natsKit().createInbox();
  }

  onDisconnect(fn: () => void): () => void {
    this.disconnectListeners.add(fn);
    return () => this.disconnectListeners.delete(fn);
  }

  // internals

  private async open(): Promise<void> {
    const kit = await openNatsConnection({
      host: this.target.host,
      port: this.target.port,
      user: this.target.user,
      pass: this.target.pass,
      connectTimeoutMs: this.opts.connectTimeoutMs ?? 2000,
      requestTimeoutMs: this.requestTimeoutMs,
      maxReconnectDelayMs: this.opts.maxReconnectDelayMs ?? 2000,
      name: this.opts.connectionName ?? 'ferry',
      onStatus: (up) => {
        // Reports of a connection this transport no longer holds (closed, or replaced) are ignored.
        if (this.kit === undefined || this.nc !== this.kit.nc) return;
        this.connected = up;
        if (!up) for (const fn of [...this.disconnectListeners]) fn();
      },
      scrub: (m) => scrubSecret(scrubSecret(m, this.target.pass), this.target.user),
      describe: this.describe(),
    });
    this.kit = kit;
    this.nc = kit.nc;
    this.jsm = kit.jsm;
    this.js = kit.jsm.jetstream();
    this.connected = !kit.nc.isClosed();
  }

  private async ensureDurable(
    stream: string,
    opts: ResolvedConsumerOptions,
    partition: number,
  ): Promise<void> {
    const jsm = this.manager();
    const jsStream = jsName.stream(stream);
    const durable = jsName.durable(opts.name, partition);
    const { ack_wait: ackWait, max_deliver: maxDeliver } = durableConfig(stream, opts, partition);
    const current = await this.api(
      'consumer',
      () =>
        jsm.consumers.info(jsStream, durable).catch((e: unknown) => {
          if (isConsumerNotFound(e)) return undefined;
          throw e;
        }),
      stream,
    );
    if (current !== undefined) {
      if (current.config.ack_wait !== ackWait || current.config.max_deliver !== maxDeliver) {
        await this.api('consumer', () =>
          jsm.consumers.update(jsStream, durable, { ack_wait: ackWait, max_deliver: maxDeliver }),
        );
      }
      return;
    }
    await this.api(
      'consumer',
      () =>
        jsm.consumers.add(jsStream, durableConfig(stream, opts, partition)).catch(async (e: unknown) => {
          // Another process created it first: fine when it is there now.
          const there = await jsm.consumers.info(jsStream, durable).catch(() => undefined);
          if (there === undefined) throw e;
          return there;
        }),
      stream,
    );
  }

  private async publishDead(
    stream: string,
    event: { id: string; key: string; data: Uint8Array; sequence?: number },
    consumer: string | undefined,
    reason: string,
  ): Promise<void> {
    const js = this.client();
    const h = this.natsKit().headers();
    h.set(HEADER.deadId, encodeHeader(event.id));
    h.set(HEADER.key, encodeHeader(event.key));
    h.set(HEADER.reason, encodeHeader(reason));
    if (event.sequence !== undefined) h.set(HEADER.sequence, String(event.sequence));
    if (consumer !== undefined) h.set(HEADER.consumer, encodeHeader(consumer));
    // One dead letter per (consumer, event) even when the move is retried after a failed ack.
    const msgID = `dl-${consumer ?? '-'}-${event.sequence ?? encodeHeader(event.id)}`;
    try {
      await js.publish(jsName.dlqSubject(stream), event.data, {
        msgID,
        headers: h,
        timeout: this.requestTimeoutMs,
      });
    } catch (e) {
      throw await this.whyFailed('deadLetter', stream, e);
    }
  }

  /** The stream's settings (cached a few seconds), or FERRY_STREAM_NOT_FOUND. */
  private async meta(stream: string, fresh = false): Promise<StreamMeta> {
    const cached = this.metas.get(stream);
    if (!fresh && cached !== undefined && Date.now() - cached.at < META_TTL_MS) return cached;
    const jsm = this.manager();
    const info = await this.lookup('stream info', () => jsm.streams.info(jsName.stream(stream)));
    if (info === undefined) {
      this.metas.delete(stream);
      throw streamNotFound(stream, await this.listStreams());
    }
    const meta = { config: metaOf(stream, info), at: Date.now() };
    this.metas.set(stream, meta);
    return meta;
  }

  /** A publish that failed: no stream behind the subject is NOT_FOUND, the rest as it came. */
  private async whyFailed(where: string, stream: string, e: unknown): Promise<FerryError> {
    this.metas.delete(stream);
    const error = toStreamError(where, e, { ...this.where(), stream });
    if (error.code !== ErrorCode.STREAM_UNAVAILABLE || !this.connected) return error;
    try {
      await this.meta(stream, true);
    } catch (again) {
      if (again instanceof FerryError && again.code === ErrorCode.STREAM_NOT_FOUND) return again;
    }
    return error;
  }

  /** Runs a JetStream call, errors as FerryErrors; a missing stream is FERRY_STREAM_NOT_FOUND for `stream`. */
  private async api<T>(where: string, call: () => Promise<T>, stream = ''): Promise<T> {
    this.connection();
    try {
      return await call();
    } catch (e) {
      if (isStreamNotFound(e)) throw streamNotFound(stream, await this.listStreams().catch(() => []));
      throw toStreamError(where, e, this.where());
    }
  }

  /** The same for a lookup: a stream that does not exist gives undefined. */
  private async lookup<T>(where: string, call: () => Promise<T>): Promise<T | undefined> {
    this.connection();
    try {
      return await call();
    } catch (e) {
      if (isStreamNotFound(e)) return undefined;
      throw toStreamError(where, e, this.where());
    }
  }

  private natsKit(): NatsKit {
    this.connection();
    return this.kit as NatsKit;
  }

  private manager(): JetStreamManager {
    this.connection();
    return this.jsm as JetStreamManager;
  }

  private client(): JetStreamClient {
    this.connection();
    return this.js as JetStreamClient;
  }

  private where(): Record<string, unknown> {
    return { host: this.target.host, port: this.target.port };
  }

  private describe(): string {
    return `${this.target.host}:${this.target.port}`;
  }
}

function isJsDelivery(d: Delivery): d is JsDelivery {
  return (
    typeof (d as Partial<JsDelivery>).reply === 'string' &&
    typeof (d as Partial<JsDelivery>).consumer === 'object'
  );
}
