/**
 * A streaming drift detector (River's ADWIN, Page-Hinkley and KSWIN, with River's defaults), fed one
 * value at a time: the confidence of each prediction, or 0/1 errors once labels arrive. Pure and
 * deterministic for a given seed; its state round-trips through JSON so `ferry monitor run` resumes
 * after a restart where it stopped. `update` refuses a value that is not finite with
 * FERRY_MONITOR_DETECTOR_INPUT (a NaN would silently poison every later statistic).
 */
export type DetectorName = 'adwin' | 'page-hinkley' | 'kswin';

export interface DriftDetector {
  readonly name: DetectorName;
  /** Adds a value; true when this value made the detector signal drift. */
  update(value: number): boolean;
  /** Values seen since the start or the last drift. */
  readonly seen: number;
  /** JSON-safe state; `restoreDetector` (monitoring/detectors/) rebuilds the detector from it. */
  toJSON(): DetectorState;
}

export interface DetectorState {
  readonly name: DetectorName;
  readonly params: Readonly<Record<string, number>>;
  readonly state: unknown;
}
