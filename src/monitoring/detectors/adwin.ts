import type { DetectorState, DriftDetector } from '../detector-types.js';
import {
  finiteArray,
  finiteNumber,
  invalidDetector,
  objectOf,
  readParams,
  requireFinite,
} from './detector-input.js';

/**
 * ADWIN (Bifet & Gavaldà 2007) as River's `drift.ADWIN` runs it: the window is an exponential
 * histogram (row i holds up to `maxBuckets` buckets of 2^i values, each a total and a variance),
 * and every `clock` values, once the window is longer than `gracePeriod`, every cut between buckets
 * (oldest first) is tested with River's bound
 *   ε = sqrt(2·m·σ²_W·δ') + (2/3)·δ'·m,  δ' = ln(2·ln|W| / δ),  m = 1/(n0 − L + 1) + 1/(n1 − L + 1)
 * (L = minWindowLength, σ²_W the variance of the whole window); a cut whose means differ by more
 * drops the oldest bucket and the scan starts again. A drift resets the detector, as River does
 * before the next value. Two River details are kept on purpose so the detections are River's:
 * the last bucket of each row is never a cut point, and the bound uses the whole window's variance.
 */
const ADWIN_PARAMS = {
  delta: { default: 0.002, min: 1e-12, max: 1 },
  clock: { default: 32, min: 1, max: 1_000_000, integer: true },
  maxBuckets: { default: 5, min: 2, max: 1000, integer: true },
  minWindowLength: { default: 5, min: 1, max: 1_000_000, integer: true },
  gracePeriod: { default: 10, min: 0, max: 1_000_000_000, integer: true },
} as const;

type AdwinParams = Record<keyof typeof ADWIN_PARAMS, number>;

/** One row of the histogram: buckets of equal size, oldest first. */
interface Row {
  total: number[];
  variance: number[];
}

interface AdwinWindow {
  rows: Row[];
  total: number;
  variance: number;
  width: number;
  tick: number;
  seen: number;
}

function emptyWindow(): AdwinWindow {
  return { rows: [{ total: [], variance: [] }], total: 0, variance: 0, width: 0, tick: 0, seen: 0 };
}

export class Adwin implements DriftDetector {
  readonly name = 'adwin' as const;
  private readonly params: AdwinParams;
  private w: AdwinWindow;

  constructor(params?: Readonly<Record<string, unknown>>, window?: AdwinWindow) {
    this.params = readParams('adwin', params, ADWIN_PARAMS);
    this.w = window ?? emptyWindow();
  }

  get seen(): number {
    return this.w.seen;
  }

  /** Width of the current window (values since the last cut dropped older ones). */
  get width(): number {
    return this.w.width;
  }

  /** Mean of the current window. */
  get estimation(): number {
    return this.w.width === 0 ? 0 : this.w.total / this.w.width;
  }

  update(value: number): boolean {
    requireFinite('adwin', value);
    this.w.seen += 1;
    this.insert(value);
    const drift = this.detectChange();
    if (drift) this.w = emptyWindow();
    return drift;
  }

  toJSON(): DetectorState {
    const w = this.w;
    return {
      name: 'adwin',
      params: { ...this.params },
      state: {
        rows: w.rows.map((r) => ({ total: [...r.total], variance: [...r.variance] })),
        total: w.total,
        variance: w.variance,
        width: w.width,
        tick: w.tick,
        seen: w.seen,
      },
    };
  }

  static fromState(state: DetectorState): Adwin {
    const s = objectOf(state.state, 'adwin state');
    if (!Array.isArray(s.rows) || s.rows.length === 0) throw invalidDetector('detector state: adwin rows');
    const rows = s.rows.map((raw, i) => {
      const r = objectOf(raw, `adwin row ${i}`);
      const row = {
        total: finiteArray(r.total, 'adwin totals'),
        variance: finiteArray(r.variance, 'adwin variances'),
      };
      if (row.total.length !== row.variance.length)
        throw invalidDetector('detector state: adwin row lengths differ');
      return row;
    });
    return new Adwin(state.params, {
      rows,
      total: finiteNumber(s.total, 'adwin total'),
      variance: finiteNumber(s.variance, 'adwin variance'),
      width: finiteNumber(s.width, 'adwin width'),
      tick: finiteNumber(s.tick, 'adwin tick'),
      seen: finiteNumber(s.seen, 'adwin seen'),
    });
  }

  private insert(value: number): void {
    const w = this.w;
    const first = w.rows[0]!;
    first.total.push(value);
    first.variance.push(0);
    w.width += 1;
    if (w.width > 1) {
      const d = value - w.total / (w.width - 1);
      w.variance += ((w.width - 1) * d * d) / w.width;
    }
    w.total += value;
    this.compress();
  }

  /** A row over `maxBuckets` merges its two oldest buckets into one of the next row, and so on up. */
  private compress(): void {
    const { rows } = this.w;
    const max = this.params.maxBuckets;
    for (let idx = 0; idx < rows.length; idx++) {
      const row = rows[idx]!;
      if (row.total.length !== max + 1) return;
      if (idx + 1 === rows.length) rows.push({ total: [], variance: [] });
      const next = rows[idx + 1]!;
      const size = 2 ** idx;
      const t0 = row.total[0]!;
      const t1 = row.total[1]!;
      const meanGap = t0 / size - t1 / size;
      next.total.push(t0 + t1);
      next.variance.push(
        row.variance[0]! + row.variance[1]! + (size * size * meanGap * meanGap) / (size + size),
      );
      row.total.splice(0, 2);
      row.variance.splice(0, 2);
      if (next.total.length <= max) return;
    }
  }

  private detectChange(): boolean {
    const w = this.w;
    const { clock, gracePeriod, minWindowLength } = this.params;
    w.tick += 1;
    if (w.tick % clock !== 0 || w.width <= gracePeriod) return false;
    let detected = false;
    let cutFound = true;
    while (cutFound) {
      cutFound = false;
      let n0 = 0;
      let n1 = w.width;
      let u0 = 0;
      let u1 = w.total;
      scan: for (let idx = w.rows.length - 1; idx >= 0; idx--) {
        const row = w.rows[idx]!;
        const size = 2 ** idx;
        for (let k = 0; k < row.total.length - 1; k++) {
          n0 += size;
          n1 -= size;
          u0 += row.total[k]!;
          u1 -= row.total[k]!;
          if (n1 >= minWindowLength && n0 >= minWindowLength && this.cuts(n0, n1, u0 / n0 - u1 / n1)) {
            cutFound = true;
            detected = true;
            this.dropOldest();
            break scan;
          }
        }
      }
    }
    return detected;
  }

  private cuts(n0: number, n1: number, meanGap: number): boolean {
    const { delta, minWindowLength } = this.params;
    const w = this.w;
    const deltaPrime = Math.log((2 * Math.log(w.width)) / delta);
    const m = 1 / (n0 - minWindowLength + 1) + 1 / (n1 - minWindowLength + 1);
    const epsilon = Math.sqrt(2 * m * (w.variance / w.width) * deltaPrime) + (2 / 3) * deltaPrime * m;
    return Math.abs(meanGap) > epsilon;
  }

  private dropOldest(): void {
    const w = this.w;
    const last = w.rows[w.rows.length - 1]!;
    const n = 2 ** (w.rows.length - 1);
    const u = last.total[0]!;
    const v = last.variance[0]!;
    w.width -= n;
    w.total -= u;
    const gap = u / n - w.total / w.width;
    w.variance -= v + (n * w.width * gap * gap) / (n + w.width);
    last.total.shift();
    last.variance.shift();
    if (last.total.length === 0) w.rows.pop();
  }
}
