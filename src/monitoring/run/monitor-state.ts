import type { PredictionLogCursor } from '../../ports/prediction-log-reader.js';
import type { RuleStates } from '../alerts/evaluate.js';
import type { DetectorState } from '../detector-types.js';

/**
 * What the loop keeps per model between ticks and across restarts (ferry_monitor_state, as JSON):
 * the version the detectors watch, where reading the log stopped, from when labels are still to be
 * read, the detectors' states and the rules' for-duration states.
 */
export interface ModelMonitorState {
  readonly schema: 1;
  readonly version: number;
  readonly cursor: PredictionLogCursor | null;
  /** ISO 8601: labels received from then on are not yet fed to the error detectors. */
  readonly labelsSince: string | null;
  /** By `<stream>:<detector>`. */
  readonly detectors: Readonly<Record<string, DetectorState>>;
  readonly rules: RuleStates;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The saved state when it has this shape; undefined otherwise (a fresh start is safer than a crash). */
export function parseMonitorState(raw: unknown): ModelMonitorState | undefined {
  if (!isObject(raw) || raw.schema !== 1 || typeof raw.version !== 'number') return undefined;
  const cursor = raw.cursor;
  if (
    cursor !== null &&
    !(isObject(cursor) && typeof cursor.at === 'string' && typeof cursor.requestId === 'string')
  )
    return undefined;
  if (raw.labelsSince !== null && typeof raw.labelsSince !== 'string') return undefined;
  if (!isObject(raw.detectors) || !isObject(raw.rules)) return undefined;
  return raw as unknown as ModelMonitorState;
}
