import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Delivery, StreamConsumer } from '../../ports/event-stream.js';
import { checkFetch, type ResolvedConsumerOptions } from '../event-stream-rules.js';

/** What a consumer of the embedded log needs from the log (implemented by SqliteEventLog). */
export interface LogTaker {
  take(consumer: LogConsumer, max: number): Promise<LogDelivery[]>;
  settle(ops: ReadonlyArray<SettleOp>): Promise<void>;
}

interface SettleOp {
  kind: 'ack' | 'nak';
  delivery: LogDelivery;
  delayMs: number;
}

interface DeliveryFields {
  id: string;
  key: string;
  data: Uint8Array;
  partition: number;
  sequence: number;
  deliveryCount: number;
  publishedAtMs: number;
}

/**
 * Waiting fetches of one log file in this process, by stream: a publish or nak here wakes them at
 * once (other processes' writes are seen by polling).
 */
export class Wakeups {
  private static readonly byFile = new Map<string, Wakeups>();
  private readonly waiting = new Map<string, Set<() => void>>();

  static forFile(absolutePath: string): Wakeups {
    let w = Wakeups.byFile.get(absolutePath);
    if (w === undefined) {
      w = new Wakeups();
      Wakeups.byFile.set(absolutePath, w);
    }
    return w;
  }

  wake(stream: string): void {
    const set = this.waiting.get(stream);
    if (set === undefined) return;
    this.waiting.delete(stream);
    for (const fn of set) fn();
  }

  /** Resolves after `ms`, or earlier on a wake-up of `stream`. */
  sleep(stream: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiting.get(stream);
      if (set === undefined) {
        set = new Set();
        this.waiting.set(stream, set);
      }
      const done = () => {
        clearTimeout(timer);
        this.waiting.get(stream)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }
}

/**
 * Group commit of acks and naks: every call made in one turn of the event loop (typically
 * `Promise.all(batch.map(d => d.ack()))`) is written in one transaction, and each promise resolves
 * when that transaction commits.
 */
class SettleBatcher {
  private queue: Array<SettleOp & { resolve(): void; reject(e: unknown): void }> = [];
  private scheduled = false;

  constructor(private readonly taker: LogTaker) {}

  add(op: SettleOp): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...op, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const batch = this.queue;
        this.queue = [];
        this.taker.settle(batch).then(
          () => {
            for (const op of batch) op.resolve();
          },
          (e: unknown) => {
            for (const op of batch) op.reject(e);
          },
        );
      });
    });
  }
}

export class LogDelivery implements Delivery {
  readonly id: string;
  readonly key: string;
  readonly data: Uint8Array;
  readonly partition: number;
  readonly sequence: number;
  readonly deliveryCount: number;
  readonly publishedAtMs: number;

  constructor(
    private readonly owner: LogConsumer,
    fields: DeliveryFields,
  ) {
    this.id = fields.id;
    this.key = fields.key;
    this.data = fields.data;
    this.partition = fields.partition;
    this.sequence = fields.sequence;
    this.deliveryCount = fields.deliveryCount;
    this.publishedAtMs = fields.publishedAtMs;
  }

  /** The log it came from: deadLetter() moves only its own deliveries in one transaction. */
  get taker(): LogTaker {
    return this.owner.taker;
  }

  get stream(): string {
    return this.owner.stream;
  }

  get consumer(): string {
    return this.owner.options.name;
  }

  ack(): Promise<void> {
    return this.owner.settle({ kind: 'ack', delivery: this, delayMs: 0 });
  }

  nak(delayMs = 0): Promise<void> {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? Math.floor(delayMs) : 0;
    return this.owner.settle({ kind: 'nak', delivery: this, delayMs: delay });
  }
}

/** A consumer of the embedded log; positions and in-flight deliveries live in the file. */
export class LogConsumer implements StreamConsumer {
  private readonly batcher: SettleBatcher;
  private readonly closeListeners: Array<() => void> = [];
  private closed = false;

  constructor(
    readonly taker: LogTaker,
    private readonly wakeups: Wakeups,
    readonly stream: string,
    readonly options: ResolvedConsumerOptions,
    readonly partitions: readonly number[],
    private readonly maxPollMs: number,
  ) {
    this.batcher = new SettleBatcher(taker);
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    checkFetch(max, waitMs);
    this.checkOpen();
    const deadline = Date.now() + waitMs;
    let pause = 2;
    for (;;) {
      const got = await this.taker.take(this, max);
      if (got.length > 0) return got;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return [];
      // Polling backs off to maxPollMs: another process's publish, or an ack wait running out, has
      // no wake-up here.
      await this.wakeups.sleep(this.stream, Math.min(pause, left));
      pause = Math.min(pause * 2, this.maxPollMs);
      if (this.closed) return [];
    }
  }

  settle(op: SettleOp): Promise<void> {
    return this.batcher.add(op);
  }

  onClose(fn: () => void): void {
    this.closeListeners.push(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closeListeners) fn();
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new FerryError(ErrorCode.STREAM_UNAVAILABLE, `consumer "${this.options.name}" is closed`, {
        details: { stream: this.stream, consumer: this.options.name },
      });
    }
  }
}
