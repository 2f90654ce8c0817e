import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import {
  entityKeyOf,
  type FeatureValue,
  type OnlineFeatureRow,
  type OnlineFeatureStore,
} from '../../src/ports/online-feature-store.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

/**
 * One empty store, not yet initialised. `another` opens a second store on the same backend (its
 * own connections), for concurrent writers; without it the suite's writers share one store.
 */
export interface OnlineFeatureStoreHarness {
  store: OnlineFeatureStore;
  another?(): Promise<OnlineFeatureStore>;
  dispose(): Promise<void>;
}

/** Realistic event times: past 2^31, so a 32-bit column or parser would show. */
const T0 = 1_700_000_000_000;

const row = (
  entityKey: string,
  eventTimeMs: number,
  values: Record<string, FeatureValue>,
  view = 'user_stats',
): OnlineFeatureRow => ({ view, entityKey, eventTimeMs, values });

/** Seeded, so a failure replays. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The behaviour every OnlineFeatureStore must show. */
export function onlineFeatureStoreConformance(
  name: string,
  makeStore: () => Promise<OnlineFeatureStoreHarness>,
): void {
  describe(`OnlineFeatureStore conformance: ${name}`, () => {
    let harness: OnlineFeatureStoreHarness;
    let store: OnlineFeatureStore;
    const extra: OnlineFeatureStore[] = [];

    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
      await store.init();
      await store.init(); // documented as safe to call twice
    });

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await harness.dispose();
    });

    it('keeps the newer event time: an older write is skipped and not counted, an equal one replaces', async () => {
      const before = Date.now();
      expect(await store.writeMany([row('u1', T0 + 100, { n: 1 })])).toBe(1);
      const after = Date.now();
      const [first] = await store.readMany('user_stats', ['u1']);
      expect(first).toMatchObject({
        view: 'user_stats',
        entityKey: 'u1',
        eventTimeMs: T0 + 100,
        values: { n: 1 },
      });
      expect(first!.writtenAtMs).toBeGreaterThanOrEqual(before);
      expect(first!.writtenAtMs).toBeLessThanOrEqual(after);

      expect(await store.writeMany([row('u1', T0 + 99, { n: 2 })])).toBe(0);
      expect((await store.readMany('user_stats', ['u1']))[0]).toEqual(first); // written-at untouched too

      expect(await store.writeMany([row('u1', T0 + 100, { n: 3 })])).toBe(1);
      expect((await store.readMany('user_stats', ['u1']))[0]).toMatchObject({
        eventTimeMs: T0 + 100,
        values: { n: 3 },
      });

      expect(await store.writeMany([row('u1', T0 + 101, { m: 'x' })])).toBe(1);
      // A newer row replaces the values whole: features are not merged.
      expect((await store.readMany('user_stats', ['u1']))[0]!.values).toEqual({ m: 'x' });

      // In a mixed call only the older row is skipped.
      expect(await store.writeMany([row('u1', T0 + 50, { n: 4 }), row('u2', T0 + 50, { n: 5 })])).toBe(1);
      const [u1, u2] = await store.readMany('user_stats', ['u1', 'u2']);
      expect(u1!.values).toEqual({ m: 'x' });
      expect(u2!.values).toEqual({ n: 5 });
    });

    it('applies rows of one call with the same key in order, counting each that applies', async () => {
      const applied = await store.writeMany([
        row('k', T0 + 10, { v: 'a' }),
        row('k', T0 + 5, { v: 'b' }), // older than the row before it: skipped
        row('other', T0 + 1, { v: 'o' }),
        row('k', T0 + 20, { v: 'c' }),
        row('k', T0 + 20, { v: 'd' }), // equal: the later one wins
        row('k', T0 + 15, { v: 'e' }),
      ]);
      expect(applied).toBe(4);
      expect((await store.readMany('user_stats', ['k']))[0]).toMatchObject({
        eventTimeMs: T0 + 20,
        values: { v: 'd' },
      });

      // Against a stored row: only those at or after the stored time count.
      expect(
        await store.writeMany([
          row('k', T0 + 19, { v: 'f' }),
          row('k', T0 + 21, { v: 'g' }),
          row('k', T0 + 21, { v: 'h' }),
          row('k', T0 + 20, { v: 'i' }),
        ]),
      ).toBe(2);
      expect((await store.readMany('user_stats', ['k']))[0]).toMatchObject({
        eventTimeMs: T0 + 21,
        values: { v: 'h' },
      });
    });

    it('answers readMany in the order asked, with misses and repeats in place', async () => {
      await store.writeMany([
        row('a', T0, { x: 1 }),
        row('c', T0, { x: 3 }),
        row('a', T0, { x: 1 }, 'other_view'),
      ]);
      const got = await store.readMany('user_stats', ['c', 'missing', 'a', 'c', 'also-missing']);
      expect(got.map((r) => r?.values.x)).toEqual([3, undefined, 1, 3, undefined]);
      expect(got[1]).toBeUndefined();
      expect(await store.readMany('user_stats', [])).toEqual([]);
      expect(await store.readMany('no_such_view', ['a'])).toEqual([undefined]);
      expect(await store.writeMany([])).toBe(0);
    });

    it('keeps unicode, composite and punctuation-heavy keys distinct', async () => {
      const keys = [
        entityKeyOf(['u1', 'p9']),
        entityKeyOf(['u1', 'p9', '']),
        'u1',
        'p9',
        'u1p9',
        '日本語',
        'café',
        'cafe\u0301',
        '🚀:👩🏽‍🔬',
        'with space',
        'with:colon:',
        'a*b?[c]\\d%_',
        "quote'); DROP TABLE x; --",
        'tab\tnl\n',
        '',
      ];
      expect(await store.writeMany(keys.map((k, i) => row(k, T0 + i, { i })))).toBe(keys.length);
      const got = await store.readMany('user_stats', keys);
      expect(got.map((r) => r?.values.i)).toEqual(keys.map((_, i) => i));
      expect(got.map((r) => r?.entityKey)).toEqual(keys);
      expect(await store.readMany('user_stats', ['u1\u001f', 'cafe', 'a*b?[c]\\d%'])).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    });

    it('round-trips values of every JSON shape exactly', async () => {
      const values: Record<string, FeatureValue> = {
        str: 'plain',
        empty: '',
        unicode: 'naïve 日本 🚀 \u0000 \u001f "quoted" \\ \n',
        lone: '\ud800 half a pair', // JSON.stringify escapes it; it must come back the same
        int: 42,
        negative: -7,
        float: 0.1 + 0.2,
        maxSafe: Number.MAX_SAFE_INTEGER,
        minSafe: Number.MIN_SAFE_INTEGER,
        huge: 1.7976931348623157e308,
        tiny: 5e-324,
        zero: 0,
        yes: true,
        no: false,
        nothing: null,
        floats: [0.5, -1.25, 1e21, 3],
        strings: ['a', '', 'b c'],
        emptyList: [],
        mixed: [1, 'two', null, true, [3, [4]], { five: 5 }],
        map: { python: 3, rust: 1.5, '': 0, 'key with spaces': -2 },
        emptyMap: {},
        nested: { a: { b: { c: [{ d: null }] } } },
      };
      await store.writeMany([row('shapes', T0, values), row('no-features', T0, {})]);
      const [shapes, none] = await store.readMany('user_stats', ['shapes', 'no-features']);
      expect(shapes!.values).toEqual(values);
      expect(Object.keys(shapes!.values)).toEqual(Object.keys(values)); // order kept, as JSON keeps it
      expect(none!.values).toEqual({});
    });

    it('deleteView removes that view only and counts its rows', async () => {
      await store.writeMany([
        row('a', T0, { x: 1 }, 'v1'),
        row('b', T0, { x: 1 }, 'v1'),
        row('a', T0, { x: 2 }, 'v10'), // a name starting like v1
        row('a', T0, { x: 3 }, 'v2'),
      ]);
      expect(await store.deleteView('v1')).toBe(2);
      expect(await store.readMany('v1', ['a', 'b'])).toEqual([undefined, undefined]);
      expect((await store.readMany('v10', ['a']))[0]!.values).toEqual({ x: 2 });
      expect((await store.readMany('v2', ['a']))[0]!.values).toEqual({ x: 3 });
      expect(await store.deleteView('v1')).toBe(0);
      expect(await store.deleteView('never_written')).toBe(0);
      // A deleted view starts over: an old event time is accepted again.
      expect(await store.writeMany([row('a', T0 - 1000, { x: 4 }, 'v1')])).toBe(1);
      expect((await store.readMany('v1', ['a']))[0]!.values).toEqual({ x: 4 });
    });

    it('writes and reads 1500 keys in one call each', async () => {
      const n = 1500;
      const rows = Array.from({ length: n }, (_, i) =>
        row(`entity-${i}`, T0 + i, { i, tags: [`t${i % 7}`], score: i / 3 }),
      );
      expect(await store.writeMany(rows)).toBe(n);
      const keys = rows.map((r) => r.entityKey).reverse();
      keys.splice(700, 0, 'missing-1', 'missing-2');
      const got = await store.readMany('user_stats', keys);
      expect(got).toHaveLength(n + 2);
      expect(got[700]).toBeUndefined();
      expect(got[701]).toBeUndefined();
      const found = got.filter((r) => r !== undefined);
      expect(found.map((r) => r.values.i)).toEqual(Array.from({ length: n }, (_, i) => n - 1 - i));
      expect(found.every((r) => r.eventTimeMs === T0 + (r.values.i as number))).toBe(true);
      // A second pass with the same event times replaces every row; an older one none.
      expect(await store.writeMany(rows)).toBe(n);
      expect(await store.writeMany(rows.map((r) => ({ ...r, eventTimeMs: r.eventTimeMs - 1 })))).toBe(0);
      expect(await store.deleteView('user_stats')).toBe(n);
    });

    it('converges on the newest row per key under concurrent writers', async () => {
      const writers: OnlineFeatureStore[] = [store];
      for (let i = 1; i < 4; i++) {
        if (harness.another === undefined) writers.push(store);
        else {
          const s = await harness.another();
          extra.push(s);
          await s.init();
          writers.push(s);
        }
      }
      const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
      const newest = new Map<string, number>();
      const random = prng(11);
      // Each writer sends 3 calls, each with two rows of random event time for every key (more
      // rows than one SQL statement takes), all at once.
      const calls: Promise<number>[] = [];
      for (const [w, writer] of writers.entries()) {
        for (let c = 0; c < 3; c++) {
          const rows = [...keys, ...keys].map((k) => {
            const t = T0 + Math.floor(random() * 1_000_000);
            newest.set(k, Math.max(newest.get(k) ?? 0, t));
            return row(k, t, { t, writer: w });
          });
          // Each call in its own key order, as unrelated writers (a backfill, a stream) would send.
          for (let i = rows.length - 1; i > 0; i--) {
            const j = Math.floor(random() * (i + 1));
            [rows[i], rows[j]] = [rows[j]!, rows[i]!];
          }
          calls.push(writer.writeMany(rows));
        }
      }
      const applied = (await Promise.all(calls)).reduce((a, b) => a + b, 0);
      expect(applied).toBeGreaterThanOrEqual(keys.length);
      expect(applied).toBeLessThanOrEqual(keys.length * writers.length * 6);
      for (const reader of writers) {
        const got = await reader.readMany('user_stats', keys);
        expect(got.map((r) => r!.eventTimeMs)).toEqual(keys.map((k) => newest.get(k)));
        expect(got.every((r) => r!.values.t === r!.eventTimeMs)).toBe(true);
      }
    });

    it('refuses malformed rows and keys before writing anything', async () => {
      const good = row('good', T0, { x: 1 });
      const bad: Array<[string, OnlineFeatureRow]> = [
        ['NUL in the key', row('a\u0000b', T0, { x: 1 })],
        ['lone surrogate in the key', row('a\ud800', T0, { x: 1 })],
        ['":" in the view', row('a', T0, { x: 1 }, 'user:stats')],
        ['empty view', row('a', T0, { x: 1 }, '')],
        ['fractional event time', row('a', T0 + 0.5, { x: 1 })],
        ['NaN event time', row('a', Number.NaN, { x: 1 })],
        ['NaN value', row('a', T0, { x: Number.NaN })],
        ['Infinity in a list', row('a', T0, { x: [1, Number.POSITIVE_INFINITY] })],
        ['undefined value', row('a', T0, { x: undefined as unknown as FeatureValue })],
        ['a Date', row('a', T0, { x: new Date(T0) as unknown as FeatureValue })],
        [
          'values not an object',
          { view: 'user_stats', entityKey: 'a', eventTimeMs: T0, values: [1] as never },
        ],
      ];
      for (const [what, b] of bad) {
        const error = await expectFerryError(
          store.writeMany([good, b]),
          ErrorCode.FEATURES_INVALID_REQUEST,
          400,
        );
        expect(error.message, what).not.toBe('');
      }
      expect(await store.readMany('user_stats', ['good'])).toEqual([undefined]);
      await expectFerryError(
        store.readMany('user_stats', ['ok', 'a\u0000']),
        ErrorCode.FEATURES_INVALID_REQUEST,
        400,
      );
      await expectFerryError(store.readMany('a:b', ['ok']), ErrorCode.FEATURES_INVALID_REQUEST, 400);
      await expectFerryError(store.deleteView(''), ErrorCode.FEATURES_INVALID_REQUEST, 400);
    });

    it('fails with FEATURES_UNAVAILABLE once closed', async () => {
      await store.writeMany([row('a', T0, { x: 1 })]);
      await store.close();
      await store.close(); // closing twice is harmless
      await expectFerryError(store.readMany('user_stats', ['a']), ErrorCode.FEATURES_UNAVAILABLE, 503);
      await expectFerryError(
        store.writeMany([row('a', T0 + 1, { x: 2 })]),
        ErrorCode.FEATURES_UNAVAILABLE,
        503,
      );
    });
  });
}
