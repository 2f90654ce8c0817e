/**
 * A remote model's two endpoints and the policies around them (cockatiel): every call bounded by a
 * timeout whose AbortSignal closes the socket; the metadata GET, which is idempotent, retried with
 * backoff on transient failures; the inference POST never retried (it may have run, and the caller
 * holds a deadline), and guarded by a circuit breaker that fails calls fast while the remote is down.
 */
import type { Agent } from 'node:http';
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import type { RemoteV2Artifact } from './artifact.js';
import { exchange, type RemoteAnswer, remoteAgent, remoteErrorText } from './remote-http.js';

/** Retries of the metadata GET after its first attempt (so at most 3 requests). */
const METADATA_RETRIES = 2;

function isFailureOf(codes: ReadonlySet<string>): (e: unknown) => boolean {
  return (e) => e instanceof FerryError && codes.has(e.code);
}

/** The remote's own failures: they count against the breaker, and the GET retries them. */
const REMOTE_FAILURES: ReadonlySet<string> = new Set([
  ErrorCode.MODEL_REMOTE_UNAVAILABLE,
  ErrorCode.MODEL_TIMEOUT,
  ErrorCode.MODEL_PREDICT_FAILED,
]);
const TRANSIENT: ReadonlySet<string> = new Set([ErrorCode.MODEL_REMOTE_UNAVAILABLE, ErrorCode.MODEL_TIMEOUT]);

/**
 * Statuses that say the server or its configuration is at fault, not the request: the model is
 * missing there (404), we are not allowed (401, 403), it is busy (408, 429).
 */
const SERVER_SIDE_4XX = new Set([401, 403, 404, 408, 429]);

export class RemoteEndpoint {
  /** How messages name the remote model (never its host). */
  readonly what: string;
  private readonly base: string;
  private readonly host: string;
  private readonly timeoutMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly agent: Agent;
  private openedAt = 0;

  constructor(
    private readonly artifact: RemoteV2Artifact,
    callTimeoutMs: number,
  ) {
    const enc = encodeURIComponent;
    this.base = `${artifact.url}/v2/models/${enc(artifact.model)}${
      artifact.version === undefined ? '' : `/versions/${enc(artifact.version)}`
    }`;
    this.host = new URL(artifact.url).host;
    this.agent = remoteAgent(artifact.url);
    this.what = `remote model ${JSON.stringify(artifact.model)}${
      artifact.version === undefined ? '' : ` version ${JSON.stringify(artifact.version)}`
    }`;
    this.timeoutMs = artifact.timeoutMs ?? callTimeoutMs;
    this.breaker = circuitBreaker(handleWhen(isFailureOf(REMOTE_FAILURES)), {
      halfOpenAfter: artifact.breakerResetMs,
      breaker: new ConsecutiveBreaker(artifact.breakerFailures),
    });
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
    });
  }

  /** One call bounded by the timeout; TaskCancelledError (the aggressive timeout fired) becomes MODEL_TIMEOUT. */
  private async bounded(method: 'GET' | 'POST', url: string, body?: string): Promise<RemoteAnswer> {
    const policy = timeout(this.timeoutMs, TimeoutStrategy.Aggressive);
    try {
      return await policy.execute(({ signal }) =>
        exchange(
          { method, url, signal, what: this.what, ...(body !== undefined ? { body } : {}) },
          this.agent,
        ),
      );
    } catch (e) {
      if (e instanceof TaskCancelledError) {
        throw new FerryError(
          ErrorCode.MODEL_TIMEOUT,
          `${this.what} did not answer within ${this.timeoutMs} ms`,
          { cause: e },
        );
      }
      throw e;
    }
  }

  private unavailable(answer: RemoteAnswer): FerryError {
    return new FerryError(ErrorCode.MODEL_REMOTE_UNAVAILABLE, `${this.what} answered HTTP ${answer.status}`, {
      ...(answer.retryAfterSeconds !== undefined
        ? { details: { retryAfterSeconds: answer.retryAfterSeconds } }
        : {}),
    });
  }

  /** GET the model metadata (`$metadata_model_response`), retried with backoff when the remote is down or slow. */
  async metadata(): Promise<unknown> {
    const policy = retry(handleWhen(isFailureOf(TRANSIENT)), {
      maxAttempts: METADATA_RETRIES,
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }),
    });
    return policy.execute(async () => {
      const answer = await this.bounded('GET', this.base);
      if (answer.status >= 200 && answer.status < 300) return answer.body;
      if (answer.status >= 500 || answer.status === 408 || answer.status === 429)
        throw this.unavailable(answer);
      const text = remoteErrorText(answer.body, this.host);
      throw new FerryError(
        ErrorCode.MODEL_LOAD_FAILED,
        answer.status === 404
          ? `${this.what} does not exist on its server${text ? `: ${text}` : ''}`
          : `${this.what} refused its metadata request with HTTP ${answer.status}${text ? `: ${text}` : ''}`,
      );
    });
  }

  /** Seconds until the open breaker lets a trial call through (at least 1). */
  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.openedAt + this.artifact.breakerResetMs - Date.now()) / 1000));
  }

  /**
   * POST an inference request; returns the answer's body (2xx). Never retried. A 4xx the remote
   * answers for the request is the input's fault: MODEL_INVALID_TENSOR with the remote's message.
   */
  async infer<T>(body: string, read: (answer: unknown) => T): Promise<T> {
    try {
      return await this.breaker.execute(async () => {
        const answer = await this.bounded('POST', `${this.base}/infer`, body);
        if (answer.status >= 200 && answer.status < 300) return read(answer.body);
        if (answer.status >= 400 && answer.status < 500 && !SERVER_SIDE_4XX.has(answer.status)) {
          const text = remoteErrorText(answer.body, this.host) ?? `HTTP ${answer.status}`;
          throw new FerryError(ErrorCode.MODEL_INVALID_TENSOR, `${this.what} refused the input: ${text}`);
        }
        throw this.unavailable(answer);
      });
    } catch (e) {
      if (e instanceof BrokenCircuitError) {
        throw new FerryError(
          ErrorCode.MODEL_REMOTE_UNAVAILABLE,
          `${this.what} is unavailable: its circuit breaker is open after ${this.artifact.breakerFailures} failures in a row`,
          { details: { retryAfterSeconds: this.retryAfterSeconds() } },
        );
      }
      throw e;
    }
  }

  /** Closes the pool's sockets: called once no call runs any more (the model is no longer served). */
  close(): void {
    this.agent.destroy();
  }
}
