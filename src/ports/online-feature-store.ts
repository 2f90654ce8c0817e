/**
 * The online feature store: the latest feature values of each (feature view, entity), read at
 * request time. Written by `ferry features materialize` (batch) and by stream pipelines (fresh).
 *
 * A value is a JSON value (`FeatureValue`); each row carries the event time of the data it was
 * computed from. Writes are idempotent upserts where the **newer event time wins**: a row replaces
 * the stored one of the same (view, entityKey) only when its `eventTimeMs` is >= the stored one's
 * (equal: the later write wins, so a window updated by more events replaces itself). Replaying a
 * source, or a redelivered event, therefore never moves a value back in time.
 *
 * The TTL is not the store's business: the domain (`features/online-read.ts`) compares the event
 * time with the view's TTL at read time and answers EXPIRED. An adapter may still drop rows older
 * than `expireAfterMs` to bound its size.
 *
 * Errors are FerryErrors: `FERRY_FEATURES_UNAVAILABLE` (503) when the backend cannot be reached
 * (never a hang: every call is bounded by the adapter's command timeout), `FERRY_DB_*` otherwise.
 * A call a store could not keep exactly is refused before any I/O with
 * `FERRY_FEATURES_INVALID_REQUEST` (400), nothing written: a view name that is empty or holds ':',
 * a key or view with NUL or an unpaired surrogate, an event time that is not an integer, values
 * that are not a plain JSON object (NaN, Infinity, undefined, a Date, a class instance).
 */
export type FeatureValue =
  | string
  | number
  | boolean
  | null
  | readonly FeatureValue[]
  | { readonly [k: string]: FeatureValue };

export interface OnlineFeatureRow {
  /** The feature view's name; never contains ':' (Redis finds a view's rows by `of:<view>:`). */
  readonly view: string;
  /** The entity's join key value(s), joined by `entityKeyOf` when a view has several. */
  readonly entityKey: string;
  /** Milliseconds since the epoch of the newest event the values were computed from (an integer). */
  readonly eventTimeMs: number;
  /** Feature name → value, for every feature of the view. */
  readonly values: Readonly<Record<string, FeatureValue>>;
}

export interface StoredOnlineFeatureRow extends OnlineFeatureRow {
  /** When the store accepted the row (ms since the epoch, the writer's clock): freshness. */
  readonly writtenAtMs: number;
}

export interface OnlineWriteOptions {
  /** Rows older than this (by event time) may be dropped by the backend later. */
  expireAfterMs?: number;
}

export interface OnlineFeatureStore {
  /** Opens connections / creates tables. Safe to call twice; the constructor does no I/O. */
  init(): Promise<void>;
  /**
   * Upserts the rows, newer event time wins (see above), and returns how many were applied (a row
   * older than the stored one is skipped). Rows of one call with the same key apply in order.
   */
  writeMany(rows: readonly OnlineFeatureRow[], opts?: OnlineWriteOptions): Promise<number>;
  /** One result per key, in the order of `entityKeys`; undefined when nothing is stored. */
  readMany(view: string, entityKeys: readonly string[]): Promise<(StoredOnlineFeatureRow | undefined)[]>;
  /** Removes every row of the view (when `apply` removes or redefines it); returns how many went. */
  deleteView(view: string): Promise<number>;
  close(): Promise<void>;
}

/** The separator of a composite entity key: U+001F (unit separator), never in a validated key. */
export const ENTITY_KEY_SEPARATOR = '\u001f';

/** `["u1", "p9"]` → `"u1\u001fp9"`: the key of an entity with several join keys, in declared order. */
export function entityKeyOf(parts: readonly string[]): string {
  return parts.join(ENTITY_KEY_SEPARATOR);
}
