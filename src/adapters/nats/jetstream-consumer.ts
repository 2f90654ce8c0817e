import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Delivery, StreamConsumer } from '../../ports/event-stream.js';
import { checkFetch, type ResolvedConsumerOptions } from '../event-stream-rules.js';
import { decodeHeader, HEADER, jsName, nanos } from './jetstream-names.js';

/** What a consumer needs from its transport (implemented by JetStreamEventStream). */
export interface JsConsumerHost {
  /** The connection, or FERRY_STREAM_UNAVAILABLE at once while it is down. */
  connection(): NatsConnection;
  /** A fresh reply subject. */
  inbox(): string;
  readonly requestTimeoutMs: number;
  readonly maxPollMs: number;
  /** Sends `body` to a delivery's ack subject and waits for the server's confirmation. */
  settle(reply: string, body: string): Promise<void>;
  /** Recreates a durable consumer that was deleted (resetConsumer elsewhere), as first created. */
  recreate(consumer: JsConsumer, partition: number): Promise<void>;
  /** Moves a delivery past its maxDeliveries to the dead letters, then acks it. */
  deadLetterExhausted(delivery: JsDelivery): Promise<void>;
  /** Rejects pulls waiting on a lost connection at once rather than at their timeout. */
  onDisconnect(fn: () => void): () => void;
}

/** A message's place, parsed from its ack subject (`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or the v2 form with domain and account). */
interface AckInfo {
  deliveryCount: number;
  streamSequence: number;
  timestampNanos: bigint;
}

function parseAckSubject(reply: string): AckInfo | undefined {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  // v1: 9 tokens; v2 (servers ≥ 2.10 in some setups): domain and account hash after ACK, 12 or more.
  const o = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (o < 0) return undefined;
  const deliveryCount = Number(t[o + 2]);
  const streamSequence = Number(t[o + 3]);
  let timestampNanos: bigint;
  try {
    timestampNanos = BigInt(t[o + 5] ?? '0');
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSequence)) return undefined;
  return { deliveryCount, streamSequence, timestampNanos };
}

export class JsDelivery implements Delivery {
  readonly id: string;
  readonly key: string;
  readonly data: Uint8Array;
  readonly sequence: number;
  readonly deliveryCount: number;
  readonly publishedAtMs: number;

  constructor(
    private readonly host: JsConsumerHost,
    readonly consumer: JsConsumer,
    readonly partition: number,
    readonly reply: string,
    msg: Msg,
    info: AckInfo,
  ) {
    this.id = decodeHeader(msg.headers?.get(HEADER.id));
    this.key = decodeHeader(msg.headers?.get(HEADER.key));
    // A copy: the message's bytes are a view into the socket's buffer.
    this.data = new Uint8Array(msg.data);
    this.sequence = info.streamSequence;
    this.deliveryCount = info.deliveryCount;
    this.publishedAtMs = Number(info.timestampNanos / 1_000_000n);
  }

  get stream(): string {
    return this.consumer.stream;
  }

  ack(): Promise<void> {
    return this.host.settle(this.reply, '+ACK');
  }

  nak(delayMs = 0): Promise<void> {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? Math.floor(delayMs) : 0;
    return this.host.settle(
      this.reply,
      delay > 0 ? `-NAK ${JSON.stringify({ delay: nanos(delay) })}` : '-NAK',
    );
  }
}

/** How long past its expiry a pull request may go unanswered before it counts as empty. */
const SILENT_PULL_MS = 1000;

type PullEnd = { kind: 'done' } | { kind: 'consumer-gone' } | { kind: 'silent' };

/**
 * A consumer over one durable pull consumer per partition. A fetch asks every partition at once
 * with `no_wait` (whatever is there now, never more than `max` in all: the batch is split between
 * partitions), and while nothing comes, asks again after a pause growing to `maxPollMs`. A
 * consumer of one partition waits on the server instead (`no_wait` with `expires`: the request
 * ends at the first messages or at the expiry). Deliveries past maxDeliveries never reach the
 * caller: they are moved to the dead letters here.
 */
export class JsConsumer implements StreamConsumer {
  private closed = false;
  private rotation = 0;

  constructor(
    private readonly host: JsConsumerHost,
    readonly stream: string,
    readonly options: ResolvedConsumerOptions,
    readonly partitions: readonly number[],
  ) {}

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    checkFetch(max, waitMs);
    this.checkOpen();
    const deadline = Date.now() + waitMs;
    let pause = 2;
    for (;;) {
      const left = Math.max(0, deadline - Date.now());
      const single = this.partitions.length === 1;
      const got = await this.pullAll(max, single ? left : 0);
      const usable = await this.screen(got);
      if (usable.length > 0) return usable;
      const now = Date.now();
      if (now >= deadline || this.closed) return [];
      // Only dead-lettered deliveries came: look again at once.
      if (!single && got.length === 0) {
        await new Promise((r) => setTimeout(r, Math.min(pause, deadline - now)));
        pause = Math.min(pause * 2, this.host.maxPollMs);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** One request per partition, sharing `max` between them (rotating who gets the remainder). */
  private async pullAll(max: number, waitMs: number): Promise<JsDelivery[]> {
    const n = this.partitions.length;
    const start = this.rotation++ % n;
    const base = Math.floor(max / n);
    const extra = max % n;
    const asks: Array<Promise<JsDelivery[]>> = [];
    for (let i = 0; i < n; i++) {
      const partition = this.partitions[(start + i) % n] as number;
      const batch = base + (i < extra ? 1 : 0);
      if (batch > 0) asks.push(this.pullPartition(partition, batch, waitMs));
    }
    const results = await Promise.allSettled(asks);
    const out: JsDelivery[] = [];
    let failure: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') out.push(...r.value);
      else failure ??= r.reason;
    }
    // Deliveries already taken are handed over even if another partition failed: they are in
    // flight on the server, and dropping them would only delay them by an ack wait.
    if (out.length === 0 && failure !== undefined) throw failure;
    return out.sort((a, b) => a.sequence - b.sequence);
  }

  private async pullPartition(partition: number, batch: number, waitMs: number): Promise<JsDelivery[]> {
    const first = await this.pull(partition, batch, waitMs);
    if (first.end.kind !== 'consumer-gone') return first.deliveries;
    // Deleted under us (resetConsumer in another process): recreate from startAt, then ask again.
    await this.host.recreate(this, partition);
    return (await this.pull(partition, batch, waitMs)).deliveries;
  }

  private pull(
    partition: number,
    batch: number,
    waitMs: number,
  ): Promise<{ deliveries: JsDelivery[]; end: PullEnd }> {
    const nc = this.host.connection();
    const durable = jsName.durable(this.options.name, partition);
    const inbox = this.host.inbox();
    const deliveries: JsDelivery[] = [];
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (end: PullEnd | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopListening();
        sub.unsubscribe();
        if (end instanceof Error) {
          if (deliveries.length > 0) resolve({ deliveries, end: { kind: 'done' } });
          else reject(end);
        } else resolve({ deliveries, end });
      };
      const sub = nc.subscribe(inbox, {
        callback: (err, msg) => {
          if (err) return finish(err);
          const code = msg.headers?.code ?? 0;
          if (code === 0) {
            const info = msg.reply === undefined ? undefined : parseAckSubject(msg.reply);
            if (info === undefined || msg.reply === undefined) return;
            deliveries.push(new JsDelivery(this.host, this, partition, msg.reply, msg, info));
            if (deliveries.length >= batch) finish({ kind: 'done' });
            return;
          }
          if (code === 100) return; // an idle heartbeat (not asked for, but harmless)
          const description = msg.headers?.description ?? '';
          // 404 No Messages, 408 Request Timeout: the end of this request. 409: the consumer was
          // deleted, or a limit (max waiting, batch) was hit: the latter ends the request too.
          if (code === 409 && /consumer deleted/i.test(description)) return finish({ kind: 'consumer-gone' });
          // 503 No Responders: nobody serves the consumer's subject, which exists for every durable.
          if (code === 503) return finish({ kind: 'consumer-gone' });
          finish({ kind: 'done' });
        },
      });
      const stopListening = this.host.onDisconnect(() =>
        finish(
          new FerryError(ErrorCode.STREAM_UNAVAILABLE, 'the connection to NATS was lost during a fetch', {
            details: { stream: this.stream, consumer: this.options.name },
          }),
        ),
      );
      // nats-server 2.9 sometimes leaves a no_wait request unanswered (seen right after a message
      // ran out of deliveries): past its expiry plus a margin, the request counts as empty.
      const timer = setTimeout(() => finish({ kind: 'silent' }), waitMs + SILENT_PULL_MS);
      const request: Record<string, unknown> = { batch, no_wait: true };
      if (waitMs > 0) request.expires = nanos(waitMs);
      nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${jsName.stream(this.stream)}.${durable}`,
        JSON.stringify(request),
        {
          reply: inbox,
        },
      );
    });
  }

  /** Drops deliveries past maxDeliveries into the dead letters; returns the rest. */
  private async screen(deliveries: JsDelivery[]): Promise<JsDelivery[]> {
    const exhausted = deliveries.filter((d) => d.deliveryCount > this.options.maxDeliveries);
    if (exhausted.length === 0) return deliveries;
    const results = await Promise.allSettled(exhausted.map((d) => this.host.deadLetterExhausted(d)));
    // A move that failed is retried at the next delivery (max_deliver leaves spare ones); the
    // caller still gets the good deliveries of this fetch.
    void results;
    return deliveries.filter((d) => d.deliveryCount <= this.options.maxDeliveries);
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new FerryError(ErrorCode.STREAM_UNAVAILABLE, `consumer "${this.options.name}" is closed`, {
        details: { stream: this.stream, consumer: this.options.name },
      });
    }
  }
}
