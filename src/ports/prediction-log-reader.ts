import type { PredictionLogRecord } from './prediction-log-sink.js';

/** Where a page of the log ended: the next page starts after this (time, then request id). */
export interface PredictionLogCursor {
  readonly at: string;
  readonly requestId: string;
}

export interface PredictionLogQuery {
  readonly model: string;
  /** Only this version's requests. */
  readonly version?: number;
  /** ISO 8601, inclusive. */
  readonly since?: string;
  /** ISO 8601, exclusive. */
  readonly until?: string;
  /** Resume after this record (from the previous page's `next`). */
  readonly after?: PredictionLogCursor;
  /** At most this many records (the reader may cap it). */
  readonly limit: number;
}

export interface PredictionLogPage {
  /** In (at, requestId) order. */
  readonly records: PredictionLogRecord[];
  /** Null when this page was the last. */
  readonly next: PredictionLogCursor | null;
}

/**
 * The served predictions read back: what monitoring compares with a reference and what feedback
 * labels join to. Implemented over the SQL log table (`serving/prediction-log/sql-prediction-log.ts`);
 * the JSONL log is write-only (monitoring refuses it with FERRY_MONITOR_SOURCE).
 */
export interface PredictionLogReader {
  /** One page of a model's requests in a time range, oldest first. */
  read(query: PredictionLogQuery): Promise<PredictionLogPage>;
  /** Requests in a range (no items read). */
  count(query: Omit<PredictionLogQuery, 'after' | 'limit'>): Promise<number>;
  /** The logged requests with these ids (any model), in no particular order; unknown ids are absent. */
  findByRequestIds(requestIds: readonly string[]): Promise<PredictionLogRecord[]>;
}
