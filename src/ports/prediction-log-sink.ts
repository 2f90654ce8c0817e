/** One served prediction, as monitoring and experiments read it back. */
export interface PredictionLogRecord {
  requestId: string;
  /** ISO 8601 time the request was answered. */
  at: string;
  model: string;
  version: number;
  title: string;
  description: string;
  prediction: string;
  probabilities: Record<string, number>;
  latencyMs: number;
  source: 'model' | 'cache';
  /** The experiment unit (user id), when the request named one. */
  unit?: string;
}

/** Where prediction records go; writes are batched by the caller and happen off the request path. */
export interface PredictionLogSink {
  init(): Promise<void>;
  write(records: readonly PredictionLogRecord[]): Promise<void>;
  close(): Promise<void>;
}
