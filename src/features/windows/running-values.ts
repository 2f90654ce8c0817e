import type { FeatureValue } from '../../ports/online-feature-store.js';
import type { BatchRow } from './aggregate-batch.js';
import { applyEvent, currentValue, EntityWindows, fixedWindowsOf } from './window-state.js';
import type { WindowView } from './window-view.js';

/** The value a windowed view had for one entity at one event time. */
export interface RunningValue {
  readonly eventTimeMs: number;
  readonly values: Record<string, FeatureValue>;
}

export interface RunningEntity {
  readonly entityKey: string;
  /** One value per distinct event time asked for, oldest first. */
  readonly values: readonly RunningValue[];
}

/**
 * Every value a windowed view had over a batch of rows, point in time: for each entity and each
 * distinct event time `t` of its rows that `emitAt(t)` asks for, `currentValue` at `t` computed from
 * the entity's rows with an event time at or before `t` — what an online read saw right after the
 * entity's events up to `t` were processed in event-time order. No value ever holds a row from after
 * its own time, so a point-in-time join over these values cannot see the future.
 *
 * It equals what a stream pipeline writes when it sees the same events in event-time order (nothing
 * late), one batch per event: after each event, `currentValue` at the entity's newest event time.
 * The last value of an entity is `aggregateBatch`'s `current` over the rows up to its time.
 *
 * Rows are taken in event-time order (ties: any order; every aggregation is order-free). Rows that
 * cannot change an asked-for value are skipped: after the newest asked-for time, and for tumbling
 * and hopping windows before the oldest window holding the oldest asked-for time (a session can be
 * arbitrarily long, so every earlier row of the entity counts). Windows that end before the next
 * row's time can take no more rows and hold no later time: they are dropped as the rows advance, so
 * an entity's state stays one tumbling window, one session, or size/hop hopping windows.
 *
 * `id` of a row: the tie-break of `last` (default: its position in `rows`, so a later row wins).
 * Entities come back in the order of their first row; those with no asked-for time are left out.
 */
export function runningValues(
  view: WindowView,
  rows: readonly BatchRow[],
  emitAt: (eventTimeMs: number) => boolean = () => true,
): RunningEntity[] {
  const width = String(rows.length).length;
  const byEntity = new Map<string, Array<{ row: BatchRow; id: string }>>();
  rows.forEach((row, i) => {
    const id = row.id ?? String(i).padStart(width, '0');
    const group = byEntity.get(row.entityKey);
    if (group === undefined) byEntity.set(row.entityKey, [{ row, id }]);
    else group.push({ row, id });
  });
  const out: RunningEntity[] = [];
  for (const [entityKey, group] of byEntity) {
    const values = entityValues(view, group, emitAt);
    if (values.length > 0) out.push({ entityKey, values });
  }
  return out;
}

function entityValues(
  view: WindowView,
  group: Array<{ row: BatchRow; id: string }>,
  emitAt: (eventTimeMs: number) => boolean,
): RunningValue[] {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { row } of group) {
    const t = row.eventTimeMs;
    if (emitAt(t)) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  if (first === Number.POSITIVE_INFINITY) return [];
  // Rows before the oldest window holding `first` are in no window holding an asked-for time.
  const from =
    view.window.type === 'session' ? Number.NEGATIVE_INFINITY : fixedWindowsOf(view, first)[0]!.start;
  const used = group.filter(({ row }) => row.eventTimeMs >= from && row.eventTimeMs <= last);
  used.sort((a, b) => a.row.eventTimeMs - b.row.eventTimeMs);

  const entity = new EntityWindows();
  const out: RunningValue[] = [];
  let i = 0;
  while (i < used.length) {
    const t = used[i]!.row.eventTimeMs;
    // Sorted by start, windows are sorted by end too (fixed sizes; sessions are disjoint). A window
    // that ends before t takes no row at or after t (a session touching t would end at t or later).
    while (entity.windows.length > 0 && entity.windows[0]!.end < t) entity.remove(entity.windows[0]!);
    for (; i < used.length && used[i]!.row.eventTimeMs === t; i++) {
      const { row, id } = used[i]!;
      applyEvent(view, entity, { id, eventTimeMs: t, values: row.values }, Number.NEGATIVE_INFINITY);
    }
    if (!emitAt(t)) continue;
    // The rows at t were just added: a window holds t, and its newest event is t.
    const current = currentValue(view, entity, t)!;
    out.push({ eventTimeMs: current.eventTimeMs, values: current.values });
  }
  return out;
}
