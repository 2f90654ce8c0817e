/**
 * One arm's statistics over one canary analysis window (one step): requests, errors, latency, the labels it
 * predicted and, when the experiment has one, a binary outcome. All fields are sums, so each replica keeps
 * its own and the window's figures are the merge of their persisted rows.
 */
import { ErrorCode, FerryError } from '../../core/errors.js';
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

/** One answered (or failed) request. */
export interface RequestRecord {
  /** Recorded for successful requests only, so fast failures cannot flatter the p99. */
  latencyMs?: number;
  error?: boolean;
  /** The predicted label of each item. */
  labels?: readonly string[];
}

/** Plain data, as the canary controller reads it (and as a dashboard may show it). */
export interface RequestStatsSnapshot {
  requests: number;
  errors: number;
  /** errors / requests; null without requests. */
  errorRate: number | null;
  latency: LatencySummary;
  labelCounts: Record<string, number>;
  outcomes?: { units: number; successes: number; rate: number | null };
}

export interface RequestStatsJSON {
  version: 1;
  requests: number;
  errors: number;
  latency: LatencyHistogramJSON;
  labelCounts: Record<string, number>;
  outcomes: { units: number; successes: number };
}

export class RequestStats {
  requests = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  private readonly labels = new Map<string, number>();
  private units = 0;
  private successes = 0;

  /** Validates before counting anything, so a bad record throws without leaving half of itself behind. */
  record(request: RequestRecord): void {
    const { latencyMs, error = false, labels = [] } = request;
    if (latencyMs !== undefined && !(Number.isFinite(latencyMs) && latencyMs >= 0)) {
      throw badInput('latencyMs must be a finite number >= 0', { latencyMs });
    }
    for (const label of labels) {
      if (typeof label !== 'string') throw badInput('labels must be strings', { label });
    }
    if (error) {
      this.recordFailure();
      return;
    }
    this.recordSuccess(latencyMs);
    for (const label of labels) this.countLabel(label);
  }

  /**
   * The parts of `record`, for the canary's per-request path, which calls them without building a
   * record and a label list for every request: a failed request...
   */
  recordFailure(): void {
    this.requests += 1;
    this.errors += 1;
  }

  /** ...an answered one (its latency when it was not a cache hit)... */
  recordSuccess(latencyMs: number | undefined): void {
    if (latencyMs !== undefined && !(Number.isFinite(latencyMs) && latencyMs >= 0)) {
      throw badInput('latencyMs must be a finite number >= 0', { latencyMs });
    }
    this.requests += 1;
    if (latencyMs !== undefined) this.latency.record(latencyMs);
  }

  /** ...and each label it predicted. */
  countLabel(label: string): void {
    this.labels.set(label, (this.labels.get(label) ?? 0) + 1);
  }

  /** One unit's binary outcome (e.g. the user accepted the tag); deduplicating events is the caller's job. */
  recordOutcome(success: boolean): void {
    this.units += 1;
    if (success) this.successes += 1;
  }

  snapshot(): RequestStatsSnapshot {
    return {
      requests: this.requests,
      errors: this.errors,
      errorRate: this.requests === 0 ? null : this.errors / this.requests,
      latency: this.latency.summary(),
      labelCounts: countsToRecord(this.labels),
      outcomes: {
        units: this.units,
        successes: this.successes,
        rate: this.units === 0 ? null : this.successes / this.units,
      },
    };
  }

  merge(other: RequestStats): this {
    this.requests += other.requests;
    this.errors += other.errors;
    this.latency.merge(other.latency);
    addCounts(this.labels, other.labels);
    this.units += other.units;
    this.successes += other.successes;
    return this;
  }

  clone(): RequestStats {
    return new RequestStats().merge(this);
  }

  toJSON(): RequestStatsJSON {
    return {
      version: 1,
      requests: this.requests,
      errors: this.errors,
      latency: this.latency.toJSON(),
      labelCounts: countsToRecord(this.labels),
      outcomes: { units: this.units, successes: this.successes },
    };
  }

  static fromJSON(value: unknown): RequestStats {
    const what = 'request stats';
    const json = asRecord(value, what);
    if (json.version !== 1) throw invalidState(`unknown ${what} version`, { version: json.version });
    const stats = new RequestStats();
    stats.requests = readCount(json, 'requests', what);
    stats.errors = readCount(json, 'errors', what);
    stats.latency.merge(LatencyHistogram.fromJSON(json.latency));
    addCounts(stats.labels, readCountMap(json.labelCounts, `${what}.labelCounts`));
    const outcomes = asRecord(json.outcomes, `${what}.outcomes`);
    stats.units = readCount(outcomes, 'units', `${what}.outcomes`);
    stats.successes = readCount(outcomes, 'successes', `${what}.outcomes`);
    if (stats.errors > stats.requests || stats.latency.count > stats.requests - stats.errors) {
      throw invalidState(`${what}: errors and latencies exceed the requests`, {
        requests: stats.requests,
        errors: stats.errors,
        latencies: stats.latency.count,
      });
    }
    if (stats.successes > stats.units) {
      throw invalidState(`${what}: more successes than units`, {
        units: stats.units,
        successes: stats.successes,
      });
    }
    return stats;
  }
}

function badInput(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, message, { details });
}
