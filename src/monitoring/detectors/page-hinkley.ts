import type { DetectorState, DriftDetector } from '../detector-types.js';
import { finiteNumber, invalidDetector, objectOf, readParams, requireFinite } from './detector-input.js';

/**
 * Page-Hinkley as River's `drift.PageHinkley` runs it: a running mean, two cumulative sums of the
 * deviations faded by `alpha` (one biased by −delta for increases, one by +delta for decreases), and a
 * drift when a sum has moved more than `threshold` from its extreme, once `minInstances` values
 * were seen. `mode` picks the sides: 'both' (River's default), 'up' or 'down'. River starts the
 * decrease's maximum at −1 rather than −∞; kept, so the detections are River's.
 */
const PAGE_HINKLEY_PARAMS = {
  minInstances: { default: 30, min: 1, max: 1_000_000_000, integer: true },
  delta: { default: 0.005, min: 0, max: 1e12 },
  threshold: { default: 50, min: 0, max: 1e15 },
  alpha: { default: 1 - 0.0001, min: 0, max: 1 },
} as const;

export type PageHinkleyMode = 'both' | 'up' | 'down';

type PageHinkleyParams = Record<keyof typeof PAGE_HINKLEY_PARAMS, number>;

interface Sums {
  n: number;
  mean: number;
  sumIncrease: number;
  sumDecrease: number;
  /** +∞ until the first value (JSON writes it as null). */
  minIncrease: number;
  maxDecrease: number;
}

function freshSums(): Sums {
  return {
    n: 0,
    mean: 0,
    sumIncrease: 0,
    sumDecrease: 0,
    minIncrease: Number.POSITIVE_INFINITY,
    maxDecrease: -1,
  };
}

export class PageHinkley implements DriftDetector {
  readonly name = 'page-hinkley' as const;
  private readonly params: PageHinkleyParams;
  private readonly mode: PageHinkleyMode;
  private s: Sums;

  constructor(params?: Readonly<Record<string, unknown>>, mode: PageHinkleyMode = 'both', sums?: Sums) {
    this.params = readParams('page-hinkley', params, PAGE_HINKLEY_PARAMS);
    if (mode !== 'both' && mode !== 'up' && mode !== 'down') {
      throw invalidDetector(`mode of detector page-hinkley must be both, up or down, got ${String(mode)}`);
    }
    this.mode = mode;
    this.s = sums ?? freshSums();
  }

  get seen(): number {
    return this.s.n;
  }

  update(value: number): boolean {
    requireFinite('page-hinkley', value);
    const { alpha, delta, threshold, minInstances } = this.params;
    const s = this.s;
    s.n += 1;
    // River's running mean: mean += (1/n)·(x − mean), written the same way for the same rounding.
    s.mean += (1 / s.n) * (value - s.mean);
    const deviation = value - s.mean;
    s.sumIncrease = alpha * s.sumIncrease + deviation - delta;
    s.sumDecrease = alpha * s.sumDecrease + deviation + delta;
    if (s.sumIncrease < s.minIncrease) s.minIncrease = s.sumIncrease;
    if (s.sumDecrease > s.maxDecrease) s.maxDecrease = s.sumDecrease;
    if (s.n < minInstances) return false;
    const up = s.sumIncrease - s.minIncrease > threshold;
    const down = s.maxDecrease - s.sumDecrease > threshold;
    const drift = this.mode === 'up' ? up : this.mode === 'down' ? down : up || down;
    if (drift) this.s = freshSums();
    return drift;
  }

  toJSON(): DetectorState {
    const s = this.s;
    return {
      name: 'page-hinkley',
      params: { ...this.params },
      state: { ...s, minIncrease: Number.isFinite(s.minIncrease) ? s.minIncrease : null, mode: this.mode },
    };
  }

  static fromState(state: DetectorState): PageHinkley {
    const s = objectOf(state.state, 'page-hinkley state');
    const mode = s.mode as PageHinkleyMode;
    return new PageHinkley(state.params, mode, {
      n: finiteNumber(s.n, 'page-hinkley n'),
      mean: finiteNumber(s.mean, 'page-hinkley mean'),
      sumIncrease: finiteNumber(s.sumIncrease, 'page-hinkley sumIncrease'),
      sumDecrease: finiteNumber(s.sumDecrease, 'page-hinkley sumDecrease'),
      minIncrease:
        s.minIncrease === null
          ? Number.POSITIVE_INFINITY
          : finiteNumber(s.minIncrease, 'page-hinkley minIncrease'),
      maxDecrease: finiteNumber(s.maxDecrease, 'page-hinkley maxDecrease'),
    });
  }
}
