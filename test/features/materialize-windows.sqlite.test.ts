/**
 * `materialize` of window views on SQLite, checked against a brute-force recomputation written
 * here from the definition of the windows (not through the engine): the value of an entity at an
 * event time t is the window holding t (for hopping windows, the one that closes first) aggregated
 * over the entity's events at or before t.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { featureSourceOpener } from '../../src/app/feature-sources.js';
import { seededRandom } from '../../src/core/random.js';
import { resolveFeatures } from '../../src/features/feature-refs.js';
import { materialize } from '../../src/features/materialize.js';
import { pointInTimeJoin } from '../../src/features/training-set.js';
import type { FeatureValue, OnlineFeatureStore } from '../../src/ports/online-feature-store.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { type FeatureEnv, featureEnv } from './helpers.js';

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;

interface Ev {
  user: string;
  t: number;
  amount: number | string;
  cat: string;
  id?: string;
}

let dir: { path: string; remove(): void };
let env: FeatureEnv;
let dbFile: string;

beforeEach(async () => {
  dir = tmpDir('ferry-materialize-windows-');
  dbFile = join(dir.path, 'ferry.db');
  env = await featureEnv(dir.path, new SqliteClient({ path: dbFile }), `sqlite:${dbFile}`);
});
afterEach(async () => {
  await env.close();
  dir.remove();
});

const HEADER = 'id,user_id,at,amount,category';
const line = (e: Ev, i: number) =>
  [e.id ?? `ev${i}`, e.user, new Date(e.t).toISOString(), String(e.amount), e.cat].join(',');

function writeEvents(events: readonly Ev[]): void {
  writeFileSync(join(dir.path, 'events.csv'), `${[HEADER, ...events.map(line)].join('\n')}\n`);
}

/** Random events of a few users over 6 hours, on whole minutes (ties happen), in no time order. */
function randomEvents(seed: number, count: number): Ev[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    user: `u${Math.floor(random() * 5)}`,
    t: T0 + Math.floor(random() * 360) * MIN,
    amount: Math.floor(random() * 100),
    cat: ['books', 'games', 'music', 'films'][Math.floor(random() * 4)]!,
  }));
}

type WindowJson =
  | { type: 'tumbling'; size: string }
  | { type: 'hopping'; size: string; hop: string }
  | { type: 'session'; gap: string };

function repo(window: WindowJson, opts: { online?: boolean; ttl?: string } = {}) {
  return {
    entities: [{ name: 'user', joinKeys: ['user_id'] }],
    sources: [{ name: 'events', kind: 'file', path: 'events.csv', timestampField: 'at' }],
    views: [
      {
        name: 'spend',
        entities: ['user'],
        source: 'events',
        ttl: opts.ttl ?? '30d',
        ...(opts.online === false ? { online: false } : {}),
        schema: [
          { name: 'n', type: 'int64' },
          { name: 'total', type: 'float64' },
          { name: 'by_cat', type: 'map' },
          { name: 'top_cat', type: 'string_list' },
          { name: 'last_cat', type: 'string' },
        ],
        transform: {
          kind: 'window',
          window,
          aggregations: [
            { name: 'n', fn: 'count' },
            { name: 'total', fn: 'sum', field: 'amount' },
            { name: 'by_cat', fn: 'count_by', field: 'category' },
            { name: 'top_cat', fn: 'top_k', field: 'category', k: 2 },
            { name: 'last_cat', fn: 'last', field: 'category' },
          ],
        },
      },
    ],
  };
}

// ---- The brute force ----

type Spec = { size: number; hop: number } | { gap: number };

/** The events of the window an online read saw at t: per the window's definition, from scratch. */
function windowEventsAt(spec: Spec, events: readonly Ev[], user: string, t: number): Ev[] {
  const mine = events.filter((e) => e.user === user && e.t <= t);
  if ('gap' in spec) {
    // Sessions: events chained back from t, each within `gap` of the next (a.t + gap >= b.t).
    const times = [...new Set(mine.map((e) => e.t))].sort((a, b) => b - a);
    let start = t;
    for (const s of times) if (s < start && s + spec.gap >= start) start = s;
    return mine.filter((e) => e.t >= start);
  }
  // Of the windows [k·hop, k·hop + size) holding t, the first to close: the smallest k.
  const k = Math.floor((t - spec.size) / spec.hop) + 1;
  return mine.filter((e) => e.t >= k * spec.hop);
}

function valuesOf(events: readonly Ev[], lines: ReadonlyMap<Ev, number>): Record<string, FeatureValue> {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.cat, (counts.get(e.cat) ?? 0) + 1);
  const last = [...events].sort((a, b) => a.t - b.t || lines.get(a)! - lines.get(b)!).at(-1)!;
  return {
    n: events.length,
    total: events.reduce((s, e) => s + Number(e.amount), 0),
    by_cat: Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1))),
    top_cat: [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 2)
      .map(([c]) => c),
    last_cat: last.cat,
  };
}

/** Every (user, event time) value, sorted as the offline table is read. */
function bruteForce(spec: Spec, events: readonly Ev[]) {
  const lines = new Map(events.map((e, i) => [e, i] as const));
  const keys = [...new Set(events.map((e) => `${e.user}|${e.t}`))].sort((a, b) => {
    const [ua, ta] = a.split('|');
    const [ub, tb] = b.split('|');
    return ua! < ub! ? -1 : ua! > ub! ? 1 : Number(ta) - Number(tb);
  });
  return keys.map((k) => {
    const [user, t] = k.split('|') as [string, string];
    return {
      entity_key: user,
      event_time_ms: Number(t),
      values: valuesOf(windowEventsAt(spec, events, user, Number(t)), lines),
    };
  });
}

async function offlineValues() {
  return (await env.offline('spend')).map((r) => ({
    entity_key: r.entity_key,
    event_time_ms: r.event_time_ms,
    values: JSON.parse(r.values_json) as Record<string, FeatureValue>,
  }));
}

/** The brute force's newest value per user: what the online store must hold. */
function newestPerUser(brute: ReturnType<typeof bruteForce>) {
  const out = new Map<string, { eventTimeMs: number; values: Record<string, FeatureValue> }>();
  for (const r of brute) out.set(r.entity_key, { eventTimeMs: r.event_time_ms, values: r.values });
  return out;
}

async function onlineValues(users: readonly string[]) {
  const rows = await env.online.readMany('spend', users);
  return new Map(
    users.flatMap((u, i) =>
      rows[i] === undefined
        ? []
        : [[u, { eventTimeMs: rows[i]!.eventTimeMs, values: rows[i]!.values }] as const],
    ),
  );
}

const USERS = ['u0', 'u1', 'u2', 'u3', 'u4'];

describe('materialize a window view from a CSV', () => {
  it('tumbling count and sum per entity equal a brute-force recomputation; bad rows reported by line', async () => {
    const events = randomEvents(1, 600);
    writeEvents(events);
    appendFileSync(
      join(dir.path, 'events.csv'),
      [
        `bad1,u1,${new Date(T0).toISOString()},lots,books`,
        `bad2,,${new Date(T0).toISOString()},1,books`,
        'bad3,u1,,1,books',
      ].join('\n'),
    );
    await env.apply(repo({ type: 'tumbling', size: '1h' }));
    const s = await env.materialize({ chunkSize: 50 });
    const brute = bruteForce({ size: HOUR, hop: HOUR }, events);
    expect(s.skipped).toEqual([]);
    expect(s.views[0]).toMatchObject({
      view: 'spend',
      mode: 'full',
      rows: 603,
      selected: 603,
      bad: 3,
      offlineWritten: brute.length,
      chunks: Math.ceil(brute.length / 50),
      skippedChunks: 0,
      watermarkMs: Math.max(...events.map((e) => e.t)),
    });
    expect(s.views[0]!.badExamples).toEqual([
      { line: 602, reason: 'amount: "lots" is not a float64' },
      { line: 603, reason: 'the join key "user_id" is empty' },
      { line: 604, reason: 'no event time ("at")' },
    ]);
    // Ties of event time make fewer values than events; several windows per user.
    expect(brute.length).toBeLessThan(600);
    expect(new Set(brute.map((r) => Math.floor(r.event_time_ms / HOUR))).size).toBe(6);
    expect(await offlineValues()).toEqual(brute);
    expect(await onlineValues(USERS)).toEqual(newestPerUser(brute));
  });

  it('hopping windows: count_by and top_k of the window that closes first equal the brute force', async () => {
    const events = randomEvents(2, 400);
    writeEvents(events);
    await env.apply(repo({ type: 'hopping', size: '1h', hop: '20m' }));
    const s = await env.materialize({ chunkSize: 64 });
    const brute = bruteForce({ size: HOUR, hop: 20 * MIN }, events);
    expect(s.views[0]).toMatchObject({ bad: 0, offlineWritten: brute.length });
    const offline = await offlineValues();
    expect(offline).toEqual(brute);
    // Hopping is not tumbling here: some value holds events from before its hour.
    const tumbling = bruteForce({ size: HOUR, hop: HOUR }, events);
    expect(offline.filter((r, i) => r.values.n !== tumbling[i]!.values.n).length).toBeGreaterThan(50);
    expect(await onlineValues(USERS)).toEqual(newestPerUser(brute));
  });

  it('session windows equal the brute force, sessions merged through the events between them', async () => {
    // Sparse events (gaps of minutes to hours) so that sessions of 15 minutes start and end.
    const events = randomEvents(3, 150);
    writeEvents(events);
    await env.apply(repo({ type: 'session', gap: '15m' }));
    await env.materialize();
    const brute = bruteForce({ gap: 15 * MIN }, events);
    expect(await offlineValues()).toEqual(brute);
    expect(await onlineValues(USERS)).toEqual(newestPerUser(brute));
    // Both short and long sessions happened.
    const ns = brute.map((r) => r.values.n as number);
    expect(Math.min(...ns)).toBe(1);
    expect(Math.max(...ns)).toBeGreaterThanOrEqual(5);
  });

  it('is idempotent: a second run skips every chunk and changes nothing, not even written_at', async () => {
    writeEvents(randomEvents(4, 300));
    await env.apply(repo({ type: 'hopping', size: '30m', hop: '10m' }));
    const first = await env.materialize({ chunkSize: 40 });
    expect(first.views[0]!.chunks).toBeGreaterThan(4);
    const before = await env.offline('spend');
    const onlineBefore = await env.online.readMany('spend', USERS);
    const second = await env.materialize({ chunkSize: 40 });
    expect(second.views[0]).toMatchObject({
      chunks: first.views[0]!.chunks,
      skippedChunks: first.views[0]!.chunks,
      offlineWritten: 0,
      onlineWritten: 0,
      watermarkMs: first.views[0]!.watermarkMs,
    });
    expect(await env.offline('spend')).toEqual(before);
    expect(await env.online.readMany('spend', USERS)).toEqual(onlineBefore);
    // Another chunk size is another run: every value upserted again, none changed.
    const third = await env.materialize({ chunkSize: 1000 });
    expect(third.views[0]).toMatchObject({ chunks: 1, skippedChunks: 0, offlineWritten: 0 });
    expect(await env.offline('spend')).toEqual(before);
  });

  it('a run that dies midway is finished by a rerun, which skips the chunks done and ends as the brute force', async () => {
    const events = randomEvents(5, 300);
    writeEvents(events);
    const loaded = await env.apply(repo({ type: 'tumbling', size: '30m' }));
    let writes = 0;
    const store = env.online;
    // The online store fails on its third write: the run dies at that chunk.
    const failing: OnlineFeatureStore = {
      init: () => store.init(),
      writeMany: async (rows, opts) => {
        if (++writes === 3) throw new Error('the online store went away');
        return store.writeMany(rows, opts);
      },
      readMany: (view, keys) => store.readMany(view, keys),
      deleteView: (view) => store.deleteView(view),
      close: () => store.close(),
    };
    const deps = {
      sql: env.sql,
      online: async () => failing,
      loaded,
      applied: await env.repoStore.appliedRepo(),
      openSource: featureSourceOpener(env.sql, `sqlite:${dbFile}`),
    };
    await expect(materialize(deps, { chunkSize: 30 })).rejects.toThrow(/went away/);
    const [{ n }] = (await env.sql.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM ferry_feature_run_chunks',
    )) as [{ n: number }];
    const done = Number(n);
    const rerun = await materialize(deps, { chunkSize: 30 });
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(rerun.views[0]!.chunks);
    expect(rerun.views[0]!.skippedChunks).toBe(done);
    const brute = bruteForce({ size: 30 * MIN, hop: 30 * MIN }, events);
    expect(await offlineValues()).toEqual(brute);
    expect(await onlineValues(USERS)).toEqual(newestPerUser(brute));
  });

  for (const [label, window, spec] of [
    ['tumbling', { type: 'tumbling', size: '1h' }, { size: HOUR, hop: HOUR }],
    ['session', { type: 'session', gap: '20m' }, { gap: 20 * MIN }],
  ] as Array<[string, WindowJson, Spec]>) {
    it(`${label}: an incremental run recomputes the entities with new rows and ends as a full run`, async () => {
      const events = randomEvents(6, 300).sort((a, b) => a.t - b.t);
      // The last hours' events come later; user u4 has none of them.
      const cut = T0 + 250 * MIN + 30_000;
      const old = events.filter((e) => e.t < cut);
      const late = events.filter((e) => e.t >= cut && e.user !== 'u4');
      writeEvents(old);
      await env.apply(repo(window));
      await env.materialize();
      const u4 = (await env.online.readMany('spend', ['u4']))[0];
      appendFileSync(join(dir.path, 'events.csv'), `${late.map((e, i) => line(e, 1000 + i)).join('\n')}\n`);
      const inc = await env.materialize({ incremental: true, chunkSize: 25 });
      const all = [...old, ...late];
      const brute = bruteForce(spec, all);
      const newValues = brute.filter((r) => r.event_time_ms >= cut);
      expect(inc.views[0]).toMatchObject({
        mode: 'incremental',
        rows: all.length,
        selected: late.length,
        offlineWritten: newValues.length,
        watermarkMs: Math.max(...late.map((e) => e.t)),
      });
      // The new values count the older rows of their windows (the cut is inside an hour).
      expect(
        newValues.some((r) =>
          windowEventsAt(spec, all, r.entity_key, r.event_time_ms).some((e) => e.t < cut),
        ),
      ).toBe(true);
      expect(await offlineValues()).toEqual(brute);
      expect(await onlineValues(USERS)).toEqual(newestPerUser(brute));
      // An entity without new rows is not touched.
      expect((await env.online.readMany('spend', ['u4']))[0]).toEqual(u4);
      const again = await env.materialize({ incremental: true });
      expect(again.views[0]).toMatchObject({ selected: 0, chunks: 0, offlineWritten: 0 });
    });
  }

  it('a window view with online: false writes the offline store only', async () => {
    writeEvents(randomEvents(7, 50));
    await env.apply(repo({ type: 'tumbling', size: '1h' }, { online: false }));
    const s = await env.materialize();
    expect(s.views[0]).toMatchObject({ onlineWritten: 0 });
    expect(s.views[0]!.offlineWritten).toBeGreaterThan(20);
    expect(await env.online.readMany('spend', USERS)).toEqual(USERS.map(() => undefined));
  });

  it("breaks ties of `last` by the event id for a stream's batch source, by the line otherwise", async () => {
    const t = T0 + 5 * MIN;
    writeEvents([
      { id: 'b', user: 'u1', t, amount: 1, cat: 'from-b' },
      { id: 'a', user: 'u1', t, amount: 2, cat: 'from-a' },
    ]);
    const r = repo({ type: 'tumbling', size: '1h' }) as ReturnType<typeof repo> & {
      sources: Array<Record<string, unknown>>;
      views: Array<Record<string, unknown>>;
    };
    r.sources.push({
      name: 'live',
      kind: 'stream',
      stream: 'events',
      timestampField: 'at',
      batchSource: 'events',
    });
    r.views.push({ ...r.views[0]!, name: 'spend_live', source: 'live' });
    await env.apply(r);
    const s = await env.materialize();
    expect(s.views.map((v) => [v.view, v.offlineWritten])).toEqual([
      ['spend', 1],
      ['spend_live', 1],
    ]);
    const [file] = await env.online.readMany('spend', ['u1']);
    const [live] = await env.online.readMany('spend_live', ['u1']);
    expect(file?.values).toMatchObject({ n: 2, total: 3, last_cat: 'from-a' });
    // The stream pipeline keeps the larger event id on a tie: "b".
    expect(live?.values).toMatchObject({ n: 2, total: 3, last_cat: 'from-b' });
  });
});

describe('point-in-time training sets over a window view', () => {
  it('never see an event from after the row’s timestamp, before or after a backfill of a late row', async () => {
    const at = (minutes: number) => T0 + 10 * HOUR + minutes * MIN;
    const events: Ev[] = [
      { user: 'u1', t: at(0), amount: 1, cat: 'books' },
      { user: 'u1', t: at(30), amount: 100, cat: 'games' },
      { user: 'u1', t: at(70), amount: 5, cat: 'games' },
      { user: 'u2', t: at(20), amount: 7, cat: 'music' },
      ...randomEvents(8, 200).map((e) => ({ ...e, t: e.t + 24 * HOUR })),
    ];
    writeEvents(events);
    await env.apply(repo({ type: 'tumbling', size: '1h' }, { ttl: '2h' }));
    await env.materialize();
    const { repo: applied } = await env.repoStore.appliedRepo();
    const refs = resolveFeatures(applied, { features: ['spend:n', 'spend:total'] });
    const pit = async (rows: ReadonlyArray<[string, number]>) => {
      const cols = await pointInTimeJoin(env.sql, applied, refs, {
        keys: { user_id: rows.map(([u]) => u) },
        timestamps: rows.map(([, ts]) => ts),
      });
      return rows.map((_, i) => [cols[0]!.values[i], cols[1]!.values[i]]);
    };
    // Within one hour window: at 10:15 only the 10:00 event exists; 10:30's 100 is the future.
    expect(
      await pit([
        ['u1', at(0) - 1],
        ['u1', at(0)],
        ['u1', at(15)],
        ['u1', at(30) - 1],
        ['u1', at(30)],
        ['u1', at(65)],
        ['u1', at(70)],
        ['u1', at(70) + 2 * HOUR],
        ['u1', at(70) + 2 * HOUR + 1],
        ['u2', at(19)],
        ['u2', at(20)],
      ]),
    ).toEqual([
      [null, null],
      [1, 1],
      [1, 1],
      [1, 1],
      [2, 101],
      // 11:05: the newest value is still the 10:30 one (the entity's newest event is in the 10:00 window).
      [2, 101],
      [1, 5],
      [1, 5],
      // Past the TTL.
      [null, null],
      [null, null],
      [1, 7],
    ]);

    // Every timestamp around every event: the value as of the newest event at or before it.
    const brute = bruteForce({ size: HOUR, hop: HOUR }, events);
    const probes: Array<[string, number]> = brute.flatMap((r) =>
      [-1, 0, 1, 59_999].map((d) => [r.entity_key, r.event_time_ms + d] as [string, number]),
    );
    const expected = probes.map(([u, ts]) => {
      const seen = brute.filter(
        (r) => r.entity_key === u && r.event_time_ms <= ts && r.event_time_ms >= ts - 2 * HOUR,
      );
      const v = seen.at(-1)?.values;
      return [v?.n ?? null, v?.total ?? null];
    });
    expect(await pit(probes)).toEqual(expected);

    // A late row (10:10, older than the watermark) appears: incremental leaves it, a range backfills it.
    const lateRow: Ev = { user: 'u1', t: at(10), amount: 1000, cat: 'films' };
    appendFileSync(join(dir.path, 'events.csv'), `${line(lateRow, 999)}\n`);
    const inc = await env.materialize({ incremental: true });
    expect(inc.views[0]).toMatchObject({ selected: 0, offlineWritten: 0 });
    const backfill = await env.materialize({ range: { startMs: at(0), endMs: at(60) } });
    // Written: the new value at 10:10 and the one at 10:30 it changes; 10:00 is unchanged.
    expect(backfill.views[0]).toMatchObject({ mode: 'range', selected: 4, offlineWritten: 2 });
    expect(
      await pit([
        ['u1', at(5)],
        ['u1', at(10)],
        ['u1', at(29)],
        ['u1', at(45)],
      ]),
    ).toEqual([
      [1, 1],
      [2, 1001],
      [2, 1001],
      [3, 1101],
    ]);
    expect(await offlineValues()).toEqual(bruteForce({ size: HOUR, hop: HOUR }, [...events, lateRow]));
  });
});
