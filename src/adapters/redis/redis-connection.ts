import type { Redis, RedisOptions } from 'ioredis';
import { type ErrorCodeName, FerryError } from '../../core/errors.js';
import { NETWORK_ERROR_CODES, parseServerUrl, safeDecode, scrubSecret } from '../server-url.js';

/**
 * What the Redis adapters (the key-value store, the online feature store) share: the URL's target,
 * the fail-fast client options and the test for "no usable connection right now".
 */

/** Where the URL points, for messages: the password is kept only to scrub it from driver messages. */
export interface RedisTarget {
  host: string;
  port: number;
  secret: string;
}

export function parseRedisTarget(url: string): RedisTarget {
  const parsed = parseServerUrl(url, 'Redis', ['redis:', 'rediss:']);
  return {
    host: parsed.hostname || 'localhost',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    secret: safeDecode(parsed.password),
  };
}

export function describeTarget(t: RedisTarget): string {
  return `${t.host}:${t.port}`;
}

/**
 * Driver messages and Redis error prefixes meaning "no usable connection right now", as opposed to
 * a bad command. Case-sensitive: Redis error prefixes are upper case, and "loading" in a message is not LOADING.
 */
const UNAVAILABLE_MESSAGE = new RegExp(
  [
    "Stream isn't writeable",
    'Connection is closed',
    'Command timed out',
    'max retries per request',
    'NOAUTH',
    'WRONGPASS',
    'LOADING',
    'MASTERDOWN',
    'READONLY',
  ].join('|'),
);

/** True when `e` means the server cannot be used now (down, unreachable, timed out, not ready). */
function isRedisUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  const name = e instanceof Error ? e.name : '';
  const message = e instanceof Error ? e.message : String(e);
  return (
    (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) ||
    name === 'MaxRetriesPerRequestError' ||
    UNAVAILABLE_MESSAGE.test(message)
  );
}

export interface FailFastClientOptions {
  url: string;
  connectionName: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** See RedisStoreOptions.failFastAtInit. */
  failFastAtInit: boolean;
}

/** ioredis is imported here, on first use, so the embedded default never loads it. */
export async function loadRedisClass(): Promise<typeof import('ioredis').Redis | Error> {
  try {
    return (await import('ioredis')).Redis;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * A connected client that fails fast (see RedisStore's comment for why each option is set), or the
 * error of the first connection when `failFastAtInit` (the client is then disconnected). With
 * `failFastAtInit` false the client is returned whatever the first attempt gave, reconnecting in
 * the background.
 */
export async function connectFailFast(
  RedisClass: typeof import('ioredis').Redis,
  opts: FailFastClientOptions,
): Promise<Redis> {
  // Whether a lost connection is retried: after a first success always, before it only when the
  // caller can live without the store (failFastAtInit false).
  let established = !opts.failFastAtInit;
  const options: RedisOptions = {
    lazyConnect: true,
    connectionName: opts.connectionName,
    connectTimeout: opts.connectTimeoutMs,
    commandTimeout: opts.commandTimeoutMs,
    // After ending a socket ioredis waits this long for the server to close its side (default 2 s);
    // a hung server never does, and init() would wait on it.
    disconnectTimeout: 200,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A write replayed after a reconnect may land after a newer one; callers get an error and decide.
    autoResendUnfulfilledCommands: false,
    // No retry before the first success, so init() fails now; afterwards reconnect in the background.
    retryStrategy: (times) => (established ? Math.min(50 * 2 ** times, 2000) : null),
  };
  const client = new RedisClass(opts.url, options);
  // Without a listener ioredis prints every connection error; failures reach callers through commands.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    if (opts.failFastAtInit) {
      client.disconnect();
      throw e;
    }
    // The client is reconnecting already (retryStrategy); commands fail fast until it is ready.
  }
  established = true;
  return client;
}

/** QUIT, or drop the socket when the server is gone instead of waiting on QUIT. */
export async function quitClient(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** SCAN MATCH is a glob: escape its metacharacters so a prefix is matched literally. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** The codes a Redis-backed store answers with: when Redis cannot be reached, and otherwise. */
export interface RedisErrorCodes {
  readonly unavailable: ErrorCodeName;
  readonly error: ErrorCodeName;
}

/**
 * A Redis failure as the store's FerryError: message scrubbed of the password, host and port in
 * details. `unreachable`: a failure to connect, always the unavailable code (init); otherwise a
 * FerryError passes through and the error decides.
 */
export function redisError(
  e: unknown,
  target: RedisTarget,
  codes: RedisErrorCodes,
  unreachable = false,
): FerryError {
  if (!unreachable && e instanceof FerryError) return e;
  const message = scrubSecret(e instanceof Error ? e.message : String(e), target.secret);
  const details = { host: target.host, port: target.port };
  return unreachable || isRedisUnavailable(e)
    ? new FerryError(codes.unavailable, `cannot reach Redis at ${describeTarget(target)}: ${message}`, {
        details,
        cause: e,
      })
    : new FerryError(codes.error, `Redis error: ${message}`, { details, cause: e });
}
