import type { PredictionLogItem } from '../ports/prediction-log-sink.js';

/**
 * Delayed labels: ground truth that arrives after a prediction (`POST /v1/feedback`), stored as it
 * came (migration store `feedback`) and joined to the logged prediction when read, so a label that
 * arrives before its prediction's log row is flushed still matches later. Labels whose request id
 * the log does not know are kept and counted apart (`unmatched`), never dropped.
 *
 * A label joined to the prediction it judges:
 */
export interface LabeledPrediction {
  /** The logged request's id; '' for a label given by entity id (see `entityId`). */
  readonly requestId: string;
  /**
   * Set for a label given by entity id, joined to the stored (batch) prediction: `logged` then has
   * the stored outputs and no inputs (the store keeps only their fingerprint).
   */
  readonly entityId?: string;
  readonly item: number;
  readonly version: number;
  /** ISO 8601 time of the prediction. */
  readonly at: string;
  readonly label: string;
  /** What the model answered (the top label), when its output has one. */
  readonly predicted: string | undefined;
  /** The logged item: its input (text or tensors) and output. */
  readonly logged: PredictionLogItem;
}

export interface LabeledWindow {
  readonly matched: readonly LabeledPrediction[];
  /** Labels in the window whose prediction the log does not have (yet). */
  readonly unmatched: number;
}

/** What monitoring (quality per version) and retraining (new labeled rows) read. */
export interface FeedbackSource {
  /** Labels received in [since, until) joined to their predictions. */
  labeled(
    model: string,
    range: {
      readonly since?: string;
      readonly until?: string;
      readonly version?: number;
      /** Only the most recently received N labels of the range (before the join). */
      readonly last?: number;
    },
  ): Promise<LabeledWindow>;
  /** Labels received at or after `since` (ISO 8601), matched or not. */
  countSince(model: string, since: string): Promise<number>;
}
