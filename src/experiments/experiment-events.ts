/**
 * What the experiment use cases report as they happen, for the operator's log (the wiring logs
 * them): status changes of any experiment and the decisions of canary releases. Reported by the
 * process that made the change (a server, or the CLI's).
 */
import type { Experiment } from './experiment-types.js';

export interface ExperimentStatusChange {
  experiment: string;
  model: string;
  type: Experiment['type'];
  /** What changed it: an operator's action, or a canary's own decision (rollback, promote). */
  action: 'create' | 'pause' | 'resume' | 'stop' | 'conclude' | 'promote' | 'abort' | 'rollback';
  /** null on creation. */
  from: Experiment['status'] | null;
  to: Experiment['status'];
  /** Who, when known: `admin (http, request …)`, or `canary controller` for its own decisions. */
  by?: string;
  reason?: string;
}

export interface CanaryDecisionEvent {
  experiment: string;
  model: string;
  /** `step`: the canary's share went up; `rollback`: its traffic went back to production. */
  action: 'step' | 'rollback' | 'promote';
  reason: string;
  /** The canary's share of the traffic after the decision. */
  weight: number;
  by: string;
}

export interface ExperimentEventHandlers {
  onStatusChange?: ((change: ExperimentStatusChange) => void) | undefined;
  onCanaryDecision?: ((decision: CanaryDecisionEvent) => void) | undefined;
}

/** The change between two states of one experiment, or undefined when its status did not move. */
export function statusChange(
  before: Experiment['status'] | null,
  after: Experiment,
  action: ExperimentStatusChange['action'],
  details: { by?: string | undefined; reason?: string | undefined },
): ExperimentStatusChange | undefined {
  if (before === after.status) return undefined;
  return {
    experiment: after.name,
    model: after.model,
    type: after.type,
    action,
    from: before,
    to: after.status,
    ...(details.by !== undefined ? { by: details.by } : {}),
    ...(details.reason !== undefined ? { reason: details.reason } : {}),
  };
}
