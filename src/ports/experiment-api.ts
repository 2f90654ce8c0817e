import { ErrorCode, FerryError } from '../core/errors.js';
import type { JsonSchema } from '../core/schema-check.js';

/**
 * The experiments API's contract (/v1/experiments and `ferry experiments`): its vocabulary, the name
 * rule, and the use cases the HTTP layer calls. ExperimentService implements it; serving/http
 * depends on this file only, so that the request side never imports experiments/.
 */

export const EXPERIMENT_TYPES = ['ab', 'bandit', 'canary', 'shadow'] as const;
export type ExperimentType = (typeof EXPERIMENT_TYPES)[number];

export const EXPERIMENT_STATUSES = ['running', 'paused', 'stopped', 'concluded'] as const;
/**
 * - running: routes traffic and records exposures; accepts events.
 * - paused: routes nothing (every unit gets the default version) but accepts events (outcomes of
 *   earlier exposures arrive late); counts against the one-routing-experiment-per-model rule.
 * - stopped: routes nothing, refuses events (409 FERRY_EXPERIMENT_NOT_RUNNING); final, except conclude.
 * - concluded: like stopped, with the decision (winner) recorded.
 */
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

export const METRIC_KINDS = ['binary', 'numeric'] as const;
/**
 * binary: an event's value is 0 or 1; a unit converts when any of its events is 1; the rate is
 * converting units / exposed units of the arm.
 * numeric: a unit's value is the sum of its events' values; the mean is over the units of the arm
 * that reported at least one event.
 */
export type MetricKind = (typeof METRIC_KINDS)[number];

/** An experiment's name: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit. */
export const EXPERIMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function isValidExperimentName(name: unknown): name is string {
  return typeof name === 'string' && EXPERIMENT_NAME.test(name);
}

export function experimentNotFound(name: string): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_NOT_FOUND, `no experiment named ${JSON.stringify(name)}`, {
    details: { name },
  });
}

/**
 * The use cases behind the routes. Results are the API's JSON bodies: the HTTP layer sends them as
 * they are, so their shapes are the implementation's (see ExperimentService).
 */
export interface ExperimentApi {
  /** `by`: who asked (for the log line of the status change), e.g. `admin (http, request <id>)`. */
  create(raw: unknown, by?: string): Promise<unknown>;
  list(filter: { model?: string; statuses?: ExperimentStatus[] }): Promise<readonly unknown[]>;
  /** Definition and analysis (a shadow's merged report, a canary's state). */
  analyze(name: string): Promise<unknown>;
  transition(name: string, action: 'pause' | 'resume' | 'stop', by?: string): Promise<unknown>;
  conclude(name: string, opts: { winner?: string | null; reason?: string; by?: string }): Promise<unknown>;
  /** Canaries only: promote now or abort. */
  canaryAction(name: string, action: 'promote' | 'abort', reason?: string, by?: string): Promise<unknown>;
  recordEvents(name: string, body: unknown): Promise<unknown>;
  excludeEvents(name: string, body: unknown, channel: { defaultBy: string; via: string }): Promise<unknown>;
  /** The request bodies: their schemas (shown in /openapi.json) and the checks the service applies. */
  readonly bodies: ExperimentBodies;
}

/**
 * The experiments API's request bodies, as the implementation defines them: the HTTP layer
 * validates with these (so what /openapi.json shows is what is applied, and a refusal is the same
 * 400 as the service's own) without depending on the experiments folder.
 */
export interface ExperimentBodies {
  readonly schemas: {
    readonly definition: JsonSchema;
    readonly events: JsonSchema;
    readonly exclusion: JsonSchema;
    readonly conclusion: JsonSchema;
    readonly reason: JsonSchema;
  };
  /** Throws the API's 400 (FERRY_EXPERIMENT_INVALID or _WEIGHTS, details.field) when `raw` breaks `schema`. */
  conform(schema: JsonSchema, raw: unknown): void;
  /** The events body: one event or {events: [...]}, fields named as the service names them. */
  checkEvents(raw: unknown): void;
  conclusion(raw: unknown): { winner?: string | null; reason?: string };
  reason(raw: unknown): { reason?: string };
}
