import {
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Alert } from './evaluate.js';

/**
 * Alerts POSTed as JSON to a webhook (FERRY_MONITOR_WEBHOOK_URL), off the monitor loop: `notify`
 * returns at once and the delivery runs in the background, each attempt bounded by a timeout, a
 * failed one (no answer, a timeout, 5xx, 408, 429) retried with exponential backoff. Other 4xx are
 * final (the receiver refuses this alert; sending it again will not help). The outcome goes to
 * `onOutcome`: the loop records it beside the stored alert, logs and counts failures.
 */
export interface WebhookOptions {
  readonly url: string;
  /** Per attempt (default 5000). */
  readonly timeoutMs?: number;
  /** Attempts after the first (default 3). */
  readonly retries?: number;
  /** First backoff delay (default 250 ms, doubling with jitter up to maxDelayMs). */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Deliveries in flight at most; beyond, an alert is not sent (failed at once, still stored). */
  readonly maxPending?: number;
}

export type WebhookOutcome =
  | { readonly ok: true; readonly attempts: number }
  | { readonly ok: false; readonly attempts: number; readonly error: FerryError };

/** Where the webhook's failures say what went wrong without the URL (it may hold a secret). */
const TRANSIENT_STATUS = (s: number) => s >= 500 || s === 408 || s === 429;

class TransientFailure extends Error {}

/** The URL without credentials, and an Authorization header built from them (fetch refuses them in the URL). */
function target(url: string): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (u.username !== '' || u.password !== '') {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  return { url: u.toString(), headers };
}

export class WebhookNotifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly opts: Required<Omit<WebhookOptions, 'url'>>;
  private readonly target: { url: string; headers: Record<string, string> };

  constructor(
    options: WebhookOptions,
    private readonly onOutcome: (alert: Alert, outcome: WebhookOutcome) => void,
  ) {
    this.target = target(options.url);
    this.opts = {
      timeoutMs: options.timeoutMs ?? 5000,
      retries: options.retries ?? 3,
      initialDelayMs: options.initialDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 5000,
      maxPending: options.maxPending ?? 100,
    };
  }

  /** Starts the delivery and returns at once; the outcome is reported to `onOutcome`. */
  notify(alert: Alert): void {
    if (this.pending.size >= this.opts.maxPending) {
      const error = new FerryError(
        ErrorCode.MONITOR_WEBHOOK,
        `alert webhook: ${this.pending.size} deliveries in flight already; alert ${alert.rule} not sent`,
        { details: { rule: alert.rule, model: alert.model, reason: 'backlog' } },
      );
      this.onOutcome(alert, { ok: false, attempts: 0, error });
      return;
    }
    const delivery = this.deliver(alert).then((outcome) => {
      try {
        this.onOutcome(alert, outcome);
      } catch {
        // The listener's own failure must not become an unhandled rejection.
      }
    });
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Waits for the deliveries in flight (at close, and in tests). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async deliver(alert: Alert): Promise<WebhookOutcome> {
    const body = JSON.stringify({ type: 'ferry.alert', alert });
    let attempts = 0;
    const policy = retry(
      handleWhen((e) => e instanceof TransientFailure),
      {
        maxAttempts: this.opts.retries,
        backoff: new ExponentialBackoff({
          initialDelay: this.opts.initialDelayMs,
          maxDelay: this.opts.maxDelayMs,
        }),
      },
    );
    try {
      await policy.execute(async () => {
        attempts++;
        await this.attempt(body);
      });
      return { ok: true, attempts };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return {
        ok: false,
        attempts,
        error: new FerryError(
          ErrorCode.MONITOR_WEBHOOK,
          `alert webhook: ${alert.rule} of ${alert.model} not delivered after ${attempts} attempt(s): ${reason}`,
          { details: { rule: alert.rule, model: alert.model, attempts, reason } },
        ),
      };
    }
  }

  /** One POST bounded by the timeout; throws TransientFailure when another attempt may succeed. */
  private async attempt(body: string): Promise<void> {
    const bounded = timeout(this.opts.timeoutMs, TimeoutStrategy.Aggressive);
    let status: number;
    try {
      status = await bounded.execute(async ({ signal }) => {
        const res = await fetch(this.target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'ferry-monitor',
            ...this.target.headers,
          },
          body,
          signal,
        });
        // The body is not needed; reading it frees the connection for keep-alive.
        await res.arrayBuffer().catch(() => undefined);
        return res.status;
      });
    } catch (e) {
      if (e instanceof TaskCancelledError)
        throw new TransientFailure(`no answer within ${this.opts.timeoutMs} ms`);
      const cause = (e as { cause?: { code?: unknown } }).cause;
      const code = typeof cause?.code === 'string' ? cause.code : 'network error';
      throw new TransientFailure(`request failed (${code})`);
    }
    if (status >= 200 && status < 300) return;
    if (TRANSIENT_STATUS(status)) throw new TransientFailure(`HTTP ${status}`);
    throw new Error(`HTTP ${status} (not retried)`);
  }
}
