/**
 * A latency histogram of fixed, logarithmic buckets (the DDSketch layout): memory is bounded whatever the
 * traffic, and two histograms merge exactly by adding bucket counts, so replicas' histograms stored in a
 * database sum to the histogram of all their requests.
 *
 * Accuracy: a quantile is the nearest-rank quantile of the recorded values (the smallest value with at
 * least ceil(q·n) values at or below it) to within a relative error of `relativeAccuracy` (1 % by default),
 * and never outside the exact observed [min, max]. Values below `minMs` (1 µs) share one bucket and are off
 * by at most `minMs`; values above `maxMs` (1 h) share the top bucket and read as at most the observed max.
 */
import { ErrorCode, FerryError } from '../../core/errors.js';
import { asRecord, invalidState, readCount, readNumber } from './persisted-json.js';

export interface LatencyHistogramOptions {
  relativeAccuracy?: number;
  minMs?: number;
  maxMs?: number;
}

export interface LatencySummary {
  count: number;
  /** Null when nothing was recorded: an absent measurement, never a zero latency. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface LatencyHistogramJSON {
  relativeAccuracy: number;
  minMs: number;
  maxMs: number;
  count: number;
  min: number | null;
  max: number | null;
  /** Values below minMs. */
  zero: number;
  /** [bucket index, count] for the non-empty buckets, by index. */
  buckets: [number, number][];
}

const DEFAULTS = { relativeAccuracy: 0.01, minMs: 0.001, maxMs: 3_600_000 } as const;
/** About 1,100 buckets at the defaults; a bound, so a careless option cannot allocate gigabytes. */
const MAX_BUCKETS = 100_000;

export class LatencyHistogram {
  readonly relativeAccuracy: number;
  readonly minMs: number;
  readonly maxMs: number;
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly minIndex: number;
  private readonly counts: Float64Array;
  private zero = 0;
  private total = 0;
  private minSeen = Number.POSITIVE_INFINITY;
  private maxSeen = Number.NEGATIVE_INFINITY;

  constructor(options: LatencyHistogramOptions = {}) {
    const relativeAccuracy = options.relativeAccuracy ?? DEFAULTS.relativeAccuracy;
    const minMs = options.minMs ?? DEFAULTS.minMs;
    const maxMs = options.maxMs ?? DEFAULTS.maxMs;
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw configError('relativeAccuracy must be within (0, 1)', { relativeAccuracy });
    }
    if (!(Number.isFinite(minMs) && minMs > 0 && Number.isFinite(maxMs) && maxMs > minMs)) {
      throw configError('need 0 < minMs < maxMs, both finite', { minMs, maxMs });
    }
    this.relativeAccuracy = relativeAccuracy;
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
    this.minIndex = this.indexOf(minMs);
    const size = this.indexOf(maxMs) - this.minIndex + 1;
    if (size > MAX_BUCKETS) {
      throw configError(`these options need ${size} buckets, more than ${MAX_BUCKETS}`, { ...options });
    }
    this.counts = new Float64Array(size);
  }

  get count(): number {
    return this.total;
  }

  /** Throws on a negative or non-finite value: a broken clock must show up, not skew the p99. */
  record(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new FerryError(
        ErrorCode.EXPERIMENT_INVALID_STATS_INPUT,
        'a latency must be a finite number >= 0',
        {
          details: { latencyMs: ms },
        },
      );
    }
    if (ms < this.minMs) this.zero += 1;
    else this.counts[Math.min(this.indexOf(ms) - this.minIndex, this.counts.length - 1)]! += 1;
    this.total += 1;
    if (ms < this.minSeen) this.minSeen = ms;
    if (ms > this.maxSeen) this.maxSeen = ms;
  }

  /** Nearest-rank quantile, q in [0, 1]; null when empty. */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1)) {
      throw new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, 'a quantile must be within [0, 1]', {
        details: { q },
      });
    }
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.total));
    // The extreme ranks are known exactly.
    if (rank === 1) return this.minSeen;
    if (rank === this.total) return this.maxSeen;
    let seen = this.zero;
    if (seen >= rank) return this.minSeen;
    for (let k = 0; k < this.counts.length; k++) {
      seen += this.counts[k]!;
      if (seen >= rank) {
        // The bucket's value that is within relativeAccuracy of every value the bucket can hold.
        const estimate = (2 * this.gamma ** (this.minIndex + k)) / (this.gamma + 1);
        return Math.min(this.maxSeen, Math.max(this.minSeen, estimate));
      }
    }
    return this.maxSeen;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      max: this.total === 0 ? null : this.maxSeen,
    };
  }

  /** Adds `other` into this histogram; both must share their options or the buckets would not line up. */
  merge(other: LatencyHistogram): this {
    if (!this.sameLayout(other)) {
      throw invalidState('cannot merge latency histograms with different options', {
        left: this.options(),
        right: other.options(),
      });
    }
    for (let k = 0; k < this.counts.length; k++) this.counts[k]! += other.counts[k]!;
    this.zero += other.zero;
    this.total += other.total;
    this.minSeen = Math.min(this.minSeen, other.minSeen);
    this.maxSeen = Math.max(this.maxSeen, other.maxSeen);
    return this;
  }

  clone(): LatencyHistogram {
    return new LatencyHistogram(this.options()).merge(this);
  }

  toJSON(): LatencyHistogramJSON {
    const buckets: [number, number][] = [];
    this.counts.forEach((count, k) => {
      if (count > 0) buckets.push([this.minIndex + k, count]);
    });
    return {
      ...this.options(),
      count: this.total,
      min: this.total === 0 ? null : this.minSeen,
      max: this.total === 0 ? null : this.maxSeen,
      zero: this.zero,
      buckets,
    };
  }

  static fromJSON(value: unknown): LatencyHistogram {
    const what = 'latency histogram';
    const json = asRecord(value, what);
    const h = new LatencyHistogram({
      relativeAccuracy: readNumber(json, 'relativeAccuracy', what),
      minMs: readNumber(json, 'minMs', what),
      maxMs: readNumber(json, 'maxMs', what),
    });
    const count = readCount(json, 'count', what);
    h.zero = readCount(json, 'zero', what);
    if (!Array.isArray(json.buckets)) throw invalidState(`${what}.buckets must be an array`);
    let sum = h.zero;
    for (const entry of json.buckets as unknown[]) {
      const [index, n] = Array.isArray(entry) ? entry : [];
      const k = typeof index === 'number' ? index - h.minIndex : Number.NaN;
      if (!(Number.isInteger(k) && k >= 0 && k < h.counts.length && Number.isSafeInteger(n) && n > 0)) {
        throw invalidState(`${what} has an invalid bucket`, { bucket: entry });
      }
      h.counts[k]! += n as number;
      sum += n as number;
    }
    if (sum !== count) throw invalidState(`${what} counts do not add up`, { count, buckets: sum });
    h.total = count;
    if (count > 0) {
      const min = readNumber(json, 'min', what);
      const max = readNumber(json, 'max', what);
      if (!(min >= 0 && max >= min)) throw invalidState(`${what} has an invalid min/max`, { min, max });
      h.minSeen = min;
      h.maxSeen = max;
    }
    return h;
  }

  private options(): Required<LatencyHistogramOptions> {
    return { relativeAccuracy: this.relativeAccuracy, minMs: this.minMs, maxMs: this.maxMs };
  }

  private sameLayout(other: LatencyHistogram): boolean {
    return (
      other.relativeAccuracy === this.relativeAccuracy &&
      other.minMs === this.minMs &&
      other.maxMs === this.maxMs
    );
  }

  /** Bucket i holds (γ^(i-1), γ^i]. */
  private indexOf(ms: number): number {
    return Math.ceil(Math.log(ms) / this.logGamma);
  }
}

function configError(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.CONFIG_INVALID, `invalid latency histogram options: ${message}`, {
    details,
  });
}
