import type { FeatureValue } from '../../ports/online-feature-store.js';
import { applyEvent, type CurrentValue, currentValue, EntityWindows, windowValues } from './window-state.js';
import type { WindowView } from './window-view.js';

/** One source row of a windowed view, already keyed and timed by the caller. */
export interface BatchRow {
  readonly entityKey: string;
  readonly eventTimeMs: number;
  /** Ties of `last` are broken by id; default: the row's position, so a later row wins. */
  readonly id?: string;
  /** The row's values for the view's aggregations: `prepareEvent`'s (a row it refuses is the caller's bad row). */
  readonly values: readonly unknown[];
}

export interface BatchWindow {
  readonly start: number;
  readonly end: number;
  /** The newest event time in the window. */
  readonly eventTimeMs: number;
  readonly events: number;
  readonly values: Record<string, FeatureValue>;
}

export interface BatchEntity {
  readonly entityKey: string;
  /** Every window of the entity, oldest first (sessions merged). */
  readonly windows: readonly BatchWindow[];
  /** What an online read sees after these rows: `currentValue` at the entity's newest event time. */
  readonly current: CurrentValue;
}

/**
 * The windows of a view over a batch of rows (a file, a table), with the stream's rules but no
 * lateness: a batch has all its rows at once, so nothing is late and the order of rows does not
 * change the result. `ferry features materialize` uses it for windowed views, so a view computed
 * from files equals the same view computed from a stream that saw no late events.
 *
 * Entities come back in the order of their first row.
 */
export function aggregateBatch(view: WindowView, rows: readonly BatchRow[]): BatchEntity[] {
  const entities = new Map<string, EntityWindows>();
  const width = String(rows.length).length;
  rows.forEach((row, i) => {
    let entity = entities.get(row.entityKey);
    if (entity === undefined) {
      entity = new EntityWindows();
      entities.set(row.entityKey, entity);
    }
    const id = row.id ?? String(i).padStart(width, '0');
    applyEvent(
      view,
      entity,
      { id, eventTimeMs: row.eventTimeMs, values: row.values },
      Number.NEGATIVE_INFINITY,
    );
  });
  const out: BatchEntity[] = [];
  for (const [entityKey, entity] of entities) {
    const latest = entity.latestEventMs();
    if (latest === undefined) continue;
    out.push({
      entityKey,
      windows: entity.windows.map((w) => ({
        start: w.start,
        end: w.end,
        eventTimeMs: w.lastEventMs,
        events: w.events,
        values: windowValues(view, w),
      })),
      current: currentValue(view, entity, latest)!,
    });
  }
  return out;
}
