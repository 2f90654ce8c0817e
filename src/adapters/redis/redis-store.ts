import type { Redis } from 'ioredis';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { KeyValueEntry, KeyValueSetOptions, KeyValueStore } from '../../ports/key-value-store.js';
import {
  connectFailFast,
  describeTarget as describe,
  escapeGlob,
  loadRedisClass,
  parseRedisTarget as parseRedisUrl,
  quitClient,
  type RedisErrorCodes,
  type RedisTarget,
  redisError,
} from './redis-connection.js';

const CODES: RedisErrorCodes = { unavailable: ErrorCode.KV_UNAVAILABLE, error: ErrorCode.KV_ERROR };
export interface RedisStoreOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. */
  url: string;
  /**
   * Put verbatim in front of every key, so end it with a separator (`ferry:`): the prefixes `a` and
   * `ab` would overlap. Stores sharing a prefix share entries, which is how replicas share a cache.
   */
  prefix: string;
  /** TTL for entries set without one; default none. */
  defaultTtlMs?: number;
  /** How long init() waits for the TCP/TLS connection. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** How long any command may take before it fails with FERRY_KV_UNAVAILABLE. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** Shown by CLIENT LIST, so operators can tell Ferry's connections apart. Default `ferry`. */
  connectionName?: string;
  /**
   * True (default): init() rejects when the first connection fails. False: init() resolves after the
   * first attempt whatever its outcome and the client keeps reconnecting in the background, so a
   * caller for which the store is optional (the prediction cache) starts while Redis is down;
   * commands fail with FERRY_KV_UNAVAILABLE until it is back.
   */
  failFastAtInit?: boolean;
}

const SCAN_BATCH = 500;
/**
 * KeyValueStore over Redis (ioredis, imported in init() so the embedded default never loads it).
 *
 * Fail fast, by choice: a cache that stalls is worse than no cache, so a dead Redis must cost a
 * request milliseconds, not the client's default of queueing commands until the server returns.
 * Hence: the first connection is not retried (init() rejects at once); after that the client does
 * reconnect in the background, but `enableOfflineQueue: false` rejects commands issued while it is
 * down instead of parking them, `maxRetriesPerRequest: 0` rejects those in flight the moment the
 * link drops (with 1 or more, and resending off, ioredis drops them silently and they wait for the
 * timeout), and `commandTimeout` bounds a server that hangs without closing the socket (init() included,
 * since the handshake commands are commands too). Callers
 * such as the prediction cache treat FERRY_KV_UNAVAILABLE as a miss and carry on.
 *
 * deletePrefix uses SCAN + UNLINK, so it is not atomic and only covers a single node (no Cluster).
 */
export class RedisStore implements KeyValueStore {
  readonly prefix: string;
  readonly defaultTtlMs: number | undefined;
  private readonly url: string;
  private readonly target: RedisTarget;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly connectionName: string;
  private readonly failFastAtInit: boolean;
  private client: Redis | undefined;
  private opening: Promise<void> | undefined;

  constructor(opts: RedisStoreOptions) {
    if (typeof opts.prefix !== 'string' || opts.prefix === '') {
      // An empty prefix would make deletePrefix('') wipe the whole database.
      throw new FerryError(
        ErrorCode.CONFIG_INVALID,
        'RedisStore needs a non-empty key prefix, e.g. "ferry:"',
      );
    }
    if (opts.defaultTtlMs !== undefined && !isValidTtl(opts.defaultTtlMs)) {
      throw new FerryError(
        ErrorCode.CONFIG_INVALID,
        'defaultTtlMs must be a positive number of milliseconds',
        {
          details: { defaultTtlMs: opts.defaultTtlMs },
        },
      );
    }
    this.url = opts.url;
    this.target = parseRedisUrl(opts.url);
    this.prefix = opts.prefix;
    this.defaultTtlMs = opts.defaultTtlMs;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 2000;
    this.connectionName = opts.connectionName ?? 'ferry';
    this.failFastAtInit = opts.failFastAtInit ?? true;
  }

  init(): Promise<void> {
    if (this.client !== undefined) return Promise.resolve();
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const client = this.connected();
    const value = await this.run(() => client.getBuffer(this.prefix + key));
    return value === null ? undefined : copy(value);
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const client = this.connected();
    if (keys.length === 0) return []; // MGET with no keys is a syntax error
    const values = await this.run(() => client.mgetBuffer(keys.map((k) => this.prefix + k)));
    return values.map((v) => (v === null ? undefined : copy(v)));
  }

  async set(key: string, value: Uint8Array, opts: KeyValueSetOptions = {}): Promise<void> {
    const client = this.connected();
    const ttl = this.ttlFor(key, opts.ttlMs);
    const k = this.prefix + key;
    const v = asBuffer(value);
    await this.run(() => (ttl === undefined ? client.set(k, v) : client.set(k, v, 'PX', ttl)));
  }

  async setMany(entries: readonly KeyValueEntry[]): Promise<void> {
    const client = this.connected();
    // Validate all first so one bad TTL sends nothing.
    const prepared = entries.map((e) => ({
      k: this.prefix + e.key,
      v: asBuffer(e.value),
      ttl: this.ttlFor(e.key, e.ttlMs),
    }));
    if (prepared.length === 0) return;
    const results = await this.run(() => {
      const pipeline = client.pipeline();
      for (const { k, v, ttl } of prepared) {
        if (ttl === undefined) pipeline.set(k, v);
        else pipeline.set(k, v, 'PX', ttl);
      }
      return pipeline.exec();
    });
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (failed) throw this.commandError(failed);
  }

  async delete(key: string): Promise<boolean> {
    const client = this.connected();
    return (await this.run(() => client.unlink(this.prefix + key))) > 0;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const client = this.connected();
    const pattern = `${escapeGlob(this.prefix + prefix)}*`;
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await this.run(() =>
        client.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH),
      );
      cursor = next.toString();
      // UNLINK counts only keys it removed, so a key SCAN reports twice is not counted twice.
      if (keys.length > 0) removed += await this.run(() => client.unlink(...keys));
    } while (cursor !== '0');
    return removed;
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    await quitClient(client);
  }

  private async open(): Promise<void> {
    const RedisClass = await loadRedisClass();
    if (RedisClass instanceof Error) {
      throw new FerryError(
        ErrorCode.KV_UNAVAILABLE,
        'the "ioredis" package is needed for redis:// URLs: npm install ioredis',
        { cause: RedisClass },
      );
    }
    try {
      this.client = await connectFailFast(RedisClass, {
        url: this.url,
        connectionName: this.connectionName,
        connectTimeoutMs: this.connectTimeoutMs,
        commandTimeoutMs: this.commandTimeoutMs,
        failFastAtInit: this.failFastAtInit,
      });
    } catch (e) {
      throw this.unavailable(e);
    }
  }

  private connected(): Redis {
    if (this.client === undefined) {
      throw new FerryError(
        ErrorCode.KV_UNAVAILABLE,
        `the Redis store at ${describe(this.target)} is not open: call init() first (or it was closed)`,
        { details: { host: this.target.host, port: this.target.port } },
      );
    }
    return this.client;
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (e) {
      throw this.commandError(e);
    }
  }

  private ttlFor(key: string, ttlMs: number | undefined): number | undefined {
    const ttl = ttlMs ?? this.defaultTtlMs;
    if (ttl === undefined) return undefined;
    if (!isValidTtl(ttl)) {
      throw new FerryError(
        ErrorCode.KV_INVALID_TTL,
        'ttlMs must be a positive finite number of milliseconds',
        {
          details: { key, ttlMs: ttl },
        },
      );
    }
    return Math.ceil(ttl); // PX takes whole milliseconds
  }

  private commandError(e: unknown): FerryError {
    return redisError(e, this.target, CODES);
  }

  private unavailable(e: unknown): FerryError {
    return redisError(e, this.target, CODES, true);
  }
}

function isValidTtl(ttlMs: number): boolean {
  return typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0;
}

/** A copy: the socket may still hold the chunk after the call returns, and callers may reuse their array. */
function asBuffer(value: Uint8Array): Buffer {
  return Buffer.from(value);
}

/** A plain Uint8Array copy: the same type other stores return, and no view pinning a socket chunk. */
function copy(value: Buffer): Uint8Array {
  return new Uint8Array(value);
}
