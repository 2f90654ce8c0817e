/**
 * Exponential backoff per model version that failed to load while following an alias: the alias
 * poller runs every couple of seconds, and re-reading (and re-hashing) a broken multi-MB artifact
 * on every tick would only repeat the same error. The first retry waits `baseMs`, then twice as
 * long each time, up to `maxMs`; a successful load, or an explicit refresh, forgets the failures.
 */
export class LoadBackoff {
  private readonly failures = new Map<string, { count: number; retryAt: number }>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** True when `key` failed recently and its next attempt is not due yet. */
  waiting(key: string): boolean {
    const f = this.failures.get(key);
    return f !== undefined && this.now() < f.retryAt;
  }

  /** Records a failure; returns how long until the next attempt (ms). */
  failed(key: string): number {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (count - 1));
    this.failures.set(key, { count, retryAt: this.now() + delay });
    return delay;
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }

  clear(): void {
    this.failures.clear();
  }
}
