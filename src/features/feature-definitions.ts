/**
 * What a user declares in a feature repository file (`features.json`, `features.ts`/`.mjs`
 * exporting `defineFeatures({...})`), modelled on Feast: entities (join keys), sources (files, SQL,
 * streams, with an event-time field), feature views (typed features computed from one source,
 * row by row or by event-time windows), feature services (the features a model reads) and stream
 * pipelines (a stream source → views → sinks).
 *
 * Durations are written as `'90s'`, `'15m'`, `'1h'`, `'7d'` or a number of milliseconds.
 * Names: `[a-z][a-z0-9_]{0,63}`. `ferry features apply` validates all of it (file, line, field).
 */
import type { Duration } from '../core/duration.js';
import type { FeatureValue } from '../ports/online-feature-store.js';

export type { Duration };

/** The value types a feature may have; `map` is string → number (e.g. views per tag). */
export const FEATURE_TYPES = [
  'string',
  'int64',
  'float64',
  'bool',
  'string_list',
  'float64_list',
  'map',
] as const;
export type FeatureType = (typeof FEATURE_TYPES)[number];

export interface EntityDef {
  readonly name: string;
  /** The field(s) of a source row / event / request that identify the entity, e.g. `['project_id']`. */
  readonly joinKeys: readonly string[];
  readonly description?: string;
}

interface SourceBase {
  readonly name: string;
  /** The field holding each row's event time (ISO 8601 or ms since the epoch). */
  readonly timestampField: string;
  readonly description?: string;
}
/** A CSV or JSON-lines file; the path is relative to the definition file. */
export interface FileSourceDef extends SourceBase {
  readonly kind: 'file';
  readonly path: string;
  readonly format?: 'csv' | 'jsonl';
}
/** A table or a query on the Ferry database (or `url`, another one). */
export interface SqlSourceDef extends SourceBase {
  readonly kind: 'sql';
  readonly table?: string;
  readonly query?: string;
  readonly url?: string;
}
/** Events of a stream (see ports/event-stream.ts): JSON objects. */
export interface StreamSourceDef extends SourceBase {
  readonly kind: 'stream';
  readonly stream: string;
  /** The field holding each event's unique id (dedupe). Default `id`. */
  readonly idField?: string;
  /** The field holding the entity key (partitioning, per-key order). Default: the join key of the first view on this source. */
  readonly keyField?: string;
  /** Optional batch source holding the same events, for backfills and training sets. */
  readonly batchSource?: string;
}
export type SourceDef = FileSourceDef | SqlSourceDef | StreamSourceDef;

export interface FeatureDef {
  readonly name: string;
  readonly type: FeatureType;
  readonly description?: string;
}

/**
 * Row-level: each source row gives the entity's values at its event time. In JSON, each feature
 * is `{ from: 'field' }` or a built-in function of fields (`clean_text`, `lower`, `length`,
 * `token_count`); in TypeScript, `map(row)` returns the values.
 */
export interface RowTransformDef {
  readonly kind: 'row';
  readonly features?: Readonly<
    Record<string, { readonly from?: string; readonly fn?: RowFunction; readonly args?: readonly string[] }>
  >;
  readonly map?: (row: Readonly<Record<string, unknown>>) => Record<string, FeatureValue>;
}
export const ROW_FUNCTIONS = ['clean_text', 'lower', 'length', 'token_count'] as const;
export type RowFunction = (typeof ROW_FUNCTIONS)[number];

export type WindowDef =
  | { readonly type: 'tumbling'; readonly size: Duration }
  | { readonly type: 'hopping'; readonly size: Duration; readonly hop: Duration }
  | { readonly type: 'session'; readonly gap: Duration };

export const AGGREGATIONS = [
  'count',
  'sum',
  'mean',
  'min',
  'max',
  'last',
  'distinct_count',
  'top_k',
  'count_by',
] as const;
export type AggregationFn = (typeof AGGREGATIONS)[number];

export interface AggregationDef {
  /** The feature it produces (declared in the view's schema). */
  readonly name: string;
  readonly fn: AggregationFn;
  /** The event field aggregated; not needed by `count`. */
  readonly field?: string;
  /** `top_k` only: how many (default 3). */
  readonly k?: number;
}

/** Event-time windows per entity, Flink-style: watermark = max event time − `allowedLateness`. */
export interface WindowTransformDef {
  readonly kind: 'window';
  readonly window: WindowDef;
  /** Events later than this behind the watermark go to the late side output. Default 0. */
  readonly allowedLateness?: Duration;
  readonly aggregations: readonly AggregationDef[];
}

export interface FeatureViewDef {
  readonly name: string;
  /** Entity names (usually one). */
  readonly entities: readonly string[];
  readonly source: string;
  /** How long a value stays valid after its event time; > 0. */
  readonly ttl: Duration;
  /** Kept in the online store (default true). */
  readonly online?: boolean;
  readonly schema: readonly FeatureDef[];
  readonly transform: RowTransformDef | WindowTransformDef;
  readonly description?: string;
}

export interface FeatureServiceDef {
  readonly name: string;
  /** `view` (all its features) or `view:feature`. */
  readonly features: readonly string[];
  readonly description?: string;
  /**
   * The model (registry name) that reads this service: `POST /predict` and v2 infer with only the
   * entity's join keys are answered from the online store through it.
   */
  readonly model?: string;
  /** Model input name → `view:feature`; default: each input read from the feature of its name. */
  readonly inputs?: Readonly<Record<string, string>>;
}

/** Where a pipeline's results go. */
export type SinkDef =
  | { readonly kind: 'online' }
  | { readonly kind: 'offline' }
  /** Predicts with `model` (a registry reference, e.g. `tagifai@production`) and stores the result per entity. */
  | {
      readonly kind: 'predictions';
      readonly model: string;
      readonly inputs?: Readonly<Record<string, string>>;
    };

export interface PipelineDef {
  readonly name: string;
  /** A source of kind `stream`. */
  readonly source: string;
  /** The views it computes (all on that source). */
  readonly views: readonly string[];
  readonly sinks: readonly SinkDef[];
  /** Events with an event time further than this in the future are refused. Default 1 h. */
  readonly maxFutureSkew?: Duration;
  /** Events older than this (before the watermark) are refused as ancient. Default 30 d. */
  readonly maxAge?: Duration;
}

export interface FeatureRepoDef {
  readonly entities: readonly EntityDef[];
  readonly sources: readonly SourceDef[];
  readonly views: readonly FeatureViewDef[];
  readonly services?: readonly FeatureServiceDef[];
  readonly pipelines?: readonly PipelineDef[];
}

/** Identity in TypeScript, for type checking a `features.ts` file: `export default defineFeatures({...})`. */
export function defineFeatures(def: FeatureRepoDef): FeatureRepoDef {
  return def;
}
