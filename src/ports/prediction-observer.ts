/**
 * One answered (or failed) prediction request, as observers see it. Shadow tests mirror it to the
 * candidate; canary controllers count errors and latency per version and arm. `Input` and `Output`
 * are the model's item and answer types (the serving side binds them to model/'s TextInput and
 * Prediction): ports/ stays below the domain folders, so it names none of their types.
 */
export interface PredictionEvent<Input, Output> {
  model: string;
  /** The version that answered (or was asked and failed). */
  version: number;
  /** Set when an experiment routed the request. */
  experiment?: string;
  arm?: string;
  unit?: string;
  requestId?: string;
  items: readonly Input[];
  /** Absent when the request failed. */
  predictions?: readonly Output[];
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
export interface PredictionObserver<Input, Output> {
  onPrediction(event: PredictionEvent<Input, Output>): void;
}
