import { ErrorCode, FerryError } from '../core/errors.js';
import { inputFingerprint } from '../model/input-fingerprint.js';
import type { Prediction, TextInput } from '../model/model.js';
import type { KeyValueEntry, KeyValueStore } from '../ports/key-value-store.js';

export interface PredictionCacheOptions {
  store: KeyValueStore;
  /** How long a cached prediction lives; omitted, the store's default applies. */
  ttlMs?: number;
  /**
   * Called with the error when a write fails (the write is dropped). Lookups report theirs in
   * `lookup()`'s result instead, so that the caller can count them per item.
   */
  onWriteError?: (error: unknown, entries: number) => void;
}

/** One lookup: the predictions found and how each item ended. */
export interface CacheLookup {
  /** One per input, in order; undefined when not answered from the cache. */
  predictions: (Prediction | undefined)[];
  hits: number;
  misses: number;
  /** Items whose lookup failed (store unreachable) or whose entry was unreadable. */
  errors: number;
}

export interface PredictionCacheStats {
  hits: number;
  misses: number;
  /** Store calls that failed (or returned unreadable entries) and were absorbed. */
  errors: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Remembers predictions by (model, resolved version, input).
 *
 * The key holds the version an alias resolved to, not the alias: when `production` moves from 3 to
 * 4, lookups start using version 4's keys and version 3's entries are simply never asked for again
 * (they age out by TTL, or go at once with `invalidateVersion`). No invalidation has to race the
 * alias move.
 *
 * The cache is an optimisation, so it never fails a prediction: a store error turns a lookup into
 * all misses and a write into a no-op, and is only counted in `errors`. Logging is the caller's
 * business (it can watch the counter); this class does not log.
 */
export class PredictionCache {
  private readonly store: KeyValueStore;
  private readonly ttlMs: number | undefined;
  private readonly onWriteError: PredictionCacheOptions['onWriteError'];
  private hitCount = 0;
  private missCount = 0;
  private errorCount = 0;

  constructor(opts: PredictionCacheOptions) {
    this.store = opts.store;
    this.ttlMs = opts.ttlMs;
    this.onWriteError = opts.onWriteError;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  get errors(): number {
    return this.errorCount;
  }

  stats(): PredictionCacheStats {
    return { hits: this.hitCount, misses: this.missCount, errors: this.errorCount };
  }

  /**
   * `pred:<model>:<version>:[<artifact>:]<inputFingerprint(input)>`. The artifact's sha256 (first 16
   * hex digits) keeps two registries that share one Redis (staging and production, or a registry
   * rebuilt from scratch) from serving each other's "version 1".
   */
  key(model: string, version: number, input: TextInput, artifact?: string): string {
    const artifactPart = artifact ? `${artifact.slice(0, 16)}:` : '';
    return `${versionPrefix(model, version)}${artifactPart}${inputFingerprint(input)}`;
  }

  /** One entry per input, in order; undefined for a miss. Never rejects. */
  async getMany(
    model: string,
    version: number,
    inputs: readonly TextInput[],
    artifact?: string,
  ): Promise<(Prediction | undefined)[]> {
    return (await this.lookup(model, version, inputs, artifact)).predictions;
  }

  /** getMany with the outcome of each item counted, for metrics. Never rejects. */
  async lookup(
    model: string,
    version: number,
    inputs: readonly TextInput[],
    artifact?: string,
  ): Promise<CacheLookup> {
    if (inputs.length === 0) return { predictions: [], hits: 0, misses: 0, errors: 0 };
    let raw: (Uint8Array | undefined)[];
    try {
      raw = await this.store.getMany(inputs.map((input) => this.key(model, version, input, artifact)));
    } catch {
      this.errorCount++;
      this.missCount += inputs.length;
      return { predictions: inputs.map(() => undefined), hits: 0, misses: 0, errors: inputs.length };
    }
    const result: CacheLookup = { predictions: [], hits: 0, misses: 0, errors: 0 };
    for (const bytes of raw) {
      const prediction = bytes === undefined ? undefined : this.decode(bytes);
      result.predictions.push(prediction);
      if (prediction !== undefined) {
        this.hitCount++;
        result.hits++;
      } else {
        this.missCount++;
        if (bytes === undefined) result.misses++;
        else result.errors++;
      }
    }
    return result;
  }

  /** Stores predictions[i] for inputs[i]. Store failures are absorbed and counted; never rejects for them. */
  async setMany(
    model: string,
    version: number,
    inputs: readonly TextInput[],
    predictions: readonly Prediction[],
    artifact?: string,
  ): Promise<void> {
    if (inputs.length !== predictions.length) {
      // A caller bug, not a cache failure: pairing the wrong prediction with an input would poison the cache.
      throw new FerryError(
        ErrorCode.INTERNAL,
        `PredictionCache.setMany got ${inputs.length} inputs but ${predictions.length} predictions`,
      );
    }
    if (inputs.length === 0) return;
    const entries: KeyValueEntry[] = inputs.map((input, i) => ({
      key: this.key(model, version, input, artifact),
      value: encode(predictions[i]!),
      ttlMs: this.ttlMs,
    }));
    try {
      await this.store.setMany(entries);
    } catch (e) {
      this.errorCount++;
      try {
        this.onWriteError?.(e, entries.length);
      } catch {
        // A failing report must not turn into a rejected write: callers do not await it.
      }
    }
  }

  /** Drops every cached prediction of one model version; returns how many went. Store errors propagate. */
  invalidateVersion(model: string, version: number): Promise<number> {
    return this.store.deletePrefix(versionPrefix(model, version));
  }

  /** Drops every cached prediction of every version of a model. Store errors propagate. */
  invalidateModel(model: string): Promise<number> {
    return this.store.deletePrefix(`pred:${model}:`);
  }

  /** An entry that is not a Prediction (corrupt, or written by another format) counts as a miss. */
  private decode(bytes: Uint8Array): Prediction | undefined {
    try {
      const value: unknown = JSON.parse(decoder.decode(bytes));
      if (isPrediction(value)) return value;
    } catch {
      // fall through: unreadable is treated like unshaped
    }
    this.errorCount++;
    return undefined;
  }
}

/** Only the Prediction fields: extra properties a model attached must not leak into the shared cache. */
function encode(p: Prediction): Uint8Array {
  return encoder.encode(JSON.stringify({ prediction: p.prediction, probabilities: p.probabilities }));
}

/** The trailing colon keeps version 1's prefix from also matching version 10. */
function versionPrefix(model: string, version: number): string {
  return `pred:${model}:${version}:`;
}

function isPrediction(value: unknown): value is Prediction {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { prediction?: unknown; probabilities?: unknown };
  return (
    typeof v.prediction === 'string' &&
    typeof v.probabilities === 'object' &&
    v.probabilities !== null &&
    !Array.isArray(v.probabilities) &&
    Object.values(v.probabilities).every((p) => typeof p === 'number')
  );
}
