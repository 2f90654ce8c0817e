/**
 * The raw counters of a shadow test. Every field is a sum (or a histogram, which merges by sums), so each
 * replica can persist its own counters and the report over all replicas is the merge of their rows.
 * Counts are in items (one request may carry several); latencies are per request.
 */
import { outputLabel } from '../../model/rows.js';
import type { NamedTensors } from '../../model/tensor.js';
import {
  LatencyHistogram,
  type LatencyHistogramJSON,
  type LatencySummary,
} from '../shared/latency-histogram.js';
import {
  addCounts,
  asRecord,
  countsToRecord,
  invalidState,
  readCount,
  readCountMap,
} from '../shared/persisted-json.js';

export interface ShadowReport {
  /** Items passed to mirror(), sampled or not. */
  offered: number;
  /** Sampled items accepted into the queue. */
  mirrored: number;
  /** Sampled items refused because the queue was full or the mirror was stopped. */
  dropped: number;
  /** Accepted items abandoned by stop() before the candidate ran them. */
  discarded: number;
  /** Items for which both production and the shadow produced a label. */
  compared: number;
  agreed: number;
  /** agreed / compared; null before anything was compared. */
  agreement: number | null;
  /** confusion[productionLabel][shadowLabel] = items. */
  confusion: Record<string, Record<string, number>>;
  /** Successful requests only, in ms; the shadow's is the wall time of its predict call. */
  latency: { production: LatencySummary; shadow: LatencySummary };
  /** Items without a label from that side (the call failed, or its answer for the item was malformed). */
  errors: { production: number; shadow: number };
}

export interface ShadowStatsJSON {
  version: 1;
  offered: number;
  mirrored: number;
  dropped: number;
  discarded: number;
  compared: number;
  agreed: number;
  confusion: Record<string, Record<string, number>>;
  latency: { production: LatencyHistogramJSON; shadow: LatencyHistogramJSON };
  errors: { production: number; shadow: number };
}

/** One mirrored request after the candidate ran; `undefined` predictions mean that side failed. */
export interface ShadowOutcome {
  size: number;
  production: readonly NamedTensors[] | undefined;
  productionLatencyMs: number | undefined;
  shadow: readonly NamedTensors[] | undefined;
  shadowLatencyMs: number | undefined;
}

export class ShadowStats {
  offered = 0;
  mirrored = 0;
  dropped = 0;
  discarded = 0;
  compared = 0;
  agreed = 0;
  productionErrors = 0;
  shadowErrors = 0;
  readonly productionLatency = new LatencyHistogram();
  readonly shadowLatency = new LatencyHistogram();
  private readonly confusion = new Map<string, Map<string, number>>();

  recordOutcome(outcome: ShadowOutcome): void {
    for (let i = 0; i < outcome.size; i++) {
      const prod = labelOf(outcome.production?.[i]);
      const shadow = labelOf(outcome.shadow?.[i]);
      if (prod === undefined) this.productionErrors += 1;
      if (shadow === undefined) this.shadowErrors += 1;
      if (prod === undefined || shadow === undefined) continue;
      this.compared += 1;
      if (prod === shadow) this.agreed += 1;
      let row = this.confusion.get(prod);
      if (row === undefined) {
        row = new Map();
        this.confusion.set(prod, row);
      }
      row.set(shadow, (row.get(shadow) ?? 0) + 1);
    }
    if (outcome.production !== undefined) recordLatency(this.productionLatency, outcome.productionLatencyMs);
    if (outcome.shadow !== undefined) recordLatency(this.shadowLatency, outcome.shadowLatencyMs);
  }

  report(): ShadowReport {
    return {
      offered: this.offered,
      mirrored: this.mirrored,
      dropped: this.dropped,
      discarded: this.discarded,
      compared: this.compared,
      agreed: this.agreed,
      agreement: this.compared === 0 ? null : this.agreed / this.compared,
      confusion: this.confusionRecord(),
      latency: { production: this.productionLatency.summary(), shadow: this.shadowLatency.summary() },
      errors: { production: this.productionErrors, shadow: this.shadowErrors },
    };
  }

  /** Adds `other` into these counters (for summing replicas' rows); returns this. */
  merge(other: ShadowStats): this {
    this.offered += other.offered;
    this.mirrored += other.mirrored;
    this.dropped += other.dropped;
    this.discarded += other.discarded;
    this.compared += other.compared;
    this.agreed += other.agreed;
    this.productionErrors += other.productionErrors;
    this.shadowErrors += other.shadowErrors;
    this.productionLatency.merge(other.productionLatency);
    this.shadowLatency.merge(other.shadowLatency);
    for (const [prod, row] of other.confusion) {
      let mine = this.confusion.get(prod);
      if (mine === undefined) {
        mine = new Map();
        this.confusion.set(prod, mine);
      }
      addCounts(mine, row);
    }
    return this;
  }

  clone(): ShadowStats {
    return new ShadowStats().merge(this);
  }

  toJSON(): ShadowStatsJSON {
    return {
      version: 1,
      offered: this.offered,
      mirrored: this.mirrored,
      dropped: this.dropped,
      discarded: this.discarded,
      compared: this.compared,
      agreed: this.agreed,
      confusion: this.confusionRecord(),
      latency: { production: this.productionLatency.toJSON(), shadow: this.shadowLatency.toJSON() },
      errors: { production: this.productionErrors, shadow: this.shadowErrors },
    };
  }

  static fromJSON(value: unknown): ShadowStats {
    const what = 'shadow stats';
    const json = asRecord(value, what);
    if (json.version !== 1) throw invalidState(`unknown ${what} version`, { version: json.version });
    const stats = new ShadowStats();
    stats.offered = readCount(json, 'offered', what);
    stats.mirrored = readCount(json, 'mirrored', what);
    stats.dropped = readCount(json, 'dropped', what);
    stats.discarded = readCount(json, 'discarded', what);
    stats.compared = readCount(json, 'compared', what);
    stats.agreed = readCount(json, 'agreed', what);
    const errors = asRecord(json.errors, `${what}.errors`);
    stats.productionErrors = readCount(errors, 'production', `${what}.errors`);
    stats.shadowErrors = readCount(errors, 'shadow', `${what}.errors`);
    const latency = asRecord(json.latency, `${what}.latency`);
    stats.productionLatency.merge(LatencyHistogram.fromJSON(latency.production));
    stats.shadowLatency.merge(LatencyHistogram.fromJSON(latency.shadow));
    let cells = 0;
    let diagonal = 0;
    for (const [prod, row] of Object.entries(asRecord(json.confusion, `${what}.confusion`))) {
      const counts = readCountMap(row, `${what}.confusion`);
      for (const [shadow, n] of counts) {
        cells += n;
        if (shadow === prod) diagonal += n;
      }
      if (counts.size > 0) stats.confusion.set(prod, counts);
    }
    if (cells !== stats.compared || diagonal !== stats.agreed || stats.agreed > stats.compared) {
      throw invalidState(`${what}: the confusion matrix does not match compared/agreed`, {
        compared: stats.compared,
        agreed: stats.agreed,
        cells,
        diagonal,
      });
    }
    return stats;
  }

  private confusionRecord(): Record<string, Record<string, number>> {
    const sorted = [...this.confusion].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(sorted.map(([prod, row]) => [prod, countsToRecord(row)]));
  }
}

/** The answer compared between production and the shadow (model/rows.ts outputLabel: a classifier's label). */
function labelOf(p: NamedTensors | undefined): string | undefined {
  return typeof p === 'object' && p !== null ? outputLabel(p) : undefined;
}

/** Latency arrives from outside this module; a bad value loses one sample, never the comparison. */
function recordLatency(histogram: LatencyHistogram, ms: number | undefined): void {
  if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) histogram.record(ms);
}
