import { describe, expect, it } from 'vitest';
import { seededRandom, shuffleInPlace } from '../../../src/core/random.js';
import type { AggregationDef, FeatureViewDef, WindowDef } from '../../../src/features/feature-definitions.js';
import { aggregateBatch, type BatchRow } from '../../../src/features/windows/aggregate-batch.js';
import { runningValues } from '../../../src/features/windows/running-values.js';
import {
  applyEvent,
  currentValue,
  EntityWindows,
  prepareEvent,
} from '../../../src/features/windows/window-state.js';
import { compileWindowView, type WindowView } from '../../../src/features/windows/window-view.js';
import type { FeatureValue } from '../../../src/ports/online-feature-store.js';
import { type RefEvent, referenceValues, referenceWindows } from '../../helpers/window-reference.js';

const AGGREGATIONS: AggregationDef[] = [
  { name: 'n', fn: 'count' },
  { name: 'sum_x', fn: 'sum', field: 'x' },
  { name: 'mean_x', fn: 'mean', field: 'x' },
  { name: 'max_x', fn: 'max', field: 'x' },
  { name: 'last_c', fn: 'last', field: 'c' },
  { name: 'top_c', fn: 'top_k', field: 'c', k: 2 },
  { name: 'by_c', fn: 'count_by', field: 'c' },
];
const SCHEMA = [
  { name: 'n', type: 'int64' },
  { name: 'sum_x', type: 'float64' },
  { name: 'mean_x', type: 'float64' },
  { name: 'max_x', type: 'float64' },
  { name: 'last_c', type: 'string' },
  { name: 'top_c', type: 'string_list' },
  { name: 'by_c', type: 'map' },
] as const;

function compile(window: WindowDef): WindowView {
  const def: FeatureViewDef = {
    name: 'v',
    entities: ['user'],
    source: 'events',
    ttl: '3650d',
    schema: SCHEMA,
    transform: { kind: 'window', window, aggregations: AGGREGATIONS },
  };
  return compileWindowView(def);
}

const WINDOWS: Array<[string, WindowDef]> = [
  ['tumbling', { type: 'tumbling', size: '1m' }],
  ['hopping', { type: 'hopping', size: '1m', hop: '15s' }],
  ['hopping, size not a multiple of hop', { type: 'hopping', size: 50_000, hop: 20_000 }],
  ['session', { type: 'session', gap: '20s' }],
];

/** Events of a few entities in no particular order, with ties of event time and missing values. */
function randomEvents(seed: number, count: number): RefEvent[] {
  const random = seededRandom(seed);
  const out: RefEvent[] = [];
  for (let i = 0; i < count; i++) {
    const fields: Record<string, unknown> = {};
    if (random() < 0.85) fields.x = Math.floor(random() * 101) - 50;
    if (random() < 0.9) fields.c = ['red', 'green', 'blue', '__proto__'][Math.floor(random() * 4)]!;
    out.push({
      id: `e${(i * 7919) % 10007}-${i}`,
      entity: ['a', 'b', 'c', 'd'][Math.floor(random() * 4)]!,
      partition: 0,
      // 10 minutes of events in 500 ms steps: ties, gaps longer than a session's, several windows.
      eventTimeMs: 1_700_000_000_000 + Math.floor(random() * 1200) * 500,
      fields,
    });
  }
  return out;
}

function rowsOf(view: WindowView, events: readonly RefEvent[]): BatchRow[] {
  return events.map((e) => {
    const prepared = prepareEvent(view, e.fields);
    if (!prepared.ok) throw new Error(prepared.reason);
    return { entityKey: e.entity, eventTimeMs: e.eventTimeMs, id: e.id, values: prepared.values };
  });
}

/**
 * The value at `t` recomputed from scratch: the windows of the entity's events at or before `t`
 * (the brute-force reference, nothing late), the one holding `t` that closes first, aggregated
 * from its raw events.
 */
function bruteValueAt(view: WindowView, events: readonly RefEvent[], entity: string, t: number) {
  const upTo = events
    .filter((e) => e.entity === entity && e.eventTimeMs <= t)
    .sort((a, b) => a.eventTimeMs - b.eventTimeMs);
  const ref = referenceWindows(
    {
      name: 'v',
      window: view.window,
      allowedLatenessMs: Number.POSITIVE_INFINITY,
      aggregations: AGGREGATIONS,
    },
    upTo,
  );
  const holding = [...ref.windows.values()].filter((w) => w.start <= t && t < w.end);
  holding.sort((a, b) => a.end - b.end);
  const w = holding[0]!;
  return referenceValues(
    { name: 'v', window: view.window, allowedLatenessMs: 0, aggregations: AGGREGATIONS },
    w.events,
  );
}

function expectValuesClose(
  actual: Record<string, FeatureValue>,
  expected: Record<string, FeatureValue>,
  what: string,
) {
  expect(Object.keys(actual).sort(), what).toEqual(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) {
    const a = actual[k];
    if (typeof v === 'number' && typeof a === 'number') {
      expect(Math.abs(a - v), `${what} ${k}: ${a} vs ${v}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(v)),
      );
    } else {
      expect(a, `${what} ${k}`).toEqual(v);
    }
  }
}

/**
 * The stream pipeline's way (streams/process-batch.ts), one event per batch in event-time order:
 * applyEvent under the partition's watermark, then the entity's `currentValue` at its newest event
 * time written to the offline store (last write of a key wins) and the online store.
 */
function streamInOrder(view: WindowView, rows: readonly BatchRow[]) {
  const ordered = [...rows].sort((a, b) => a.eventTimeMs - b.eventTimeMs);
  const entities = new Map<string, EntityWindows>();
  const offline = new Map<string, Record<string, FeatureValue>>();
  const online = new Map<string, { eventTimeMs: number; values: Record<string, FeatureValue> }>();
  let max = Number.NEGATIVE_INFINITY;
  for (const row of ordered) {
    let entity = entities.get(row.entityKey);
    if (entity === undefined) {
      entity = new EntityWindows();
      entities.set(row.entityKey, entity);
    }
    const r = applyEvent(
      view,
      entity,
      { id: row.id!, eventTimeMs: row.eventTimeMs, values: row.values },
      max - view.allowedLatenessMs,
    );
    expect(r.accepted).toBe(true);
    max = Math.max(max, row.eventTimeMs);
    const current = currentValue(view, entity, entity.latestEventMs()!)!;
    offline.set(`${row.entityKey}|${current.eventTimeMs}`, current.values);
    online.set(row.entityKey, { eventTimeMs: current.eventTimeMs, values: current.values });
  }
  return { offline, online };
}

describe('runningValues', () => {
  for (const [label, window] of WINDOWS) {
    it(`${label}: each value equals a recomputation from the events at or before its time (20 seeds)`, () => {
      const view = compile(window);
      let checked = 0;
      for (let seed = 1; seed <= 20; seed++) {
        const events = randomEvents(seed, 120);
        const result = runningValues(view, rowsOf(view, shuffleInPlace([...events], seededRandom(seed))));
        for (const entity of result) {
          const times = [
            ...new Set(events.filter((e) => e.entity === entity.entityKey).map((e) => e.eventTimeMs)),
          ].sort((a, b) => a - b);
          expect(entity.values.map((v) => v.eventTimeMs)).toEqual(times);
          for (const v of entity.values) {
            expectValuesClose(
              v.values,
              bruteValueAt(view, events, entity.entityKey, v.eventTimeMs),
              `seed ${seed} ${entity.entityKey}@${v.eventTimeMs}`,
            );
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(1500);
    });

    it(`${label}: equals a stream pipeline fed the events in event-time order, offline and online`, () => {
      const view = compile(window);
      for (let seed = 1; seed <= 10; seed++) {
        const rows = rowsOf(view, randomEvents(seed * 13, 150));
        const stream = streamInOrder(view, rows);
        const result = runningValues(view, rows);
        const offline = new Map(
          result.flatMap((e) => e.values.map((v) => [`${e.entityKey}|${v.eventTimeMs}`, v.values] as const)),
        );
        // Exactly: the same additions in the same order.
        expect(offline).toEqual(stream.offline);
        const newest = new Map(result.map((e) => [e.entityKey, e.values.at(-1)!]));
        expect(newest).toEqual(stream.online);
        // The newest value is aggregateBatch's current (the engine's batch form).
        for (const b of aggregateBatch(view, rows)) {
          expect(newest.get(b.entityKey)!.eventTimeMs).toBe(b.current.eventTimeMs);
          expectValuesClose(newest.get(b.entityKey)!.values, b.current.values, `seed ${seed} ${b.entityKey}`);
        }
      }
    });

    it(`${label}: values asked for part of the times equal the same times of a full run`, () => {
      const view = compile(window);
      for (let seed = 1; seed <= 10; seed++) {
        const rows = rowsOf(view, randomEvents(seed * 101, 150));
        const full = runningValues(view, rows);
        const at = (r: typeof full) =>
          new Map(
            r.flatMap((e) => e.values.map((v) => [`${e.entityKey}|${v.eventTimeMs}`, v.values] as const)),
          );
        const all = at(full);
        const t0 = 1_700_000_000_000;
        // An incremental run (newer than a watermark) and a range of a backfill.
        for (const emit of [
          (t: number) => t > t0 + 300_000,
          (t: number) => t >= t0 + 100_000 && t < t0 + 250_000,
        ]) {
          const part = at(runningValues(view, rows, emit));
          const want = new Map([...all].filter(([k]) => emit(Number(k.split('|')[1]))));
          expect(part.size).toBeGreaterThan(10);
          expect(part).toEqual(want);
        }
      }
    });
  }

  it('never holds a row from after the value’s time, even in the same window', () => {
    const view = compile({ type: 'tumbling', size: '1h' });
    const rows = rowsOf(view, [
      { id: '1', entity: 'a', partition: 0, eventTimeMs: 1000, fields: { x: 1, c: 'red' } },
      { id: '2', entity: 'a', partition: 0, eventTimeMs: 3000, fields: { x: 10, c: 'blue' } },
      { id: '3', entity: 'a', partition: 0, eventTimeMs: 2000, fields: { x: 100, c: 'blue' } },
    ]);
    const [a] = runningValues(view, rows);
    expect(a!.values.map((v) => [v.eventTimeMs, v.values.n, v.values.sum_x, v.values.last_c])).toEqual([
      [1000, 1, 1, 'red'],
      [2000, 2, 101, 'blue'],
      [3000, 3, 111, 'blue'],
    ]);
  });
});
