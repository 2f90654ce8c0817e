import { fileURLToPath } from 'node:url';
import { ErrorCode, FerryError } from '../core/errors.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { EventStream } from '../ports/event-stream.js';
import type { KeyValueStore } from '../ports/key-value-store.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
import type { SqlClient } from '../ports/sql.js';
import { FsBlobStore } from './fs/fs-blob-store.js';
import { MemoryBlobStore } from './memory/memory-blob-store.js';
import { MemoryLruStore } from './memory/memory-lru-store.js';
import { JetStreamEventStream } from './nats/jetstream-event-stream.js';
import { PostgresClient } from './postgres/postgres-client.js';
import { RedisOnlineStore } from './redis/redis-online-store.js';
import { RedisStore } from './redis/redis-store.js';
import { parseServerUrl } from './server-url.js';
import { SqlOnlineStore } from './sql/sql-online-store.js';
import { SqliteClient } from './sqlite/sqlite-client.js';
import { SqliteEventLog } from './sqlite/sqlite-event-log.js';

export interface OpenSqlClientOptions {
  /** SQLite only. */
  busyTimeoutMs?: number;
  /** PostgreSQL only; wins over `?schema=` in the URL. */
  schema?: string;
  maxConnections?: number;
  connectTimeoutMs?: number;
  lockTimeoutMs?: number;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Picks the SQL adapter from a URL: `sqlite:<path>`, `sqlite::memory:`, `:memory:` or a bare path
 * → SQLite; `postgres://` / `postgresql://` (optional `?schema=`) → PostgreSQL. Not initialised.
 */
export function openSqlClient(url: string, opts: OpenSqlClientOptions = {}): SqlClient {
  const trimmed = url.trim();
  if (trimmed === ':memory:') return sqlite(':memory:', opts);
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (trimmed === '') throw invalid(url, 'the database URL is empty');
    return sqlite(trimmed, opts);
  }
  if (scheme === 'sqlite') {
    // sqlite:///abs/path is the URL spelling of /abs/path; sqlite:rel/path is relative.
    const path = trimmed.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw invalid(url, 'sqlite: needs a path, e.g. sqlite:./.ferry/ferry.db');
    return sqlite(path, opts);
  }
  if (scheme === 'postgres' || scheme === 'postgresql') return postgres(trimmed, opts);
  throw invalid(url, `unsupported database URL scheme "${scheme}:"; use sqlite:<path> or postgres://…`);
}

/**
 * The file of a SQLite database URL (as openSqlClient reads it), or undefined for PostgreSQL and
 * in-memory databases: a file a command must not overwrite with its output.
 */
export function sqliteFileOf(url: string): string | undefined {
  const trimmed = url.trim();
  if (trimmed === '' || trimmed === ':memory:') return undefined;
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return trimmed;
  if (scheme !== 'sqlite') return undefined;
  const path = trimmed.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  return path === '' || path === ':memory:' ? undefined : path;
}

/** Picks the blob store from a URL: `file:<dir>` or a plain directory → files, `memory:` → in memory. */
export function openBlobStore(url: string): BlobStore {
  const trimmed = url.trim();
  if (trimmed === '') throw invalid(url, 'the blob store URL is empty');
  if (trimmed === 'memory:') return new MemoryBlobStore();
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FsBlobStore(trimmed);
  if (scheme === 'file') {
    const dir = trimmed.startsWith('file://') ? fileURLToPath(trimmed) : trimmed.slice('file:'.length);
    if (dir === '') throw invalid(url, 'file: needs a directory, e.g. file:./.ferry/blobs');
    return new FsBlobStore(dir);
  }
  throw invalid(url, `unsupported blob store URL scheme "${scheme}:"; use file:<dir> or memory:`);
}

export interface OpenKeyValueStoreOptions {
  /** Redis only: put in front of every key. Default `ferry:`. */
  prefix?: string;
  /** memory: only. */
  maxEntries?: number;
  /** memory: only: key + value bytes. */
  maxBytes?: number;
  /** TTL for entries set without one, on either backend. */
  defaultTtlMs?: number;
  /** Redis only: false lets init() succeed while the server is down (see RedisStoreOptions). */
  failFastAtInit?: boolean;
}

/**
 * Picks the key-value store from a URL: `memory:` → bounded in-process LRU,
 * `redis://` / `rediss://` → Redis. Not initialised.
 */
export function openKeyValueStore(url: string, opts: OpenKeyValueStoreOptions = {}): KeyValueStore {
  const trimmed = url.trim();
  if (trimmed === '') throw invalid(url, 'the key-value store URL is empty');
  if (trimmed === 'memory:') {
    return new MemoryLruStore({
      maxEntries: opts.maxEntries,
      maxBytes: opts.maxBytes,
      defaultTtlMs: opts.defaultTtlMs,
    });
  }
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    return new RedisStore({
      url: trimmed,
      prefix: opts.prefix ?? 'ferry:',
      defaultTtlMs: opts.defaultTtlMs,
      failFastAtInit: opts.failFastAtInit,
    });
  }
  const what =
    scheme === undefined
      ? 'a key-value store URL needs a scheme'
      : `unsupported key-value store URL scheme "${scheme}:"`;
  throw invalid(url, `${what}; use memory: or redis://…`);
}

export interface OpenEventStreamOptions {
  /** Embedded log only: how long a write waits for another process's lock. */
  busyTimeoutMs?: number;
  /** NATS only: how long init() waits for the first connection. */
  connectTimeoutMs?: number;
  /** NATS only: the bound on every call to the server. */
  requestTimeoutMs?: number;
  /** The longest pause between two looks while a fetch waits. */
  maxPollMs?: number;
}

/**
 * Picks the stream transport from a URL (`FERRY_STREAM_URL`): `sqlite:<path>` (or
 * `sqlite:///abs/path`, `sqlite::memory:`) → the embedded log, `nats://host:port` → NATS JetStream.
 * Not initialised.
 */
export function openEventStream(url: string, opts: OpenEventStreamOptions = {}): EventStream {
  const trimmed = url.trim();
  if (trimmed === '') throw invalid(url, 'the stream URL is empty');
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const path = trimmed.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw invalid(url, 'sqlite: needs a path, e.g. sqlite:./.ferry/streams.db');
    return new SqliteEventLog({ path, busyTimeoutMs: opts.busyTimeoutMs, maxPollMs: opts.maxPollMs });
  }
  if (scheme === 'nats') {
    return new JetStreamEventStream({
      url: trimmed,
      connectTimeoutMs: opts.connectTimeoutMs,
      requestTimeoutMs: opts.requestTimeoutMs,
      maxPollMs: opts.maxPollMs,
    });
  }
  const what =
    scheme === undefined ? 'a stream URL needs a scheme' : `unsupported stream URL scheme "${scheme}:"`;
  throw invalid(url, `${what}; use sqlite:<path> or nats://host:4222`);
}

export interface OpenOnlineStoreOptions {
  /** Redis only: put in front of every key. Default `ferry:`. */
  prefix?: string;
  /** Redis only: false lets init() succeed while the server is down. Default true. */
  failFastAtInit?: boolean;
  /** How long a call may wait: Redis per command (default 1000 ms), PostgreSQL per call (2000 ms). */
  commandTimeoutMs?: number;
  /** PostgreSQL: wins over `?schema=` in the URL. */
  schema?: string;
  /** How long the first connection may take: Redis default 2000 ms, PostgreSQL 2000 ms here. */
  connectTimeoutMs?: number;
  /** SQLite and PostgreSQL: passed to openSqlClient. */
  busyTimeoutMs?: number;
  maxConnections?: number;
}

/**
 * Picks the online feature store from a URL (`FERRY_ONLINE_STORE`): `sqlite:<path>` or
 * `postgres://…` → the table store over its own SqlClient (opened by init(), closed by close()),
 * `redis://` / `rediss://` → Redis. Not initialised.
 */
export function openOnlineStore(url: string, opts: OpenOnlineStoreOptions = {}): OnlineFeatureStore {
  const trimmed = url.trim();
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    return new RedisOnlineStore({
      url: trimmed,
      prefix: opts.prefix,
      failFastAtInit: opts.failFastAtInit,
      commandTimeoutMs: opts.commandTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
    });
  }
  if (scheme === 'sqlite' || scheme === 'postgres' || scheme === 'postgresql') {
    const sql = openSqlClient(trimmed, {
      schema: opts.schema,
      busyTimeoutMs: opts.busyTimeoutMs,
      maxConnections: opts.maxConnections,
      // A feature read waits on the pool's connection at worst this long, not pg's 10 s default.
      connectTimeoutMs: opts.connectTimeoutMs ?? 2000,
    });
    // SQLite calls do not wait on a network; a PostgreSQL server that stops answering must not hang a read.
    const callTimeoutMs = sql.dialect === 'postgres' ? (opts.commandTimeoutMs ?? 2000) : undefined;
    return new SqlOnlineStore({ sql, ownsClient: true, callTimeoutMs });
  }
  const what =
    scheme === undefined
      ? 'an online feature store URL needs a scheme'
      : `unsupported online feature store URL scheme "${scheme}:"`;
  throw invalid(url, `${what}; use sqlite:<path>, postgres://… or redis://…`);
}

function sqlite(path: string, opts: OpenSqlClientOptions): SqliteClient {
  return new SqliteClient({ path, busyTimeoutMs: opts.busyTimeoutMs });
}

function postgres(url: string, opts: OpenSqlClientOptions): PostgresClient {
  const parsed = parseServerUrl(url, 'PostgreSQL', ['postgres:', 'postgresql:']);
  const schema = opts.schema ?? parsed.searchParams.get('schema') ?? undefined;
  // `schema` is Ferry's parameter, not libpq's: keep it away from the driver.
  parsed.searchParams.delete('schema');
  return new PostgresClient({
    url: parsed.toString(),
    schema,
    maxConnections: opts.maxConnections,
    connectTimeoutMs: opts.connectTimeoutMs,
    lockTimeoutMs: opts.lockTimeoutMs,
  });
}

/** Reports a bad URL without echoing it whole: it may hold a password. */
function invalid(url: string, reason: string): FerryError {
  return new FerryError(ErrorCode.CONFIG_INVALID, reason, {
    details: { scheme: SCHEME.exec(url.trim())?.[1] ?? null },
  });
}
