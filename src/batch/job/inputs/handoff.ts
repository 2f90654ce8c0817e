/**
 * A one-slot hand-off between a producer that must run inside a callback (a database transaction)
 * and a consumer that pulls at its own pace: the producer waits while the slot is full, so at most
 * one item is buffered. `cancel()` (the consumer gave up) makes the next `push` return false.
 */
export class Handoff<T> {
  private item: { value: T } | undefined;
  private done = false;
  private failure: { error: unknown } | undefined;
  private cancelled = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  async push(value: T): Promise<boolean> {
    while (this.item !== undefined && !this.cancelled) {
      await new Promise<void>((resolve) => {
        this.wakeProducer = resolve;
      });
    }
    if (this.cancelled) return false;
    this.item = { value };
    this.wake('consumer');
    return true;
  }

  /** The next item, or undefined once the producer has finished; throws what the producer failed with. */
  async pop(): Promise<T | undefined> {
    while (this.item === undefined && !this.done) {
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
    const item = this.item;
    if (item !== undefined) {
      this.item = undefined;
      this.wake('producer');
      return item.value;
    }
    if (this.failure !== undefined) throw this.failure.error;
    return undefined;
  }

  /** The producer is done (with an error, when it failed). */
  finish(error?: { error: unknown }): void {
    this.done = true;
    this.failure = error;
    this.wake('consumer');
  }

  cancel(): void {
    this.cancelled = true;
    this.wake('producer');
  }

  private wake(who: 'consumer' | 'producer'): void {
    const fn = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    fn?.();
  }
}
