/**
 * A tensor as the store keeps it (the shape of `model/tensor.ts`'s Tensor, restated here because
 * ports/ imports only core/): datatype in Open Inference Protocol v2 terms, concrete shape, data
 * flat in row-major order.
 */
export interface StoredTensor {
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly number[] | readonly boolean[] | readonly string[];
}

/** One entity's prediction as the store keeps it: the latest one per (model, entityId). */
export interface StoredPrediction {
  model: string;
  entityId: string;
  /** The model version that computed it. */
  version: number;
  /**
   * sha256 hex of the inputs it was computed from: for the text classifier `inputFingerprint`
   * (the JSON `[title, description]`), for any other model `canonicalTensors` of the row's inputs.
   */
  inputSha256: string;
  /**
   * One row's outputs by name, in the row's shape (the batch dimension dropped for a model that
   * stacks rows). Text classifier rows: `label` [] and `probabilities` [classes], which the store
   * derives from `prediction`/`probabilities` (they are kept there, as before this column existed).
   */
  outputs: Record<string, StoredTensor>;
  /** The text classifier's label; absent for other models. */
  prediction?: string;
  /** The text classifier's probability per class; absent for other models. */
  probabilities?: Record<string, number>;
  /** ISO 8601 (`Date.prototype.toISOString()`); other parseable forms are normalised on write. */
  computedAt: string;
  /** The batch job that wrote it; null (or absent) for a live write-back. */
  jobId?: string | null;
  /**
   * Who wrote it: `batch` (a batch job, `jobId`) or `live` (a write-back of the server's POST
   * route). Absent on write: `batch` when `jobId` is set, else `live`. Rows written before the
   * column existed read the same way.
   */
  source?: PredictionSource;
}

export type PredictionSource = 'batch' | 'live';

/**
 * The prediction store as serving uses it: predictions computed ahead of time (by batch jobs) read
 * per entity, live answers written back, and the count behind the staleness gauge. Implemented by
 * `batch/prediction-store.ts` over any SqlClient; serving depends on this interface only.
 *
 * Model names and entity ids follow `core/entity-id.ts`: a read or write with an id that breaks
 * that rule throws FERRY_BATCH_INVALID_ID (400), whatever the backend.
 */
export interface StoredPredictionStore {
  /** The latest stored prediction of `model` for `entityId`; undefined when none is stored. */
  get(model: string, entityId: string): Promise<StoredPrediction | undefined>;
  /** Inserts or replaces the rows (one per model and entity; last writer wins), all or nothing. */
  upsertMany(rows: readonly StoredPrediction[]): Promise<void>;
  /** A page of `model`'s stored predictions in entity-id order after `after` (at most `limit`, <= 10,000). */
  list(model: string, opts: { after?: string; limit: number }): Promise<StoredPrediction[]>;
  /** Entities whose stored prediction of `model` came from a version other than `version`. */
  countNotFromVersion(model: string, version: number): Promise<number>;
  /** The store's clock: `computedAt` of what is written now. */
  now(): Date;
  /** How old a stored prediction is by the store's clock (ms, never negative). */
  ageMs(stored: Pick<StoredPrediction, 'computedAt'>): number;
}
