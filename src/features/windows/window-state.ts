import type { FeatureValue } from '../../ports/online-feature-store.js';
import {
  type Acc,
  accFromJson,
  accResult,
  accToJson,
  addToAcc,
  emptyAcc,
  mergeAccs,
  prepareValue,
} from './accumulators.js';
import type { WindowView } from './window-view.js';

/*
 * The window engine, Flink's event-time semantics over one entity's windows, pure (no I/O, no
 * clock): the caller owns the watermark and the storage.
 *
 * - Windows are aligned on the epoch: tumbling [k·size, (k+1)·size), hopping [k·hop, k·hop + size)
 *   (an event belongs to every hopping window that contains it), sessions [t, t + gap) merged with
 *   every session they touch (Flink's rule: `a.start <= b.end && a.end >= b.start`).
 * - Watermark = the newest event time seen (per partition, by the caller) − allowedLateness. A
 *   window is final once the watermark is >= its end.
 * - An event is added to each of its windows that is not final; when all of them are final (for a
 *   session: when the session it merges into is final) it is LATE and changes nothing.
 */

/** One window of one entity: its bounds, the newest event time in it, and one accumulator per aggregation. */
export interface WindowState {
  readonly start: number;
  end: number;
  /** Newest event time added (the online row's event time). */
  lastEventMs: number;
  /** Events added. */
  events: number;
  accs: Acc[];
}

/**
 * An event as the engine sees it: its id (tie-break of `last`), event time and the value each
 * aggregation reads (`prepareEvent`), in the order of the view's aggregations.
 */
export interface WindowEvent {
  readonly id: string;
  readonly eventTimeMs: number;
  readonly values: readonly unknown[];
}

export type ApplyResult =
  | { readonly accepted: true; readonly windows: number }
  | { readonly accepted: false; readonly reason: string };

/**
 * One entity's windows of one view, sorted by start, with what changed since they were loaded (the
 * processor writes back `changed` windows and deletes `deletedStarts()`).
 */
export class EntityWindows {
  readonly windows: WindowState[];
  readonly changed = new Set<WindowState>();
  private readonly removed = new Set<number>();

  constructor(windows: WindowState[] = []) {
    this.windows = windows.sort((a, b) => a.start - b.start);
  }

  /** Starts of windows that were removed (merged or pruned) and not replaced by a window of the same start. */
  deletedStarts(): number[] {
    const kept = new Set(this.windows.map((w) => w.start));
    return [...this.removed].filter((s) => !kept.has(s));
  }

  /** The newest event time of any window kept; undefined when there is none. */
  latestEventMs(): number | undefined {
    let latest: number | undefined;
    for (const w of this.windows) if (latest === undefined || w.lastEventMs > latest) latest = w.lastEventMs;
    return latest;
  }

  find(start: number): WindowState | undefined {
    return this.windows.find((w) => w.start === start);
  }

  insert(w: WindowState): void {
    let i = this.windows.length;
    while (i > 0 && this.windows[i - 1]!.start > w.start) i--;
    this.windows.splice(i, 0, w);
    this.changed.add(w);
  }

  remove(w: WindowState): void {
    const i = this.windows.indexOf(w);
    if (i >= 0) this.windows.splice(i, 1);
    this.changed.delete(w);
    this.removed.add(w.start);
  }
}

export type PreparedEvent =
  | { readonly ok: true; readonly values: readonly unknown[] }
  | { readonly ok: false; readonly reason: string };

/**
 * The value each of the view's aggregations reads from the fields, converted to the type it reads
 * (see `prepareValue`; two aggregations of one field may read it differently), or the first reason
 * one cannot be. Events and batch rows go through it before `applyEvent`.
 */
export function prepareEvent(view: WindowView, fields: Readonly<Record<string, unknown>>): PreparedEvent {
  const values: unknown[] = new Array(view.aggregations.length);
  for (let i = 0; i < view.aggregations.length; i++) {
    const agg = view.aggregations[i]!;
    if (agg.field === undefined) {
      values[i] = null;
      continue;
    }
    const r = prepareValue(agg, Object.hasOwn(fields, agg.field) ? fields[agg.field] : undefined);
    if (!r.ok) return r;
    values[i] = r.value;
  }
  return { ok: true, values };
}

/** The [start, end) bounds of the tumbling or hopping windows holding `t`, oldest first. */
export function fixedWindowsOf(view: WindowView, t: number): Array<{ start: number; end: number }> {
  const w = view.window;
  if (w.type === 'tumbling') {
    const start = Math.floor(t / w.sizeMs) * w.sizeMs;
    return [{ start, end: start + w.sizeMs }];
  }
  if (w.type === 'hopping') {
    const out: Array<{ start: number; end: number }> = [];
    const last = Math.floor(t / w.hopMs);
    for (let k = Math.floor((t - w.sizeMs) / w.hopMs) + 1; k <= last; k++) {
      const start = k * w.hopMs;
      if (start + w.sizeMs > t) out.push({ start, end: start + w.sizeMs });
    }
    return out;
  }
  throw new Error('session windows are not fixed');
}

function newWindow(view: WindowView, start: number, end: number): WindowState {
  return { start, end, lastEventMs: -1, events: 0, accs: view.aggregations.map(emptyAcc) };
}

function addEvent(view: WindowView, w: WindowState, ev: WindowEvent): void {
  const aggs = view.aggregations;
  for (let i = 0; i < aggs.length; i++) w.accs[i] = addToAcc(aggs[i]!, w.accs[i]!, ev.values[i], ev);
  w.events += 1;
  if (ev.eventTimeMs > w.lastEventMs) w.lastEventMs = ev.eventTimeMs;
}

/**
 * Adds the event to its windows that the watermark has not passed. `watermarkMs` is the watermark
 * before this event (the caller advances it after). The event's values are `prepareEvent`'s.
 */
export function applyEvent(
  view: WindowView,
  entity: EntityWindows,
  ev: WindowEvent,
  watermarkMs: number,
): ApplyResult {
  if (view.window.type === 'session') return applySession(view, entity, ev, watermarkMs);
  let added = 0;
  let lastEnd = 0;
  for (const { start, end } of fixedWindowsOf(view, ev.eventTimeMs)) {
    lastEnd = end;
    if (watermarkMs >= end) continue;
    let w = entity.find(start);
    if (w === undefined) {
      w = newWindow(view, start, end);
      entity.insert(w);
    }
    addEvent(view, w, ev);
    entity.changed.add(w);
    added++;
  }
  if (added > 0) return { accepted: true, windows: added };
  return { accepted: false, reason: lateReason(view, ev, lastEnd, watermarkMs) };
}

function applySession(
  view: WindowView,
  entity: EntityWindows,
  ev: WindowEvent,
  watermarkMs: number,
): ApplyResult {
  const gap = (view.window as { gapMs: number }).gapMs;
  let start = ev.eventTimeMs;
  let end = ev.eventTimeMs + gap;
  const touching = entity.windows.filter((w) => w.start <= end && w.end >= start);
  for (const w of touching) {
    start = Math.min(start, w.start);
    end = Math.max(end, w.end);
  }
  if (watermarkMs >= end) return { accepted: false, reason: lateReason(view, ev, end, watermarkMs) };
  if (touching.length === 1 && touching[0]!.start === start) {
    // The common case, an event inside (or extending) one session: updated in place.
    const w = touching[0]!;
    w.end = end;
    addEvent(view, w, ev);
    entity.changed.add(w);
    return { accepted: true, windows: 1 };
  }
  const merged = newWindow(view, start, end);
  for (const w of touching) {
    merged.accs = merged.accs.map((acc, i) => mergeAccs(view.aggregations[i]!, acc, w.accs[i]!));
    merged.events += w.events;
    merged.lastEventMs = Math.max(merged.lastEventMs, w.lastEventMs);
    entity.remove(w);
  }
  addEvent(view, merged, ev);
  entity.insert(merged);
  return { accepted: true, windows: 1 };
}

function lateReason(view: WindowView, ev: WindowEvent, end: number, watermarkMs: number): string {
  return (
    `late: the window of event time ${new Date(ev.eventTimeMs).toISOString()} in view ${view.name} ` +
    `ended at ${new Date(end).toISOString()}, the watermark is ${new Date(watermarkMs).toISOString()}`
  );
}

/** Removes the windows the watermark passed more than `retentionMs` ago; returns how many. */
export function pruneWindows(view: WindowView, entity: EntityWindows, watermarkMs: number): number {
  const horizon = watermarkMs - view.retentionMs;
  const old = entity.windows.filter((w) => w.end <= horizon);
  for (const w of old) entity.remove(w);
  return old.length;
}

/** The feature values of one window, by aggregation name. */
export function windowValues(view: WindowView, w: WindowState): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  view.aggregations.forEach((agg, i) => {
    out[agg.name] = accResult(agg, w.accs[i]!);
  });
  return out;
}

/** The values of a window with no events: count 0, sum 0, mean/min/max/last null, empty lists and maps. */
function emptyValues(view: WindowView): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const agg of view.aggregations) out[agg.name] = accResult(agg, emptyAcc(agg));
  return out;
}

export interface CurrentValue {
  /** The newest event time the values were computed from. */
  readonly eventTimeMs: number;
  readonly values: Record<string, FeatureValue>;
  /** The window they come from; undefined when no window holds `atMs` (then the values are empty). */
  readonly window: { readonly start: number; readonly end: number } | undefined;
}

/**
 * What an online read should see for the entity at `atMs` (the processor passes the entity's newest
 * event time; a reader may pass now):
 * - tumbling and session windows: the window holding `atMs`;
 * - hopping windows: of the windows holding `atMs`, the one that closes first, i.e. the one with the
 *   longest history up to `atMs` (between size − hop and size of it). The most recently opened
 *   window holds at most one hop of history, which would make a "last hour, every 5 minutes" view
 *   read like a 5-minute tumbling one.
 * - no window holds `atMs` (the entity has been quiet): the values of an empty window (count 0,
 *   mean null, …), with the entity's newest event time.
 * Undefined when the entity has no window at all.
 */
export function currentValue(
  view: WindowView,
  entity: EntityWindows,
  atMs: number,
): CurrentValue | undefined {
  let best: WindowState | undefined;
  for (const w of entity.windows) {
    if (w.start <= atMs && atMs < w.end && (best === undefined || w.end < best.end)) best = w;
  }
  if (best !== undefined) {
    return {
      eventTimeMs: best.lastEventMs,
      values: windowValues(view, best),
      window: { start: best.start, end: best.end },
    };
  }
  const latest = entity.latestEventMs();
  if (latest === undefined) return undefined;
  return { eventTimeMs: latest, values: emptyValues(view), window: undefined };
}

/** A window's stored form (JSON): the accumulators, the newest event time and the event count. */
export interface StoredWindow {
  readonly start: number;
  readonly end: number;
  readonly lastEventMs: number;
  readonly events: number;
  readonly accs: readonly unknown[];
}

export function windowToStored(view: WindowView, w: WindowState): StoredWindow {
  return {
    start: w.start,
    end: w.end,
    lastEventMs: w.lastEventMs,
    events: w.events,
    accs: view.aggregations.map((agg, i) => accToJson(agg, w.accs[i]!)),
  };
}

export function windowFromStored(view: WindowView, s: StoredWindow): WindowState {
  return {
    start: s.start,
    end: s.end,
    lastEventMs: s.lastEventMs,
    events: s.events,
    accs: view.aggregations.map((agg, i) => accFromJson(agg, s.accs[i])),
  };
}
