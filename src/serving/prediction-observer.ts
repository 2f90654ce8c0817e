import type { Prediction, TextInput } from '../model/model.js';

/**
 * One answered (or failed) prediction request, as observers see it. Shadow tests mirror it to the
 * candidate; canary controllers count errors and latency per version and arm.
 */
export interface PredictionEvent {
  model: string;
  /** The version that answered (or was asked and failed). */
  version: number;
  /** Set when an experiment routed the request. */
  experiment?: string;
  arm?: string;
  unit?: string;
  requestId?: string;
  items: readonly TextInput[];
  /** Absent when the request failed. */
  predictions?: readonly Prediction[];
  /** Items answered from the cache (0 when the request failed). */
  cacheHits: number;
  /** From accepting the request to its answer or failure (ms). */
  latencyMs: number;
  /** What the request failed with, when it did (overload and deadline included). */
  error?: unknown;
}

/**
 * Plugged into PredictionService (`observers` or `addObserver`). Called synchronously once a
 * request's outcome is known, on every request whose version was resolved (success or failure),
 * before the HTTP layer writes the answer: keep it O(1) and hand heavy work to a bounded queue.
 * A throwing observer is caught and reported; it never fails or delays the request beyond its own
 * synchronous cost.
 */
export interface PredictionObserver {
  onPrediction(event: PredictionEvent): void;
}
