import type { ChainableCommander, Redis } from 'ioredis';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type {
  OnlineFeatureRow,
  OnlineFeatureStore,
  OnlineWriteOptions,
  StoredOnlineFeatureRow,
} from '../../ports/online-feature-store.js';
import { checkRead, checkView, decodeValues, encodeRows } from '../online-rows.js';
import {
  connectFailFast,
  describeTarget,
  escapeGlob,
  loadRedisClass,
  parseRedisTarget,
  quitClient,
  type RedisErrorCodes,
  type RedisTarget,
  redisError,
} from './redis-connection.js';

const CODES: RedisErrorCodes = { unavailable: ErrorCode.FEATURES_UNAVAILABLE, error: ErrorCode.DB_ERROR };
export interface RedisOnlineStoreOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. */
  url: string;
  /** Put verbatim in front of every key; end it with a separator. Default `ferry:`. */
  prefix?: string;
  /** How long init() waits for the TCP/TLS connection. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** How long any command may take before it fails with FEATURES_UNAVAILABLE. Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Shown by CLIENT LIST. Default `ferry-features`. */
  connectionName?: string;
  /** As RedisStoreOptions.failFastAtInit: false lets init() succeed while Redis is down. Default true. */
  failFastAtInit?: boolean;
  /** The writer's clock (`writtenAtMs`); tests pass a manual one. */
  clock?: () => number;
}

/**
 * One row: KEYS[1] the (view, entity) hash; ARGV event time, written-at, values JSON, and the
 * absolute expiry in ms ('' for none). Newer event time wins, equal replaces: the comparison and
 * the write are one atomic step, so concurrent writers converge on the newest row. Lua numbers
 * are doubles, exact for every safe-integer millisecond.
 */
const WRITE_SCRIPT = `
local stored = redis.call('HGET', KEYS[1], 't')
if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 't', ARGV[1], 'w', ARGV[2], 'v', ARGV[3])
if ARGV[4] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], ARGV[4]) end
return 1
`;

/** Every key's t, w, v in one reply: one command however many keys (a pipeline costs one per key). */
const READ_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HMGET', key, 't', 'w', 'v') end
return out
`;

/** Commands per pipeline (writes) and keys per read script; longer calls take several round trips. */
const WRITE_BATCH = 1000;
const READ_BATCH = 1000;
const SCAN_BATCH = 500;

type Fields = [string | null, string | null, string | null];

interface OnlineCommands {
  ferryOnlineWrite(key: string, t: number, w: number, v: string, expireAt: string): Promise<number>;
  ferryOnlineRead(...args: [number, ...string[]]): Promise<Fields[]>;
}
type OnlineRedis = Redis & OnlineCommands;
type OnlinePipeline = ChainableCommander & {
  ferryOnlineWrite(key: string, t: number, w: number, v: string, expireAt: string): ChainableCommander;
};

/**
 * The online feature store on Redis: one hash per (view, entity), `<prefix>of:<view>:<entityKey>`,
 * with fields `t` (event time ms), `w` (written at ms) and `v` (values JSON). Writes go through a
 * Lua script (EVALSHA, EVAL on a fresh connection) pipelined in order, so rows of one call with the
 * same key apply in order; each row is atomic, a call is not (a failure midway leaves the rows
 * before it written). `expireAfterMs` sets PEXPIREAT at event time + expireAfterMs. Reads are one
 * script call per READ_BATCH keys.
 *
 * Fail fast, as the key-value store (see RedisStore): no offline queue, no retries of commands in
 * flight, a command timeout, so a dead Redis answers FEATURES_UNAVAILABLE at once and the client
 * reconnects in the background. deleteView uses SCAN + UNLINK: not atomic, a single node only.
 */
export class RedisOnlineStore implements OnlineFeatureStore {
  readonly prefix: string;
  private readonly url: string;
  private readonly target: RedisTarget;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly connectionName: string;
  private readonly failFastAtInit: boolean;
  private readonly clock: () => number;
  private client: OnlineRedis | undefined;
  private opening: Promise<void> | undefined;

  constructor(opts: RedisOnlineStoreOptions) {
    const prefix = opts.prefix ?? 'ferry:';
    if (typeof prefix !== 'string' || prefix === '') {
      throw new FerryError(ErrorCode.CONFIG_INVALID, 'RedisOnlineStore needs a non-empty key prefix');
    }
    this.url = opts.url;
    this.target = parseRedisTarget(opts.url);
    this.prefix = prefix;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 1000;
    this.connectionName = opts.connectionName ?? 'ferry-features';
    this.failFastAtInit = opts.failFastAtInit ?? true;
    this.clock = opts.clock ?? Date.now;
  }

  init(): Promise<void> {
    if (this.client !== undefined) return Promise.resolve();
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  async writeMany(rows: readonly OnlineFeatureRow[], opts: OnlineWriteOptions = {}): Promise<number> {
    const encoded = encodeRows(rows);
    const expireAfterMs = opts.expireAfterMs;
    if (expireAfterMs !== undefined && !(Number.isFinite(expireAfterMs) && expireAfterMs > 0)) {
      throw new FerryError(ErrorCode.FEATURES_INVALID_REQUEST, 'expireAfterMs must be a positive number', {
        details: { expireAfterMs },
      });
    }
    const client = this.connected();
    if (encoded.length === 0) return 0;
    const writtenAtMs = this.clock();
    let applied = 0;
    for (let start = 0; start < encoded.length; start += WRITE_BATCH) {
      const batch = encoded.slice(start, start + WRITE_BATCH);
      const results = await this.run(() => {
        const pipeline = client.pipeline() as OnlinePipeline;
        for (const row of batch) {
          const expireAt =
            expireAfterMs === undefined ? '' : String(Math.ceil(row.eventTimeMs + expireAfterMs));
          pipeline.ferryOnlineWrite(
            this.keyOf(row.view, row.entityKey),
            row.eventTimeMs,
            writtenAtMs,
            row.valuesJson,
            expireAt,
          );
        }
        return pipeline.exec();
      });
      for (const [error, result] of results ?? []) {
        if (error) throw this.commandError(error);
        applied += Number(result);
      }
    }
    return applied;
  }

  async readMany(
    view: string,
    entityKeys: readonly string[],
  ): Promise<(StoredOnlineFeatureRow | undefined)[]> {
    checkRead(view, entityKeys);
    const client = this.connected();
    const out: (StoredOnlineFeatureRow | undefined)[] = new Array(entityKeys.length);
    for (let start = 0; start < entityKeys.length; start += READ_BATCH) {
      const keys = entityKeys.slice(start, start + READ_BATCH);
      const redisKeys = keys.map((k) => this.keyOf(view, k));
      const replies: Fields[] = await this.run(async () =>
        redisKeys.length === 1
          ? [(await client.hmget(redisKeys[0]!, 't', 'w', 'v')) as Fields]
          : client.ferryOnlineRead(redisKeys.length, ...redisKeys),
      );
      for (let i = 0; i < keys.length; i++) {
        out[start + i] = this.rowOf(view, keys[i]!, replies[i]);
      }
    }
    return out;
  }

  async deleteView(view: string): Promise<number> {
    checkView(view);
    const client = this.connected();
    const pattern = `${escapeGlob(this.keyOf(view, ''))}*`;
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
    if (client !== undefined) await quitClient(client);
  }

  private keyOf(view: string, entityKey: string): string {
    return `${this.prefix}of:${view}:${entityKey}`;
  }

  private rowOf(
    view: string,
    entityKey: string,
    fields: Fields | undefined,
  ): StoredOnlineFeatureRow | undefined {
    const [t, w, v] = fields ?? [null, null, null];
    if (t === null || v === null) return undefined;
    return {
      view,
      entityKey,
      eventTimeMs: Number(t),
      writtenAtMs: Number(w),
      values: decodeValues(v, view, entityKey),
    };
  }

  private async open(): Promise<void> {
    const RedisClass = await loadRedisClass();
    if (RedisClass instanceof Error) {
      throw new FerryError(
        ErrorCode.FEATURES_UNAVAILABLE,
        'the "ioredis" package is needed for redis:// URLs: npm install ioredis',
        { cause: RedisClass },
      );
    }
    let client: Redis;
    try {
      client = await connectFailFast(RedisClass, {
        url: this.url,
        connectionName: this.connectionName,
        connectTimeoutMs: this.connectTimeoutMs,
        commandTimeoutMs: this.commandTimeoutMs,
        failFastAtInit: this.failFastAtInit,
      });
    } catch (e) {
      throw this.unavailable(e);
    }
    client.defineCommand('ferryOnlineWrite', { numberOfKeys: 1, lua: WRITE_SCRIPT });
    // numberOfKeys is given per call (the first argument): a read names as many keys as it asks for.
    client.defineCommand('ferryOnlineRead', { lua: READ_SCRIPT, readOnly: true });
    this.client = client as OnlineRedis;
  }

  private connected(): OnlineRedis {
    if (this.client === undefined) {
      throw new FerryError(
        ErrorCode.FEATURES_UNAVAILABLE,
        `the Redis online store at ${describeTarget(this.target)} is not open: call init() first (or it was closed)`,
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

  private commandError(e: unknown): FerryError {
    return redisError(e, this.target, CODES);
  }

  private unavailable(e: unknown): FerryError {
    return redisError(e, this.target, CODES, true);
  }
}
