/**
 * A brute-force recomputation of windowed views, written independently of the engine
 * (src/features/windows/): each window keeps the raw list of its events, windows are found by
 * enumerating candidate starts, sessions merge lists, and every aggregate is computed from the list
 * at the end. Used by the engine's property tests and by the stream fault tests (which recompute
 * every window from the full event log and compare it with the processor's state).
 */
import type { AggregationDef } from '../../src/features/feature-definitions.js';
import type { FeatureValue } from '../../src/ports/online-feature-store.js';

export interface RefView {
  readonly name: string;
  readonly window:
    | { readonly type: 'tumbling'; readonly sizeMs: number }
    | { readonly type: 'hopping'; readonly sizeMs: number; readonly hopMs: number }
    | { readonly type: 'session'; readonly gapMs: number };
  readonly allowedLatenessMs: number;
  readonly aggregations: readonly AggregationDef[];
}

export interface RefEvent {
  readonly id: string;
  readonly entity: string;
  readonly partition: number;
  readonly eventTimeMs: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface RefWindow {
  start: number;
  end: number;
  events: RefEvent[];
}

export interface RefResult {
  /** `${entity}|${start}` → window. */
  readonly windows: Map<string, RefWindow>;
  readonly late: Set<string>;
}

/** Processes events in the given order (the order each partition delivers them). */
export function referenceWindows(view: RefView, events: readonly RefEvent[]): RefResult {
  const maxByPartition = new Map<number, number>();
  const windows = new Map<string, RefWindow>();
  const late = new Set<string>();
  for (const ev of events) {
    const max = maxByPartition.get(ev.partition);
    const watermark = max === undefined ? Number.NEGATIVE_INFINITY : max - view.allowedLatenessMs;
    const accepted =
      view.window.type === 'session'
        ? addToSession(view.window.gapMs, windows, ev, watermark)
        : addToFixed(view.window, windows, ev, watermark);
    if (!accepted) late.add(ev.id);
    maxByPartition.set(ev.partition, Math.max(max ?? Number.NEGATIVE_INFINITY, ev.eventTimeMs));
  }
  return { windows, late };
}

function addToFixed(
  w: { sizeMs: number; hopMs?: number },
  windows: Map<string, RefWindow>,
  ev: RefEvent,
  watermark: number,
): boolean {
  const hop = w.hopMs ?? w.sizeMs;
  let accepted = false;
  // Every multiple of the hop from well before the event to the event, each checked for containment.
  const from = Math.max(0, (Math.floor((ev.eventTimeMs - w.sizeMs) / hop) - 2) * hop);
  for (let start = from; start <= ev.eventTimeMs; start += hop) {
    const end = start + w.sizeMs;
    if (!(start <= ev.eventTimeMs && ev.eventTimeMs < end) || watermark >= end) continue;
    const key = `${ev.entity}|${start}`;
    const win = windows.get(key) ?? { start, end, events: [] };
    win.events.push(ev);
    windows.set(key, win);
    accepted = true;
  }
  return accepted;
}

function addToSession(
  gap: number,
  windows: Map<string, RefWindow>,
  ev: RefEvent,
  watermark: number,
): boolean {
  let start = ev.eventTimeMs;
  let end = ev.eventTimeMs + gap;
  const touching = [...windows.entries()].filter(
    ([key, w]) => key.startsWith(`${ev.entity}|`) && w.start <= end && w.end >= start,
  );
  for (const [, w] of touching) {
    start = Math.min(start, w.start);
    end = Math.max(end, w.end);
  }
  if (watermark >= end) return false;
  const events = [ev];
  for (const [key, w] of touching) {
    events.push(...w.events);
    windows.delete(key);
  }
  windows.set(`${ev.entity}|${start}`, { start, end, events });
  return true;
}

/** Every aggregation of the window computed from its raw events. */
export function referenceValues(view: RefView, events: readonly RefEvent[]): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const agg of view.aggregations) out[agg.name] = aggregate(agg, events);
  return out;
}

function aggregate(agg: AggregationDef, events: readonly RefEvent[]): FeatureValue {
  const present = events.filter((e) => agg.field === undefined || (e.fields[agg.field] ?? null) !== null);
  const values = present.map((e) => (agg.field === undefined ? null : e.fields[agg.field]));
  const numbers = values as number[];
  const counts = new Map<string, number>();
  for (const v of values) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
  switch (agg.fn) {
    case 'count':
      return present.length;
    case 'sum':
      return numbers.reduce((a, b) => a + b, 0);
    case 'mean':
      return numbers.length === 0 ? null : numbers.reduce((a, b) => a + b, 0) / numbers.length;
    case 'min':
      return numbers.length === 0 ? null : Math.min(...numbers);
    case 'max':
      return numbers.length === 0 ? null : Math.max(...numbers);
    case 'last': {
      let best: RefEvent | undefined;
      for (const e of present) {
        if (
          best === undefined ||
          e.eventTimeMs > best.eventTimeMs ||
          (e.eventTimeMs === best.eventTimeMs && e.id > best.id)
        )
          best = e;
      }
      return best === undefined ? null : (best.fields[agg.field!] as FeatureValue);
    }
    case 'distinct_count':
      return counts.size;
    case 'top_k':
      return [...counts]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .slice(0, agg.k ?? 3)
        .map(([k]) => k);
    case 'count_by':
      return Object.fromEntries(counts);
  }
}
