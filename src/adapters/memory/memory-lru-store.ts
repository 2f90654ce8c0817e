import { ErrorCode, FerryError } from '../../core/errors.js';
import type { KeyValueEntry, KeyValueSetOptions, KeyValueStore } from '../../ports/key-value-store.js';

export interface MemoryLruStoreOptions {
  /** Most entries kept before the least recently used goes. Default 10 000. */
  maxEntries?: number;
  /** Most key (UTF-8) + value bytes kept before the least recently used goes. Default 64 MiB. */
  maxBytes?: number;
  /** TTL for entries set without one; default none (entries live until evicted). */
  defaultTtlMs?: number;
  /** Milliseconds since some epoch; injectable so tests move time by hand. */
  now?: () => number;
}

export interface MemoryLruStats {
  entries: number;
  bytes: number;
  /** Entries pushed out to respect maxEntries / maxBytes. */
  evictions: number;
  /** Entries dropped because their TTL had passed. */
  expirations: number;
}

interface Slot {
  value: Uint8Array;
  size: number;
  /** Infinity when the entry never expires. */
  expiresAt: number;
}

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * A bounded in-process KeyValueStore with least-recently-used eviction.
 *
 * A Map iterates in insertion order, so deleting and re-inserting a key on every touch keeps the
 * least recently used key first: eviction is O(1) with no linked list to maintain. Expired entries
 * are dropped when touched (or by `prune()`), not by a timer, so the store holds no handle that
 * would keep a process alive; until then they still count in `stats()` and are first in line
 * for eviction anyway, because nobody has touched them.
 */
export class MemoryLruStore implements KeyValueStore {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly defaultTtlMs: number | undefined;
  private readonly now: () => number;
  private readonly slots = new Map<string, Slot>();
  /** The most recently used slot (the map's last entry), while it is in the map. */
  private newest: Slot | undefined;
  private bytes = 0;
  private evictions = 0;
  private expirations = 0;

  constructor(opts: MemoryLruStoreOptions = {}) {
    this.maxEntries = positiveInteger('maxEntries', opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.maxBytes = positiveInteger('maxBytes', opts.maxBytes ?? DEFAULT_MAX_BYTES);
    if (opts.defaultTtlMs !== undefined && !isValidTtl(opts.defaultTtlMs)) {
      throw new FerryError(
        ErrorCode.CONFIG_INVALID,
        'defaultTtlMs must be a positive number of milliseconds',
        {
          details: { defaultTtlMs: opts.defaultTtlMs },
        },
      );
    }
    this.defaultTtlMs = opts.defaultTtlMs;
    this.now = opts.now ?? Date.now;
  }

  async init(): Promise<void> {}

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.read(key, this.now());
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const now = this.now();
    return keys.map((key) => this.read(key, now));
  }

  async set(key: string, value: Uint8Array, opts: KeyValueSetOptions = {}): Promise<void> {
    this.write([this.prepare({ key, value, ttlMs: opts.ttlMs })], this.now());
  }

  async setMany(entries: readonly KeyValueEntry[]): Promise<void> {
    // Validate all first so one bad entry leaves the store untouched.
    const prepared = entries.map((e) => this.prepare(e));
    this.write(prepared, this.now());
  }

  async delete(key: string): Promise<boolean> {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    const live = slot.expiresAt > this.now();
    this.remove(key, slot);
    if (!live) this.expirations++;
    return live;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const now = this.now();
    let removed = 0;
    for (const [key, slot] of this.slots) {
      if (!key.startsWith(prefix)) continue;
      this.remove(key, slot);
      if (slot.expiresAt > now) removed++;
      else this.expirations++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.slots.clear();
    this.newest = undefined;
    this.bytes = 0;
  }

  /** Drops every expired entry now; returns how many went. O(entries): for housekeeping, not per request. */
  prune(): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, slot] of this.slots) {
      if (slot.expiresAt > now) continue;
      this.remove(key, slot);
      dropped++;
    }
    this.expirations += dropped;
    return dropped;
  }

  stats(): MemoryLruStats {
    return {
      entries: this.slots.size,
      bytes: this.bytes,
      evictions: this.evictions,
      expirations: this.expirations,
    };
  }

  private read(key: string, now: number): Uint8Array | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= now) {
      this.remove(key, slot);
      this.expirations++;
      return undefined;
    }
    // Re-insertion moves the key to the most-recently-used end; a popular input read again and
    // again is there already, and its key is then not hashed twice more per read.
    if (slot !== this.newest) {
      this.slots.delete(key);
      this.slots.set(key, slot);
      this.newest = slot;
    }
    return slot.value.slice();
  }

  private prepare(entry: KeyValueEntry): { key: string; slot: Omit<Slot, 'expiresAt'>; ttlMs: number } {
    const ttlMs = entry.ttlMs ?? this.defaultTtlMs;
    if (ttlMs !== undefined && !isValidTtl(ttlMs)) {
      throw new FerryError(
        ErrorCode.KV_INVALID_TTL,
        'ttlMs must be a positive finite number of milliseconds',
        {
          details: { key: entry.key, ttlMs },
        },
      );
    }
    const size = Buffer.byteLength(entry.key, 'utf8') + entry.value.byteLength;
    if (size > this.maxBytes) {
      // Storing it would evict everything else and still not fit: refuse rather than thrash.
      throw new FerryError(
        ErrorCode.KV_VALUE_TOO_LARGE,
        `entry of ${size} bytes exceeds the store's maxBytes of ${this.maxBytes}`,
        { details: { key: entry.key, size, maxBytes: this.maxBytes } },
      );
    }
    return {
      key: entry.key,
      slot: { value: entry.value.slice(), size },
      ttlMs: ttlMs === undefined ? Number.POSITIVE_INFINITY : Math.ceil(ttlMs),
    };
  }

  private write(prepared: readonly ReturnType<MemoryLruStore['prepare']>[], now: number): void {
    for (const { key, slot, ttlMs } of prepared) {
      const old = this.slots.get(key);
      if (old !== undefined) this.remove(key, old);
      const fresh = { ...slot, expiresAt: now + ttlMs };
      this.slots.set(key, fresh);
      this.newest = fresh;
      this.bytes += slot.size;
      this.evictFor(key, now);
    }
  }

  /** Evicts least recently used entries, never `keep` (the one just written), until within bounds. */
  private evictFor(keep: string, now: number): void {
    while (this.slots.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.slots.entries().next();
      if (oldest.done || oldest.value[0] === keep) return;
      const [key, slot] = oldest.value;
      this.remove(key, slot);
      // An entry that had already expired was not pushed out by pressure: keep the two counts honest.
      if (slot.expiresAt > now) this.evictions++;
      else this.expirations++;
    }
  }

  private remove(key: string, slot: Slot): void {
    this.slots.delete(key);
    if (slot === this.newest) this.newest = undefined;
    this.bytes -= slot.size;
  }
}

function isValidTtl(ttlMs: number): boolean {
  return typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new FerryError(ErrorCode.CONFIG_INVALID, `${name} must be a positive integer`, {
      details: { [name]: value },
    });
  }
  return value;
}
