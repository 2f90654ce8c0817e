import { isFerryError } from '../core/errors.js';
import type { FeatureValue, OnlineFeatureRow, OnlineFeatureStore } from '../ports/online-feature-store.js';
import { isTransient } from './backoff.js';
import type { PipelineMetrics } from './metrics.js';
import type { PipelinePlan, PlannedView } from './pipeline-plan.js';
import type { PredictionsSink } from './predictions-sink.js';

/** One (view, entity)'s current values after a batch: what every sink writes. */
export interface SinkRow {
  readonly view: PlannedView;
  readonly entityKey: string;
  readonly eventTimeMs: number;
  readonly values: Record<string, FeatureValue>;
}

/**
 * Where the offline sink writes: `features/offline-store.ts`'s `writeOfflineRows` over the Ferry
 * database, passed in by the wiring (an interface, so a test or another store can stand in).
 */
export interface OfflineWriter {
  write(rows: readonly OnlineFeatureRow[]): Promise<void>;
}

export interface SinkTargets {
  readonly online?: OnlineFeatureStore;
  readonly offline?: OfflineWriter;
  readonly predictions?: readonly PredictionsSink[];
}

export interface SinkLog {
  warn(obj: object, msg: string): void;
}

/**
 * Writes a batch's rows to the pipeline's sinks. Every sink is an idempotent upsert: the online
 * store keeps the newer event time, the offline store one row per (view, entity, event time), the
 * prediction store one prediction per entity, computed from the entity's current state. Writing a
 * batch again (a redelivered event after a crash) therefore changes nothing, or brings a sink up to
 * date with the state.
 *
 * A transient failure (a backend down) is thrown for the caller to wait out and retry. Any other
 * failure is isolated to the rows it concerns (tried one by one), and those rows are logged and
 * counted in `sinkErrors`, never blocking the stream.
 */
export class PipelineSinks {
  constructor(
    private readonly plan: PipelinePlan,
    private readonly targets: SinkTargets,
    private readonly metrics: PipelineMetrics,
    private readonly log: SinkLog,
  ) {}

  async write(rows: readonly SinkRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (const sink of this.plan.sinks) {
      if (sink.kind === 'online') await this.online(rows.filter((r) => r.view.online));
      else if (sink.kind === 'offline') await this.offline(rows);
    }
    for (const p of this.targets.predictions ?? []) {
      const { written, refused } = await p.write(rows);
      this.metrics.addSinkRows('predictions', written);
      this.metrics.sinkErrors += refused;
    }
  }

  private async online(rows: readonly SinkRow[]): Promise<void> {
    const store = this.targets.online!;
    // One call per view: the TTL bounds how long a backend keeps the view's rows.
    for (const [view, group] of byView(rows)) {
      const written = await isolate(
        group.map(toOnline),
        (part) => store.writeMany(part, { expireAfterMs: view.ttlMs > 0 ? view.ttlMs : undefined }),
        (row, e) => this.refused('online', row, e),
      );
      this.metrics.addSinkRows('online', written);
    }
  }

  private async offline(rows: readonly SinkRow[]): Promise<void> {
    const writer = this.targets.offline!;
    const written = await isolate(
      rows.map(toOnline),
      async (part) => {
        await writer.write(part);
        return part.length;
      },
      (row, e) => this.refused('offline', row, e),
    );
    this.metrics.addSinkRows('offline', written);
  }

  private refused(sink: string, row: OnlineFeatureRow, e: unknown): void {
    this.metrics.sinkErrors += 1;
    this.log.warn(
      { sink, view: row.view, entityKey: row.entityKey, err: isFerryError(e) ? e.toJSON() : String(e) },
      'a sink refused a row; it is skipped',
    );
  }
}

function toOnline(row: SinkRow): OnlineFeatureRow {
  return { view: row.view.name, entityKey: row.entityKey, eventTimeMs: row.eventTimeMs, values: row.values };
}

function byView(rows: readonly SinkRow[]): Map<PlannedView, SinkRow[]> {
  const out = new Map<PlannedView, SinkRow[]>();
  for (const row of rows) {
    const group = out.get(row.view);
    if (group === undefined) out.set(row.view, [row]);
    else group.push(row);
  }
  return out;
}

/**
 * Writes all rows at once; when that fails for a reason that is not transient, halves until the
 * rows that fail alone are found, and reports those. Transient failures are thrown.
 */
async function isolate<T>(
  rows: readonly T[],
  write: (rows: readonly T[]) => Promise<number>,
  refused: (row: T, e: unknown) => void,
): Promise<number> {
  if (rows.length === 0) return 0;
  try {
    return await write(rows);
  } catch (e) {
    if (isTransient(e)) throw e;
    if (rows.length === 1) {
      refused(rows[0]!, e);
      return 0;
    }
    const mid = rows.length >> 1;
    return (
      (await isolate(rows.slice(0, mid), write, refused)) + (await isolate(rows.slice(mid), write, refused))
    );
  }
}
