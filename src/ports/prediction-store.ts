import { ErrorCode, FerryError } from '../core/errors.js';

/**
 * The prediction store as its readers see it: the latest prediction per (model, entity), computed
 * ahead of time by batch jobs or written back by the server. batch/prediction-store.ts implements
 * it over SqlClient; serving's /v1/predictions routes depend on this interface only.
 */

/** One entity's prediction as the store keeps it: the latest one per (model, entityId). */
export interface StoredPrediction {
  model: string;
  entityId: string;
  /** The model version that computed it. */
  version: number;
  /** `inputFingerprint(input)`: sha256 hex of the JSON `[title, description]` it was computed from. */
  inputSha256: string;
  prediction: string;
  probabilities: Record<string, number>;
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

/** Longest entity id (and model name) accepted, in characters (Unicode code points). */
export const MAX_ENTITY_ID_LENGTH = 512;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `id` cannot be an entity id (or model name), or undefined when it can. Ids are opaque strings
 * stored and compared exactly; what is refused is what the databases cannot keep exactly: NUL
 * (PostgreSQL TEXT refuses it) and unpaired UTF-16 surrogates (both engines store UTF-8, so they
 * would come back changed).
 */
export function entityIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length === 0) return 'must not be empty';
  // length counts UTF-16 units >= code points: only long strings need counting code points.
  if (id.length > MAX_ENTITY_ID_LENGTH && [...id].length > MAX_ENTITY_ID_LENGTH) {
    return `must be at most ${MAX_ENTITY_ID_LENGTH} characters`;
  }
  if (id.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(id)) return 'must be well-formed Unicode (no unpaired surrogates)';
  return undefined;
}

/** Throws FERRY_BATCH_INVALID_ID (400) unless `id` is a valid entity id. */
export function assertEntityId(id: unknown, field = 'entityId'): asserts id is string {
  const problem = entityIdProblem(id);
  if (problem !== undefined) {
    throw new FerryError(ErrorCode.BATCH_INVALID_ID, `invalid ${field}: ${problem}`, {
      status: 400,
      details: { field, ...(typeof id === 'string' ? { length: id.length } : {}) },
    });
  }
}

/** What the serving side reads and writes back (PredictionStore has more: batch writes, counts). */
export interface StoredPredictionStore {
  /** The store's clock. */
  now(): Date;
  /** How old a stored prediction is by the store's clock (ms, never negative). */
  ageMs(stored: Pick<StoredPrediction, 'computedAt'>): number;
  get(model: string, entityId: string): Promise<StoredPrediction | undefined>;
  /** Inserts or replaces the rows (last writer wins). */
  upsertMany(rows: readonly StoredPrediction[]): Promise<void>;
  /** Entities whose stored prediction of `model` came from a version other than `version`. */
  countNotFromVersion(model: string, version: number): Promise<number>;
}
