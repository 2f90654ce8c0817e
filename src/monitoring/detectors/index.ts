import type { DetectorName, DetectorState, DriftDetector } from '../detector-types.js';
import { Adwin } from './adwin.js';
import { invalidDetector, objectOf } from './detector-input.js';
import { Kswin } from './kswin.js';
import { PageHinkley, type PageHinkleyMode } from './page-hinkley.js';

/**
 * The streaming drift detectors of `ferry monitor run`, with River's defaults:
 * - adwin: delta 0.002, clock 32, maxBuckets 5, minWindowLength 5, gracePeriod 10;
 * - page-hinkley: minInstances 30, delta 0.005, threshold 50, alpha 0.9999, mode 'both';
 * - kswin: alpha 0.005, windowSize 100, statSize 30, seed 42 (River's is random; ours is fixed).
 * Unknown parameters or values out of range are refused with FERRY_MONITOR_INVALID.
 */
export const DETECTOR_NAMES: readonly DetectorName[] = ['adwin', 'page-hinkley', 'kswin'];

/** Parameters by River's meaning in camelCase; numbers, but for Page-Hinkley's `mode`. */
export type DetectorParams = Readonly<Record<string, number | string>>;

export function createDetector(name: DetectorName, params: DetectorParams = {}): DriftDetector {
  switch (name) {
    case 'adwin':
      return new Adwin(params);
    case 'page-hinkley': {
      const { mode, ...numeric } = params;
      return new PageHinkley(numeric, (mode ?? 'both') as PageHinkleyMode);
    }
    case 'kswin':
      return new Kswin(params);
    default:
      throw invalidDetector(`unknown drift detector ${String(name)} (known: ${DETECTOR_NAMES.join(', ')})`);
  }
}

/** Rebuilds a detector from `toJSON()` (after JSON.stringify/parse): the same outputs afterwards as the original. */
export function restoreDetector(state: DetectorState): DriftDetector {
  const s = objectOf(state, 'detector state');
  const checked = {
    name: s.name,
    params: objectOf(s.params, 'detector params'),
    state: s.state,
  } as DetectorState;
  switch (checked.name) {
    case 'adwin':
      return Adwin.fromState(checked);
    case 'page-hinkley':
      return PageHinkley.fromState(checked);
    case 'kswin':
      return Kswin.fromState(checked);
    default:
      throw invalidDetector(`unknown drift detector ${String(checked.name)} in a stored state`);
  }
}
