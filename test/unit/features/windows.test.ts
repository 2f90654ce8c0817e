import { describe, expect, it } from 'vitest';
import { seededRandom, shuffleInPlace } from '../../../src/core/random.js';
import type { AggregationDef, FeatureViewDef, WindowDef } from '../../../src/features/feature-definitions.js';
import {
  type Acc,
  accFromJson,
  accResult,
  accToJson,
  addToAcc,
  emptyAcc,
  mergeAccs,
} from '../../../src/features/windows/accumulators.js';
import { aggregateBatch } from '../../../src/features/windows/aggregate-batch.js';
import {
  applyEvent,
  currentValue,
  EntityWindows,
  prepareEvent,
  pruneWindows,
  type StoredWindow,
  windowFromStored,
  windowToStored,
  windowValues,
} from '../../../src/features/windows/window-state.js';
import { compileWindowView, type WindowView } from '../../../src/features/windows/window-view.js';
import type { FeatureValue } from '../../../src/ports/online-feature-store.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';
import {
  type RefEvent,
  type RefView,
  referenceValues,
  referenceWindows,
} from '../../helpers/window-reference.js';

const AGGREGATIONS: AggregationDef[] = [
  { name: 'n', fn: 'count' },
  { name: 'n_x', fn: 'count', field: 'x' },
  { name: 'sum_x', fn: 'sum', field: 'x' },
  { name: 'mean_x', fn: 'mean', field: 'x' },
  { name: 'min_x', fn: 'min', field: 'x' },
  { name: 'max_x', fn: 'max', field: 'x' },
  { name: 'last_c', fn: 'last', field: 'c' },
  { name: 'distinct_c', fn: 'distinct_count', field: 'c' },
  { name: 'top_c', fn: 'top_k', field: 'c', k: 2 },
  { name: 'by_c', fn: 'count_by', field: 'c' },
];
const SCHEMA = [
  { name: 'n', type: 'int64' },
  { name: 'n_x', type: 'int64' },
  { name: 'sum_x', type: 'float64' },
  { name: 'mean_x', type: 'float64' },
  { name: 'min_x', type: 'float64' },
  { name: 'max_x', type: 'float64' },
  { name: 'last_c', type: 'string' },
  { name: 'distinct_c', type: 'int64' },
  { name: 'top_c', type: 'string_list' },
  { name: 'by_c', type: 'map' },
] as const;

function viewDef(window: WindowDef, allowedLateness: number, ttl: string | number = '3650d'): FeatureViewDef {
  return {
    name: 'v',
    entities: ['user'],
    source: 'events',
    ttl,
    schema: SCHEMA,
    transform: { kind: 'window', window, allowedLateness, aggregations: AGGREGATIONS },
  };
}

function refView(view: WindowView): RefView {
  return {
    name: view.name,
    window: view.window,
    allowedLatenessMs: view.allowedLatenessMs,
    aggregations: AGGREGATIONS,
  };
}

/** Events of a few entities over a few partitions, mostly in order with jitter, some far back. */
function randomEvents(seed: number, count: number): RefEvent[] {
  const random = seededRandom(seed);
  const entities = ['a', 'b', 'c', 'd', 'e', '__proto__'];
  const cats = ['red', 'green', 'blue', '__proto__', 'x y'];
  let clock = 1_700_000_000_000 + Math.floor(random() * 1000);
  const out: RefEvent[] = [];
  for (let i = 0; i < count; i++) {
    clock += Math.floor(random() * 4000);
    const jitter = random() < 0.2 ? Math.floor(random() * 30_000) : random() < 0.05 ? 600_000 : 0;
    const entity = entities[Math.floor(random() * entities.length)]!;
    const fields: Record<string, unknown> = {};
    const r = random();
    if (r < 0.8) fields.x = Math.floor(random() * 101) - 50;
    else if (r < 0.9) fields.x = null;
    if (random() < 0.9) fields.c = cats[Math.floor(random() * cats.length)]!;
    out.push({
      // Ids that do not sort like their order, so `last`'s tie-break is exercised.
      id: `e${(i * 7919) % 10007}-${i}`,
      entity,
      partition: entity.charCodeAt(0) % 3,
      // Ties of event time happen (`last` must then pick by id).
      eventTimeMs: Math.max(0, clock - jitter - (clock % 2 === 0 ? clock % 1000 : 0)),
      fields,
    });
  }
  return out;
}

/**
 * Runs the engine as the processor does: batches, the watermark per partition, and the state kept
 * only in its stored JSON form between batches, written back through `changed` and `deletedStarts`.
 */
function runEngine(view: WindowView, events: readonly RefEvent[], batchSize: number) {
  const table = new Map<string, Map<number, string>>();
  const maxByPartition = new Map<number, number>();
  const late = new Set<string>();
  for (let i = 0; i < events.length; i += batchSize) {
    const loaded = new Map<string, EntityWindows>();
    for (const ev of events.slice(i, i + batchSize)) {
      let entity = loaded.get(ev.entity);
      if (entity === undefined) {
        const rows = [...(table.get(ev.entity)?.values() ?? [])];
        entity = new EntityWindows(rows.map((r) => windowFromStored(view, JSON.parse(r) as StoredWindow)));
        loaded.set(ev.entity, entity);
      }
      const prepared = prepareEvent(view, ev.fields);
      if (!prepared.ok) throw new Error(prepared.reason);
      const max = maxByPartition.get(ev.partition);
      const watermark = max === undefined ? Number.NEGATIVE_INFINITY : max - view.allowedLatenessMs;
      const result = applyEvent(view, entity, { ...ev, values: prepared.values }, watermark);
      if (!result.accepted) {
        expect(result.reason).toMatch(/^late: /);
        late.add(ev.id);
      }
      maxByPartition.set(ev.partition, Math.max(max ?? Number.NEGATIVE_INFINITY, ev.eventTimeMs));
    }
    for (const [key, entity] of loaded) {
      const rows = table.get(key) ?? new Map<number, string>();
      for (const start of entity.deletedStarts()) rows.delete(start);
      for (const w of entity.changed) rows.set(w.start, JSON.stringify(windowToStored(view, w)));
      table.set(key, rows);
    }
  }
  return { table, late };
}

/** applyEvent with raw fields, prepared first (the tests' events are always valid). */
function applyRaw(
  view: WindowView,
  entity: EntityWindows,
  ev: { id: string; eventTimeMs: number; fields: Record<string, unknown> },
  watermarkMs: number,
) {
  const prepared = prepareEvent(view, ev.fields);
  if (!prepared.ok) throw new Error(prepared.reason);
  return applyEvent(
    view,
    entity,
    { id: ev.id, eventTimeMs: ev.eventTimeMs, values: prepared.values },
    watermarkMs,
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

const WINDOWS: Array<[string, WindowDef]> = [
  ['tumbling', { type: 'tumbling', size: '1m' }],
  ['hopping', { type: 'hopping', size: '1m', hop: '15s' }],
  ['hopping, size not a multiple of hop', { type: 'hopping', size: 50_000, hop: 20_000 }],
  ['session', { type: 'session', gap: '20s' }],
];

function expectInvalid(fn: () => unknown, message: RegExp): void {
  expect(expectFerryErrorSync(fn, 'FERRY_FEATURES_INVALID').message).toMatch(message);
}

describe('window engine against a brute-force recomputation', () => {
  for (const [label, window] of WINDOWS) {
    it(`${label}: same windows, same aggregates, same late events (30 seeds, batches, stored state)`, () => {
      let lateSeen = 0;
      let windowsSeen = 0;
      for (let seed = 1; seed <= 30; seed++) {
        const lateness = [0, 5000, 20_000][seed % 3]!;
        const view = compileWindowView(viewDef(window, lateness));
        const events = randomEvents(seed, 250);
        const batch = 1 + (seed % 17);
        const engine = runEngine(view, events, batch);
        const ref = referenceWindows(refView(view), events);
        expect([...engine.late].sort(), `seed ${seed}`).toEqual([...ref.late].sort());
        const engineKeys = [...engine.table].flatMap(([entity, rows]) =>
          [...rows.keys()].map((s) => `${entity}|${s}`),
        );
        expect(engineKeys.sort(), `seed ${seed}`).toEqual([...ref.windows.keys()].sort());
        for (const [key, w] of ref.windows) {
          const [entity, start] = key.split('|') as [string, string];
          const stored = JSON.parse(engine.table.get(entity)!.get(Number(start))!) as StoredWindow;
          expect(stored.end, key).toBe(w.end);
          expect(stored.events, key).toBe(w.events.length);
          expect(stored.lastEventMs, key).toBe(Math.max(...w.events.map((e) => e.eventTimeMs)));
          expectValuesClose(
            windowValues(view, windowFromStored(view, stored)),
            referenceValues(refView(view), w.events),
            `seed ${seed} ${key}`,
          );
        }
        lateSeen += ref.late.size;
        windowsSeen += ref.windows.size;
      }
      // The generator must actually produce late events and many windows, or the test proves little.
      expect(lateSeen).toBeGreaterThan(20);
      expect(windowsSeen).toBeGreaterThan(400);
    });
  }
});

describe('aggregateBatch', () => {
  for (const [label, window] of WINDOWS) {
    it(`${label}: every event counted, whatever the order of the rows`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const view = compileWindowView(viewDef(window, 0));
        const events = randomEvents(seed * 31, 200);
        const rows = events.map((e) => {
          const prepared = prepareEvent(view, e.fields);
          if (!prepared.ok) throw new Error(prepared.reason);
          return { entityKey: e.entity, eventTimeMs: e.eventTimeMs, id: e.id, values: prepared.values };
        });
        const batch = aggregateBatch(view, rows);
        const shuffled = aggregateBatch(view, shuffleInPlace([...rows], seededRandom(seed)));
        const sorted = (b: typeof batch) => [...b].sort((x, y) => (x.entityKey < y.entityKey ? -1 : 1));
        expect(JSON.stringify(sorted(shuffled))).toBe(JSON.stringify(sorted(batch)));
        // No lateness in a batch: the reference with every event in time order and nothing late.
        const ordered = [...events].sort((a, b) => a.eventTimeMs - b.eventTimeMs);
        const ref = referenceWindows(
          { ...refView(view), allowedLatenessMs: Number.POSITIVE_INFINITY },
          ordered,
        );
        expect(ref.late.size).toBe(0);
        let windows = 0;
        for (const entity of batch) {
          for (const w of entity.windows) {
            const r = ref.windows.get(`${entity.entityKey}|${w.start}`);
            expect(r, `${entity.entityKey}|${w.start}`).toBeDefined();
            expect(w.events).toBe(r!.events.length);
            expectValuesClose(
              w.values,
              referenceValues(refView(view), r!.events),
              `${entity.entityKey}|${w.start}`,
            );
            windows++;
          }
          const latest = Math.max(
            ...events.filter((e) => e.entity === entity.entityKey).map((e) => e.eventTimeMs),
          );
          expect(entity.current.eventTimeMs).toBeLessThanOrEqual(latest);
          expect(entity.current.window).toBeDefined();
        }
        expect(windows).toBe(ref.windows.size);
      }
    });
  }
});

describe('accumulators', () => {
  const view = compileWindowView(viewDef({ type: 'tumbling', size: '1h' }, 0));
  it('merge(A, B) equals the accumulator of A ∪ B, and the JSON form round-trips', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const events = randomEvents(seed * 7, 60);
      const random = seededRandom(seed);
      const inA = events.map(() => random() < 0.5);
      for (const agg of view.aggregations) {
        const fold = (evs: readonly RefEvent[]) =>
          evs.reduce(
            (acc, e) => addToAcc(agg, acc, agg.field === undefined ? null : (e.fields[agg.field] ?? null), e),
            emptyAcc(agg),
          );
        const a = fold(events.filter((_, i) => inA[i]));
        const b = fold(events.filter((_, i) => !inA[i]));
        const all = fold(events);
        const merged = mergeAccs(agg, a, b);
        const viaJson = accFromJson(
          agg,
          JSON.parse(JSON.stringify(accToJson(agg, merged))) as unknown,
        ) as Acc;
        const want = referenceValues(
          { ...refView(view), aggregations: [AGGREGATIONS.find((d) => d.name === agg.name)!] },
          events,
        )[agg.name]!;
        for (const got of [accResult(agg, merged), accResult(agg, viaJson), accResult(agg, all)]) {
          expectValuesClose({ v: got }, { v: want }, `${agg.name} seed ${seed}`);
        }
      }
    }
  });

  it('a compensated sum stays exact where a naive one drifts', () => {
    const sum = view.aggregations.find((a) => a.fn === 'sum')!;
    let acc = emptyAcc(sum);
    for (const x of [1e16, 1, -1e16, 1]) acc = addToAcc(sum, acc, x, { id: 'i', eventTimeMs: 0 });
    expect(accResult(sum, acc)).toBe(2);
  });

  it('count_by keeps "__proto__" as a key, in its result and its JSON', () => {
    const byC = view.aggregations.find((a) => a.fn === 'count_by')!;
    let acc = emptyAcc(byC);
    for (const c of ['__proto__', '__proto__', 'constructor'])
      acc = addToAcc(byC, acc, c, { id: 'i', eventTimeMs: 0 });
    const result = accResult(byC, acc) as Record<string, number>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.entries(result)).toEqual([
      ['__proto__', 2],
      ['constructor', 1],
    ]);
    expect(JSON.parse(JSON.stringify(result))).toEqual(JSON.parse('{"__proto__":2,"constructor":1}'));
  });
});

describe('currentValue', () => {
  const ev = (id: string, t: number, x: number) => ({ id, eventTimeMs: t, fields: { x, c: id } });
  it('tumbling: the window holding the time; a quiet entity reads as an empty window', () => {
    const view = compileWindowView(viewDef({ type: 'tumbling', size: 60_000 }, 0));
    const entity = new EntityWindows();
    applyRaw(view, entity, ev('a', 10_000, 1), Number.NEGATIVE_INFINITY);
    applyRaw(view, entity, ev('b', 70_000, 2), Number.NEGATIVE_INFINITY);
    applyRaw(view, entity, ev('c', 80_000, 3), Number.NEGATIVE_INFINITY);
    expect(currentValue(view, entity, 80_000)).toMatchObject({
      eventTimeMs: 80_000,
      window: { start: 60_000, end: 120_000 },
      values: { n: 2, sum_x: 5, last_c: 'c' },
    });
    expect(currentValue(view, entity, 30_000)?.values).toMatchObject({ n: 1, sum_x: 1 });
    expect(currentValue(view, entity, 500_000)).toMatchObject({
      eventTimeMs: 80_000,
      window: undefined,
      values: { n: 0, sum_x: 0, mean_x: null, last_c: null, top_c: [], by_c: {} },
    });
    expect(currentValue(view, new EntityWindows(), 0)).toBeUndefined();
  });

  it('hopping: of the windows holding the time, the one that closes first (the longest history)', () => {
    const view = compileWindowView(viewDef({ type: 'hopping', size: 60_000, hop: 20_000 }, 0));
    const entity = new EntityWindows();
    for (const [i, t] of [5_000, 25_000, 45_000, 65_000].entries()) {
      applyRaw(view, entity, ev(`e${i}`, t, 1), Number.NEGATIVE_INFINITY);
    }
    // 65 000 is in [20 000, 80 000), [40 000, 100 000) and [60 000, 120 000): the first closes first.
    expect(currentValue(view, entity, 65_000)).toMatchObject({
      window: { start: 20_000, end: 80_000 },
      values: { n: 3 },
    });
  });

  it('sessions: merging two sessions through an event between them', () => {
    const view = compileWindowView(viewDef({ type: 'session', gap: 10_000 }, 0));
    const entity = new EntityWindows();
    applyRaw(view, entity, ev('a', 0, 1), Number.NEGATIVE_INFINITY);
    applyRaw(view, entity, ev('b', 19_000, 2), Number.NEGATIVE_INFINITY);
    expect(entity.windows.map((w) => [w.start, w.end])).toEqual([
      [0, 10_000],
      [19_000, 29_000],
    ]);
    entity.changed.clear();
    // [9 500, 19 500) touches both sessions.
    applyRaw(view, entity, ev('c', 9_500, 4), Number.NEGATIVE_INFINITY);
    expect(entity.windows.map((w) => [w.start, w.end])).toEqual([[0, 29_000]]);
    expect(entity.deletedStarts()).toEqual([19_000]);
    expect([...entity.changed].map((w) => w.start)).toEqual([0]);
    expect(currentValue(view, entity, 19_000)?.values).toMatchObject({ n: 3, sum_x: 7, last_c: 'b' });
    // A session the watermark passed takes no more events, even one that would touch it.
    expect(applyRaw(view, entity, ev('d', 20_000, 1), 40_000).accepted).toBe(false);
  });
});

describe('lateness and pruning', () => {
  it('an event whose every window is final is late and changes nothing', () => {
    const view = compileWindowView(viewDef({ type: 'tumbling', size: 60_000 }, 5_000));
    const entity = new EntityWindows();
    expect(
      applyRaw(view, entity, { id: 'a', eventTimeMs: 10_000, fields: {} }, Number.NEGATIVE_INFINITY),
    ).toEqual({
      accepted: true,
      windows: 1,
    });
    // Watermark 60 000 (65 000 seen − 5 000 lateness): [0, 60 000) is final.
    const late = applyRaw(view, entity, { id: 'b', eventTimeMs: 59_999, fields: {} }, 60_000);
    expect(late.accepted).toBe(false);
    expect(entity.windows[0]!.events).toBe(1);
    // One ms earlier the window was still open.
    expect(applyRaw(view, entity, { id: 'c', eventTimeMs: 59_999, fields: {} }, 59_999).accepted).toBe(true);
  });

  it('windows the watermark passed by more than the retention are pruned', () => {
    const view = compileWindowView(viewDef({ type: 'tumbling', size: 60_000 }, 0, '2m'));
    const entity = new EntityWindows();
    for (const t of [0, 60_000, 120_000, 180_000, 240_000]) {
      applyRaw(view, entity, { id: `e${t}`, eventTimeMs: t, fields: {} }, Number.NEGATIVE_INFINITY);
    }
    expect(pruneWindows(view, entity, 240_000)).toBe(2);
    expect(entity.windows.map((w) => w.start)).toEqual([120_000, 180_000, 240_000]);
    expect(entity.deletedStarts().sort()).toEqual([0, 60_000]);
  });
});

describe('definitions and values', () => {
  it('refuses malformed windowed views, naming the field', () => {
    const base = viewDef({ type: 'tumbling', size: '1m' }, 0);
    const t = base.transform as Extract<FeatureViewDef['transform'], { kind: 'window' }>;
    const cases: Array<[FeatureViewDef, RegExp]> = [
      [
        { ...base, transform: { ...t, window: { type: 'tumbling', size: '1 minute' } } },
        /window\.size.*not a duration/,
      ],
      [
        { ...base, transform: { ...t, window: { type: 'tumbling', size: 0 } } },
        /window\.size: must be longer than 0/,
      ],
      [
        { ...base, transform: { ...t, window: { type: 'hopping', size: '1m', hop: '2m' } } },
        /hop: must not be longer/,
      ],
      [{ ...base, transform: { ...t, window: { type: 'hopping', size: '1d', hop: '1s' } } }, /size \/ hop/],
      [{ ...base, schema: SCHEMA.filter((f) => f.name !== 'n') }, /"n" is not in the view's schema/],
      [{ ...base, schema: [...SCHEMA, { name: 'extra', type: 'int64' }] }, /no aggregation produces extra/],
      [
        { ...base, schema: SCHEMA.map((f) => (f.name === 'top_c' ? { ...f, type: 'map' as const } : f)) },
        /top_k gives string_list/,
      ],
      [
        { ...base, transform: { ...t, aggregations: [...AGGREGATIONS, { name: 'n', fn: 'count' }] } },
        /"n" is produced twice/,
      ],
      [
        {
          ...base,
          transform: {
            ...t,
            aggregations: AGGREGATIONS.map((a) => (a.fn === 'sum' ? { ...a, field: undefined } : a)),
          },
        },
        /sum needs the event field/,
      ],
      [
        {
          ...base,
          transform: { ...t, aggregations: AGGREGATIONS.map((a) => (a.fn === 'top_k' ? { ...a, k: 0 } : a)) },
        },
        /k: must be an integer/,
      ],
      [{ ...base, ttl: '0s' }, /ttl: must be longer than 0/],
    ];
    for (const [def, message] of cases) {
      expectInvalid(() => compileWindowView(def), message);
    }
  });

  it('converts fields as every source does, refuses wrong types, skips missing values', () => {
    const view = compileWindowView(viewDef({ type: 'tumbling', size: '1m' }, 0));
    // Values in the order of the aggregations: n, n_x, sum_x, mean_x, min_x, max_x, last_c, distinct_c, top_c, by_c.
    const fields = (f: Record<string, unknown>) => {
      const r = prepareEvent(view, f);
      return r.ok ? r.values : r.reason;
    };
    expect(fields({ x: 1.5, c: 'a', other: {} })).toEqual([
      null,
      1.5,
      1.5,
      1.5,
      1.5,
      1.5,
      'a',
      'a',
      'a',
      'a',
    ]);
    // A CSV cell's text is its value (count reads it as it is); an empty cell is missing.
    expect(fields({ x: '12', c: '' })).toEqual([null, '12', 12, 12, 12, 12, null, null, null, null]);
    expect(fields({ x: null })).toEqual([null, null, null, null, null, null, null, null, null, null]);
    expect(fields({ x: 'twelve' })).toMatch(/^x: "twelve" is not a float64/);
    expect(fields({ x: true })).toMatch(/^x: true is not a float64/);
    // last_c reads c as its declared string; count_by alone reads any scalar.
    expect(fields({ x: 1, c: ['a'] })).toMatch(/^c: \["a"\] is not text/);
    const byOnly = compileWindowView({
      ...viewDef({ type: 'tumbling', size: '1m' }, 0),
      schema: [{ name: 'by_c', type: 'map' }],
      transform: {
        kind: 'window',
        window: { type: 'tumbling', size: '1m' },
        aggregations: [{ name: 'by_c', fn: 'count_by', field: 'c' }],
      },
    });
    expect(prepareEvent(byOnly, { c: 3 })).toEqual({ ok: true, values: [3] });
    expect(prepareEvent(byOnly, { c: { a: 1 } })).toEqual({
      ok: false,
      reason: 'c: must be a string, number or boolean, not an object',
    });
  });
});
