/**
 * A key-value store with per-entry expiry: the prediction cache and the online feature store sit on it.
 *
 * Values are raw bytes, not objects, so the caller owns the codec (JSON, MessagePack, typed arrays…)
 * and every backend stores exactly what it was given: no adapter guesses at serialisation, and a
 * value written by one replica reads back identically on another. Implementations copy on the way
 * in and out, so callers may mutate arrays they passed or received.
 *
 * Keys are arbitrary Unicode strings (compared as exact strings, stored as UTF-8). Each adapter
 * confines its keys to its own namespace, so `deletePrefix('')` clears that namespace only.
 *
 * Errors are FerryErrors: `FERRY_KV_UNAVAILABLE` (503) when the backend cannot be reached,
 * `FERRY_KV_INVALID_TTL` for a TTL that is not a positive finite number of milliseconds,
 * `FERRY_KV_VALUE_TOO_LARGE` when a bounded store cannot hold the entry at all, `FERRY_KV_ERROR` otherwise.
 */
export interface KeyValueEntry {
  key: string;
  value: Uint8Array;
  /** Time to live in milliseconds; fractions round up. Omitted: the store's default (possibly none). */
  ttlMs?: number;
}

export interface KeyValueSetOptions {
  /** Time to live in milliseconds; fractions round up. Omitted: the store's default (possibly none). */
  ttlMs?: number;
}

export interface KeyValueStore {
  /** Opens connections. Safe to call twice; the constructor does no I/O. */
  init(): Promise<void>;
  /** The value, or undefined when the key is missing or expired. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** One result per key, in the order of `keys`, undefined for each miss. */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]>;
  /** Stores (or replaces) the value; replacing also resets the TTL. */
  set(key: string, value: Uint8Array, opts?: KeyValueSetOptions): Promise<void>;
  /** Stores every entry; not atomic across entries, but all are validated before any is written. */
  setMany(entries: readonly KeyValueEntry[]): Promise<void>;
  /** True when a live entry was removed. */
  delete(key: string): Promise<boolean>;
  /** Removes every key starting with `prefix` (literally, no glob); returns how many live ones went. */
  deletePrefix(prefix: string): Promise<number>;
  /** Releases connections. Further calls fail (server stores) or find the store empty (memory). */
  close(): Promise<void>;
}
