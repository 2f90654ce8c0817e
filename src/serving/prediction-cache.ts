import { ErrorCode, FerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { inputFingerprint } from '../model/input-fingerprint.js';
import type { Prediction, TextInput } from '../model/model.js';
import { canonicalTensors, type NamedTensors } from '../model/tensor.js';
import type { KeyValueEntry, KeyValueStore } from '../ports/key-value-store.js';

/** How one kind of item is keyed and its answer stored. */
export interface CacheCodec<I, O> {
  /** A digest of the input: equal inputs, equal text. */
  fingerprint(input: I): string;
  encode(output: O): Uint8Array;
  /** The answer, or undefined for an entry of another shape (then a miss, counted as an error). */
  decode(value: unknown): O | undefined;
}

export interface PredictionCacheOptions<I = TextInput, O = Prediction> {
  store: KeyValueStore;
  /** Default: the text classifier's items and Predictions. */
  codec?: CacheCodec<I, O>;
  /** How long a cached prediction lives; omitted, the store's default applies. */
  ttlMs?: number;
  /**
   * Called with the error when a write fails (the write is dropped). Lookups report theirs in
   * `lookup()`'s result instead, so that the caller can count them per item.
   */
  onWriteError?: (error: unknown, entries: number) => void;
}

/** One lookup: the predictions found and how each item ended. */
export interface CacheLookup<O = Prediction> {
  /** One per input, in order; undefined when not answered from the cache. */
  predictions: (O | undefined)[];
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
export class PredictionCache<I = TextInput, O = Prediction> {
  private readonly store: KeyValueStore;
  private readonly ttlMs: number | undefined;
  private readonly onWriteError: PredictionCacheOptions<I, O>['onWriteError'];
  private readonly codec: CacheCodec<I, O>;
  private hitCount = 0;
  private missCount = 0;
  private errorCount = 0;

  constructor(opts: PredictionCacheOptions<I, O>) {
    this.store = opts.store;
    this.codec = opts.codec ?? (TEXT_CODEC as unknown as CacheCodec<I, O>);
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
  key(model: string, version: number, input: I, artifact?: string): string {
    const artifactPart = artifact ? `${artifact.slice(0, 16)}:` : '';
    return `${versionPrefix(model, version)}${artifactPart}${this.codec.fingerprint(input)}`;
  }

  /** One entry per input, in order; undefined for a miss. Never rejects. */
  async getMany(
    model: string,
    version: number,
    inputs: readonly I[],
    artifact?: string,
  ): Promise<(O | undefined)[]> {
    return (await this.lookup(model, version, inputs, artifact)).predictions;
  }

  /** getMany with the outcome of each item counted, for metrics. Never rejects. */
  async lookup(
    model: string,
    version: number,
    inputs: readonly I[],
    artifact?: string,
  ): Promise<CacheLookup<O>> {
    if (inputs.length === 0) return { predictions: [], hits: 0, misses: 0, errors: 0 };
    let raw: (Uint8Array | undefined)[];
    try {
      raw = await this.store.getMany(inputs.map((input) => this.key(model, version, input, artifact)));
    } catch {
      this.errorCount++;
      this.missCount += inputs.length;
      return { predictions: inputs.map(() => undefined), hits: 0, misses: 0, errors: inputs.length };
    }
    const result: CacheLookup<O> = { predictions: [], hits: 0, misses: 0, errors: 0 };
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
    inputs: readonly I[],
    predictions: readonly O[],
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
      value: this.codec.encode(predictions[i]!),
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
  private decode(bytes: Uint8Array): O | undefined {
    try {
      const value = this.codec.decode(JSON.parse(decoder.decode(bytes)));
      if (value !== undefined) return value;
    } catch {
      // fall through: unreadable is treated like unshaped
    }
    this.errorCount++;
    return undefined;
  }
}

/** The text classifier's items: keys as before signatures (inputFingerprint), Predictions as values. */
const TEXT_CODEC: CacheCodec<TextInput, Prediction> = {
  fingerprint: inputFingerprint,
  // Only the Prediction fields: extra properties a model attached must not leak into the shared cache.
  encode: (p) => encoder.encode(JSON.stringify({ prediction: p.prediction, probabilities: p.probabilities })),
  decode: (value) => (isPrediction(value) ? value : undefined),
};

/** Any model's items: keyed by the sha256 of their canonical tensors, output tensors as values. */
export const TENSOR_CODEC: CacheCodec<NamedTensors, NamedTensors> = {
  fingerprint: (input) => sha256Hex(canonicalTensors(input)),
  encode: (outputs) => encoder.encode(JSON.stringify(outputs)),
  decode: (value) => (isTensors(value) ? value : undefined),
};

function isTensors(value: unknown): value is NamedTensors {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (t: unknown) =>
      typeof t === 'object' &&
      t !== null &&
      typeof (t as { datatype?: unknown }).datatype === 'string' &&
      Array.isArray((t as { shape?: unknown }).shape) &&
      Array.isArray((t as { data?: unknown }).data),
  );
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
