import { ErrorCode, FerryError } from '../../core/errors.js';
import type { OnlineTextParams } from '../../model/kinds/online-text/online-text-classifier.js';
import { STREAM_NAME } from '../../ports/event-stream.js';
import { isValidModelName } from '../../registry/model-ref.js';

export interface LearnerSettings {
  readonly model: string;
  /** The stream of labeled events (labeled-event.ts). Default `feedback`. */
  readonly stream?: string;
  /** Labels in the progressive window. Default 500. */
  readonly window?: number;
  /** Labels both models must have answered before a guardrail decides. Default: the window. */
  readonly minLabels?: number;
  /** Weighted F1 a snapshot must gain over production (and may lose before a fallback). Default 0.01. */
  readonly margin?: number;
  /** A snapshot every this many labels learned. Default 1000. */
  readonly snapshotEvery?: number;
  /** ... or this long after the last one when labels were learned since (0: off). Default 0. */
  readonly snapshotEveryMs?: number;
  /** A checkpoint (and acks) every this many labels (each writes the whole state, ~1.4 MB for the course data)... Default 1000. */
  readonly checkpointEvery?: number;
  /** ... or this long after the last one. Default 2000 ms; must stay well under the ack wait. */
  readonly checkpointEveryMs?: number;
  readonly fetchMax?: number;
  readonly fetchWaitMs?: number;
  /** Redelivery of an unacked label after this long. Default 30 s. */
  readonly ackWaitMs?: number;
  /** Hyper-parameters of a new learner (ignored when a checkpoint exists). */
  readonly params?: Partial<OnlineTextParams>;
}

/** The stream of labeled events a learner reads when none is named. */
export const DEFAULT_LEARNER_STREAM = 'feedback';

const DEFAULTS = {
  stream: DEFAULT_LEARNER_STREAM,
  window: 500,
  margin: 0.01,
  snapshotEvery: 1000,
  snapshotEveryMs: 0,
  checkpointEvery: 1000,
  checkpointEveryMs: 2000,
  fetchMax: 500,
  fetchWaitMs: 500,
  ackWaitMs: 30_000,
};

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new FerryError(ErrorCode.LEARNER_INVALID, `${name} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

/** The learner's settings with defaults, checked (FERRY_LEARNER_INVALID). */
export function learnerSettings(s: LearnerSettings): Required<Omit<LearnerSettings, 'params'>> & {
  params: Partial<OnlineTextParams>;
} {
  const window = positiveInt('window', s.window ?? DEFAULTS.window, 1_000_000);
  const margin = s.margin ?? DEFAULTS.margin;
  if (!Number.isFinite(margin) || margin < 0 || margin > 1)
    throw new FerryError(ErrorCode.LEARNER_INVALID, `margin must be a number from 0 to 1, got ${margin}`);
  const snapshotEveryMs = s.snapshotEveryMs ?? DEFAULTS.snapshotEveryMs;
  if (!Number.isInteger(snapshotEveryMs) || snapshotEveryMs < 0)
    throw new FerryError(ErrorCode.LEARNER_INVALID, 'snapshotEveryMs must be an integer >= 0');
  if (!isValidModelName(s.model))
    throw new FerryError(
      ErrorCode.LEARNER_INVALID,
      `${JSON.stringify(s.model.slice(0, 200))} is not a model name`,
    );
  const stream = s.stream ?? DEFAULTS.stream;
  if (!STREAM_NAME.test(stream))
    throw new FerryError(
      ErrorCode.LEARNER_INVALID,
      `stream must match ${STREAM_NAME}, got ${JSON.stringify(stream.slice(0, 200))}`,
    );
  return {
    model: s.model,
    stream,
    window,
    minLabels: positiveInt('minLabels', s.minLabels ?? window, window),
    margin,
    snapshotEvery: positiveInt('snapshotEvery', s.snapshotEvery ?? DEFAULTS.snapshotEvery, 100_000_000),
    snapshotEveryMs,
    checkpointEvery: positiveInt('checkpointEvery', s.checkpointEvery ?? DEFAULTS.checkpointEvery, 1_000_000),
    checkpointEveryMs: positiveInt(
      'checkpointEveryMs',
      s.checkpointEveryMs ?? DEFAULTS.checkpointEveryMs,
      3_600_000,
    ),
    fetchMax: positiveInt('fetchMax', s.fetchMax ?? DEFAULTS.fetchMax, 10_000),
    fetchWaitMs: positiveInt('fetchWaitMs', s.fetchWaitMs ?? DEFAULTS.fetchWaitMs, 60_000),
    ackWaitMs: positiveInt('ackWaitMs', s.ackWaitMs ?? DEFAULTS.ackWaitMs, 3_600_000),
    params: s.params ?? {},
  };
}
