import type { DetectorState, DriftDetector } from '../detector-types.js';
import {
  finiteArray,
  finiteNumber,
  invalidDetector,
  objectOf,
  readParams,
  requireFinite,
} from './detector-input.js';
import { KS_EXACT_MAX_SIZE, ksTwoSample } from './ks-two-sample.js';
import { PythonRandom } from './python-random.js';

/**
 * KSWIN (Raab, Heusinger & Schleif 2020) as River's `drift.KSWIN` runs it: a sliding window of
 * `windowSize` values; once full, on every value `statSize` values drawn without replacement from
 * the older part are compared with the newest `statSize` by the two-sample KS test; drift when
 * p ≤ alpha and D > 0.1. A drift resets the detector (an empty window and the generator seeded
 * again), as River does before the next value. River's default seed is None (the OS's entropy); a
 * monitor must be reproducible, so the seed defaults to 42 (River's documented example) and the
 * draws are CPython's for that seed. River's scipy p-value is exact for these sizes, and so is ours.
 */
const KSWIN_PARAMS = {
  alpha: { default: 0.005, min: 0, max: 1 },
  windowSize: { default: 100, min: 2, max: 100_000, integer: true },
  statSize: { default: 30, min: 1, max: KS_EXACT_MAX_SIZE, integer: true },
  seed: { default: 42, min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
} as const;

type KswinParams = Record<keyof typeof KSWIN_PARAMS, number>;

interface KswinRun {
  window: number[];
  random: PythonRandom;
  seen: number;
  pValue: number;
}

export class Kswin implements DriftDetector {
  readonly name = 'kswin' as const;
  private readonly params: KswinParams;
  private run: KswinRun;
  /** Scratch for the two samples of each test (not state: refilled on every test). */
  private readonly older: Float64Array;
  private readonly newest: Float64Array;

  constructor(params?: Readonly<Record<string, unknown>>, run?: KswinRun) {
    this.params = readParams('kswin', params, KSWIN_PARAMS);
    if (this.params.statSize >= this.params.windowSize) {
      throw invalidDetector('parameter statSize of detector kswin must be below windowSize');
    }
    this.run = run ?? this.freshRun();
    this.older = new Float64Array(this.params.statSize);
    this.newest = new Float64Array(this.params.statSize);
  }

  get seen(): number {
    return this.run.seen;
  }

  /** The p-value of the last test (1 before the window first fills). */
  get pValue(): number {
    return this.run.pValue;
  }

  update(value: number): boolean {
    requireFinite('kswin', value);
    const { windowSize, statSize, alpha } = this.params;
    const run = this.run;
    run.seen += 1;
    run.window.push(value);
    if (run.window.length > windowSize) run.window.shift();
    if (run.window.length < windowSize) return false;
    const drawn = run.random.sampleRange(windowSize - statSize, statSize);
    const older = this.older;
    const newest = this.newest;
    for (let k = 0; k < statSize; k++) {
      older[k] = run.window[drawn[k]!]!;
      newest[k] = run.window[windowSize - statSize + k]!;
    }
    const { statistic, pValue } = ksTwoSample(older, newest);
    run.pValue = pValue;
    const drift = pValue <= alpha && statistic > 0.1;
    if (drift) this.run = this.freshRun();
    return drift;
  }

  toJSON(): DetectorState {
    const run = this.run;
    return {
      name: 'kswin',
      params: { ...this.params },
      state: { window: [...run.window], random: run.random.toJSON(), seen: run.seen, pValue: run.pValue },
    };
  }

  static fromState(state: DetectorState): Kswin {
    const s = objectOf(state.state, 'kswin state');
    const detector = new Kswin(state.params, {
      window: finiteArray(s.window, 'kswin window'),
      random: PythonRandom.fromState(s.random),
      seen: finiteNumber(s.seen, 'kswin seen'),
      pValue: finiteNumber(s.pValue, 'kswin pValue'),
    });
    if (detector.run.window.length > detector.params.windowSize) {
      throw invalidDetector('detector state: kswin window longer than windowSize');
    }
    return detector;
  }

  private freshRun(): KswinRun {
    return { window: [], random: PythonRandom.seeded(this.params.seed), seen: 0, pValue: 1 };
  }
}
