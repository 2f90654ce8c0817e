import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { isFerryError } from '../core/errors.js';

/**
 * Delays between attempts after transient failures (cockatiel's exponential backoff with
 * decorrelated jitter), reset after a success.
 */
export class Backoff {
  private readonly factory: ExponentialBackoff<unknown>;
  private current: IBackoff<unknown> | undefined;

  constructor(initialDelayMs = 100, maxDelayMs = 10_000) {
    this.factory = new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs });
  }

  next(): number {
    this.current = this.current === undefined ? this.factory.next() : this.current.next(undefined);
    return this.current.duration;
  }

  reset(): void {
    this.current = undefined;
  }
}

/**
 * Whether an error is worth waiting out: a backend that is down or busy (FerryErrors with 503 or
 * 504: stream, database, online store, remote model) or a socket error. Anything else (a bug, a
 * value a database refuses) would fail again: the caller isolates it instead of retrying forever.
 */
export function isTransient(e: unknown): boolean {
  if (isFerryError(e)) return e.status === 503 || e.status === 504;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)/.test(code);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
