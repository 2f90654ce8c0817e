import {
  applyEvent,
  currentValue,
  EntityWindows,
  windowFromStored,
  windowToStored,
} from '../features/windows/window-state.js';
import type { Delivery } from '../ports/event-stream.js';
import type { SqlExecutor } from '../ports/sql.js';
import type { BadEvent, GoodEvent, ParsedEvent } from './parse-event.js';
import type { PipelinePlan, PlannedView } from './pipeline-plan.js';
import type {
  EventRecord,
  LoadedEntity,
  PartitionState,
  PipelineStateStore,
  ProcessedEvent,
  RowViewState,
  StateWrite,
} from './pipeline-state-store.js';
import type { SinkRow } from './sinks.js';

/** What to do with a delivery once the batch's transaction committed. */
export type Settlement =
  | { readonly kind: 'ack'; readonly delivery: Delivery }
  | { readonly kind: 'dead-letter'; readonly delivery: Delivery; readonly reason: string };

export interface CommittedBatch {
  /** The current values of every (view, entity) the batch touched or re-delivered. */
  readonly rows: SinkRow[];
  /** One per delivery, in order. */
  readonly settlements: Settlement[];
  /** Counts of this batch (the partitions' counters already hold them). */
  readonly counts: { processed: number; late: number; deadLettered: number; duplicates: number };
  /** The newest event time per partition after the batch. */
  readonly maxEventMs: ReadonlyMap<number, number>;
}

type ViewEntity =
  | {
      kind: 'window';
      view: PlannedView;
      part: number;
      windows: EntityWindows;
      stale: number[];
      emit: boolean;
    }
  | {
      kind: 'row';
      view: PlannedView;
      part: number;
      row: RowViewState | undefined;
      changed: boolean;
      emit: boolean;
    };

/**
 * One fetched batch, in one transaction: the dedupe lookup, the partitions' watermarks, the state
 * of every entity the batch names, the events applied in delivery order (per partition, the order
 * of the log), and everything written back — state, processed ids with their outcome, watermarks
 * and counters — before the commit. Nothing is acked before this commits (the caller settles
 * after the sinks), so a crash at any point leaves either nothing of the batch or all of it.
 *
 * A redelivered event (its id already recorded) changes nothing, but the current state of its
 * entities is emitted to the sinks again: if the process died after the commit and before the
 * sinks wrote (or before the ack), the sinks would otherwise miss that state until the entity's
 * next event. Sinks are idempotent upserts, so emitting twice is harmless.
 */
export async function commitBatch(
  store: PipelineStateStore,
  plan: PipelinePlan,
  events: readonly ParsedEvent[],
  nowMs: number,
): Promise<CommittedBatch> {
  return store.transaction(async (tx) => {
    const ids = [...new Set(events.flatMap((e) => (e.id === undefined ? [] : [e.id])))];
    const seen = await store.processed(tx, plan.name, ids);
    const parts = await store.partitions(tx, plan.name, [
      ...new Set(events.map((e) => e.delivery.partition)),
    ]);
    const batch = new BatchWork(plan, seen, parts);
    const good = events.filter((e): e is GoodEvent => e.ok);
    await batch.load(store, tx, good);
    for (const event of events) {
      if (event.ok) batch.good(event);
      else batch.bad(event);
    }
    await batch.write(store, tx, nowMs);
    return batch.result();
  }, plan.name);
}

class BatchWork {
  /** Per view: entity key → its state. */
  private readonly state: Array<Map<string, ViewEntity>>;
  private readonly outcomes = new Map<string, ProcessedEvent>();
  private readonly records: EventRecord[] = [];
  private readonly settlements: Settlement[] = [];
  private readonly counts = { processed: 0, late: 0, deadLettered: 0, duplicates: 0 };

  constructor(
    private readonly plan: PipelinePlan,
    private readonly seen: ReadonlyMap<string, ProcessedEvent>,
    private readonly parts: ReadonlyMap<number, PartitionState>,
  ) {
    this.state = plan.views.map(() => new Map());
  }

  /** The stored state of every (view, entity) the good events name, duplicates included. */
  async load(store: PipelineStateStore, tx: SqlExecutor, good: readonly GoodEvent[]): Promise<void> {
    for (const [i, view] of this.plan.views.entries()) {
      const partOf = new Map<string, number>();
      for (const e of good) partOf.set(e.inputs[i]!.entityKey, e.delivery.partition);
      const loaded = view.keepsState
        ? await store.entities(tx, this.plan.name, view.name, view.definitionHash, [...partOf.keys()])
        : new Map<string, LoadedEntity>();
      for (const [key, part] of partOf) {
        const found = loaded.get(key);
        const stale = found?.stale ?? [];
        this.state[i]!.set(
          key,
          view.window !== undefined
            ? {
                kind: 'window',
                view,
                part,
                windows: new EntityWindows(
                  (found?.windows ?? []).map((w) => windowFromStored(view.window!, w)),
                ),
                stale,
                emit: false,
              }
            : { kind: 'row', view, part, row: found?.row, changed: false, emit: false },
        );
      }
    }
  }

  good(event: GoodEvent): void {
    const previous = this.outcomes.get(event.id) ?? this.seen.get(event.id);
    const part = this.parts.get(event.delivery.partition)!;
    part.lastSequence = Math.max(part.lastSequence, event.delivery.sequence);
    if (previous !== undefined && previous.outcome !== 'dead') {
      this.duplicate(event, previous, part);
      return;
    }
    if (part.maxEventMs !== undefined && event.eventTimeMs < part.maxEventMs - this.plan.maxAgeMs) {
      this.refuse(
        event,
        `ancient: event time ${new Date(event.eventTimeMs).toISOString()} is more than ${this.plan.maxAgeMs} ms before the newest of partition ${part.part} (${new Date(part.maxEventMs).toISOString()})`,
        part,
        event.eventTimeMs,
      );
      return;
    }
    let windowViews = 0;
    let lateViews = 0;
    const lateReasons: string[] = [];
    for (const [i, view] of this.plan.views.entries()) {
      const input = event.inputs[i]!;
      const entity = this.state[i]!.get(input.entityKey)!;
      if (entity.kind === 'row' && input.kind === 'row') {
        const row: RowViewState = { eventTimeMs: event.eventTimeMs, id: event.id, values: input.values };
        if (newer(row, entity.row)) {
          entity.row = row;
          entity.changed = true;
        }
        entity.emit = true;
      } else if (entity.kind === 'window' && input.kind === 'window') {
        windowViews++;
        const watermark =
          part.maxEventMs === undefined
            ? Number.NEGATIVE_INFINITY
            : part.maxEventMs - view.window!.allowedLatenessMs;
        const r = applyEvent(
          view.window!,
          entity.windows,
          { id: event.id, eventTimeMs: event.eventTimeMs, values: input.values },
          watermark,
        );
        if (r.accepted) entity.emit = true;
        else {
          lateViews++;
          lateReasons.push(r.reason);
        }
      }
    }
    part.maxEventMs = Math.max(part.maxEventMs ?? Number.NEGATIVE_INFINITY, event.eventTimeMs);
    part.processed++;
    this.counts.processed++;
    if (lateViews > 0) {
      part.late++;
      this.counts.late++;
    }
    // Late for every view it feeds: the side output (the stream's dead letters, reason `late: …`).
    const late = windowViews === this.plan.views.length && lateViews === windowViews;
    const lateReason = lateReasons.join('; ');
    const outcome: ProcessedEvent = late
      ? { outcome: 'late', reason: lateReason }
      : { outcome: 'ok', reason: null };
    this.outcomes.set(event.id, outcome);
    this.records.push({ id: event.id, ...outcome, part: part.part, eventTimeMs: event.eventTimeMs });
    this.settlements.push(
      late
        ? { kind: 'dead-letter', delivery: event.delivery, reason: clipReason(lateReason) }
        : { kind: 'ack', delivery: event.delivery },
    );
  }

  bad(event: BadEvent): void {
    const part = this.parts.get(event.delivery.partition)!;
    part.lastSequence = Math.max(part.lastSequence, event.delivery.sequence);
    const previous =
      event.id === undefined ? undefined : (this.outcomes.get(event.id) ?? this.seen.get(event.id));
    if (previous?.outcome === 'dead') {
      // The same refusal delivered again (the dead-letter move did not finish): moved again, not recounted.
      this.settlements.push({
        kind: 'dead-letter',
        delivery: event.delivery,
        reason: clipReason(event.reason),
      });
      return;
    }
    this.refuse(event, event.reason, part, null);
  }

  private refuse(event: ParsedEvent, reason: string, part: PartitionState, eventTimeMs: number | null): void {
    part.deadLettered++;
    this.counts.deadLettered++;
    if (event.id !== undefined && !this.outcomes.has(event.id) && !this.seen.has(event.id)) {
      this.outcomes.set(event.id, { outcome: 'dead', reason });
      this.records.push({ id: event.id, outcome: 'dead', reason, part: part.part, eventTimeMs });
    }
    this.settlements.push({ kind: 'dead-letter', delivery: event.delivery, reason: clipReason(reason) });
  }

  private duplicate(event: GoodEvent, previous: ProcessedEvent, part: PartitionState): void {
    part.duplicates++;
    this.counts.duplicates++;
    if (previous.outcome === 'late') {
      // Its side output may not have been written: written again (the transport keeps it once).
      this.settlements.push({
        kind: 'dead-letter',
        delivery: event.delivery,
        reason: clipReason(previous.reason ?? 'late'),
      });
      return;
    }
    for (const [i, view] of this.plan.views.entries()) {
      const input = event.inputs[i]!;
      const entity = this.state[i]!.get(input.entityKey)!;
      entity.emit = true;
      // A row view without state re-emits the event's own values (see PlannedView.keepsState).
      if (entity.kind === 'row' && input.kind === 'row' && !view.keepsState) {
        const row: RowViewState = { eventTimeMs: event.eventTimeMs, id: event.id, values: input.values };
        if (newer(row, entity.row)) entity.row = row;
      }
    }
    this.settlements.push({ kind: 'ack', delivery: event.delivery });
  }

  async write(store: PipelineStateStore, tx: SqlExecutor, nowMs: number): Promise<void> {
    const writes: StateWrite[] = [];
    const deletes: Array<{ view: string; entityKey: string; start: number }> = [];
    for (const views of this.state) {
      for (const [entityKey, e] of views) {
        // Plain literals, not `{ ...base, row }`: a spread followed by a new key leaves V8's fast
        // path on Node 20 (about 1 µs a key), and this runs for every changed window.
        const view = e.view.name;
        const { part } = e;
        const definition = e.view.definitionHash;
        if (e.kind === 'row') {
          if (e.changed && e.view.keepsState) writes.push({ view, entityKey, part, definition, row: e.row });
          continue;
        }
        for (const w of e.windows.changed)
          writes.push({ view, entityKey, part, definition, window: windowToStored(e.view.window!, w) });
        for (const start of [...e.windows.deletedStarts(), ...e.stale]) {
          if (!e.windows.windows.some((w) => w.start === start))
            deletes.push({ view: e.view.name, entityKey, start });
        }
      }
    }
    await store.deleteState(tx, this.plan.name, deletes);
    await store.writeState(tx, this.plan.name, writes, nowMs);
    await store.recordEvents(tx, this.plan.name, this.records, nowMs);
    await store.writePartitions(tx, this.plan.name, this.parts.values(), nowMs);
  }

  result(): CommittedBatch {
    const rows: SinkRow[] = [];
    for (const views of this.state) {
      for (const [entityKey, e] of views) {
        if (!e.emit) continue;
        if (e.kind === 'row') {
          if (e.row !== undefined)
            rows.push({ view: e.view, entityKey, eventTimeMs: e.row.eventTimeMs, values: e.row.values });
          continue;
        }
        const latest = e.windows.latestEventMs();
        const current = latest === undefined ? undefined : currentValue(e.view.window!, e.windows, latest);
        if (current !== undefined)
          rows.push({ view: e.view, entityKey, eventTimeMs: current.eventTimeMs, values: current.values });
      }
    }
    const maxEventMs = new Map<number, number>();
    for (const p of this.parts.values()) if (p.maxEventMs !== undefined) maxEventMs.set(p.part, p.maxEventMs);
    return { rows, settlements: this.settlements, counts: this.counts, maxEventMs };
  }
}

/** A row view keeps the newest event: later event time, then the larger id (order-free, like `last`). */
function newer(a: RowViewState, b: RowViewState | undefined): boolean {
  if (b === undefined) return true;
  if (a.eventTimeMs !== b.eventTimeMs) return a.eventTimeMs > b.eventTimeMs;
  return a.id >= b.id;
}

/** The transports keep reasons of at most 1024 bytes. */
function clipReason(reason: string): string {
  return Buffer.byteLength(reason) <= 1000 ? reason : `${reason.slice(0, 300)}…`;
}
