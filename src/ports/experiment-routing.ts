/**
 * What the request path needs of the experiments: which arm a unit's request goes to, and the
 * record that it went there. The experiment router implements it; serving/ depends on this
 * interface only, and the wiring passes the router in.
 */

/** An experiment's choice for one request: the arm, and the version or alias that answers it. */
export interface ExperimentRoute {
  experiment: string;
  arm: string;
  selector: { version: number; alias?: undefined } | { alias: string; version?: undefined };
}

export interface ExperimentRouting {
  /** The arm for `unit`'s request to `model`, or undefined (no running routing experiment, not covered). */
  route(model: string, unit: string | undefined): ExperimentRoute | undefined;
  /**
   * Records that `unit` was served `version` (null: the arm failed and the default answered) by
   * `route`'s decision. O(1), never throws, never waits: the write happens in the background.
   */
  expose(route: ExperimentRoute, unit: string, version: number | null): void;
}

/** What version access needs of a model's experiments: their status and the versions their arms name. */
export interface ExperimentArmsView {
  status: string;
  arms: readonly { version?: number | undefined }[];
}
