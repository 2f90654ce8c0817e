/** One item of a text classifier's logged request: its text and the answer. */
export interface TextLogItem {
  title: string;
  description: string;
  prediction: string;
  probabilities: Record<string, number>;
  source: 'model' | 'cache';
}

/** A tensor as the log keeps it (the model's Tensor, named structurally: ports/ sits below model/). */
export interface LoggedTensor {
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly unknown[];
}

/**
 * One item of any other model's logged request (a row of a batchable model, the whole request of
 * any other): its input and output tensors. `inputs` is empty when it was dropped to fit the cap.
 */
export interface TensorLogItem {
  inputs: Readonly<Record<string, LoggedTensor>>;
  outputs: Readonly<Record<string, LoggedTensor>>;
  source: 'model' | 'cache';
}

export type PredictionLogItem = TextLogItem | TensorLogItem;

export function isTextLogItem(item: PredictionLogItem): item is TextLogItem {
  return 'title' in item;
}

/**
 * One served prediction request, as monitoring and experiments read it back. Request-level fields
 * are stored once, not once per item: a request of many items with a long id or unit must not
 * multiply them in the log.
 */
export interface PredictionLogRecord {
  requestId: string;
  /** ISO 8601 time the request was answered. */
  at: string;
  model: string;
  version: number;
  /** The experiment unit (user id), when the request named one. */
  unit?: string;
  /** The experiment and arm that picked the version, when one did. */
  experiment?: string;
  arm?: string;
  latencyMs: number;
  /** Items as logged: fewer than `itemCount` when the per-request byte cap dropped some. */
  items: PredictionLogItem[];
  /** Items in the request. */
  itemCount: number;
  /** Set when text was cut (ending with TRUNCATION_MARKER) or items dropped to fit the byte cap. */
  truncated?: true;
}

/** What a text field cut to fit the per-request byte cap ends with. */
export const TRUNCATION_MARKER = '…[truncated]';

/** Where prediction records go; writes are batched by the caller and happen off the request path. */
export interface PredictionLogSink {
  init(): Promise<void>;
  /**
   * Writes the records. A record the backend refuses on its own (bad data) must not cost the others:
   * the sink skips and reports it; a sink that cannot write at all (backend down) throws.
   */
  write(records: readonly PredictionLogRecord[]): Promise<void>;
  close(): Promise<void>;
}
