import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import type { FeatureRepoDef } from '../../src/features/feature-definitions.js';
import type { AppliedRepo } from '../../src/features/feature-repo-store.js';
import { readOnlineFeatures } from '../../src/features/online-read.js';

/**
 * readOnlineFeatures on a real SQLite online store: the answer of a wide read (many entities ×
 * many features, one view) and of features of several views asked interleaved, after the loop
 * that builds the results was made per row (bench/features): every value from its own entity and
 * feature, each entity's features in the order asked, statuses and event times per row.
 */
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 10);
const WIDE = 50;
const wideNames = Array.from({ length: WIDE }, (_, f) => `f${f}`);

const repo: FeatureRepoDef = {
  entities: [{ name: 'user', joinKeys: ['user_id'] }],
  sources: [{ name: 'rows', kind: 'file', path: 'rows.csv', timestampField: 'ts' }],
  views: [
    {
      name: 'wide',
      entities: ['user'],
      source: 'rows',
      ttl: '30d',
      schema: wideNames.map((name) => ({ name, type: 'float64' as const })),
      transform: { kind: 'row' },
    },
    {
      name: 'short',
      entities: ['user'],
      source: 'rows',
      ttl: '1d',
      schema: [
        { name: 'a', type: 'int64' },
        { name: 'b', type: 'string' },
      ],
      transform: { kind: 'row' },
    },
  ],
  services: [{ name: 'everything', features: ['wide'] }],
};
const applied: AppliedRepo = { repo, objects: [], hashes: new Map() };

/** Entity i: fresh for i % 3 == 0, expired (older than 30 days) for i % 3 == 1, absent for i % 3 == 2. */
const ENTITIES = 120;
const wideValue = (i: number, f: number) => i * 1000 + f + 0.5;
const eventTime = (i: number) => (i % 3 === 0 ? NOW - 1000 - i : NOW - 31 * DAY - i);

let sql: SqliteClient;
let store: SqlOnlineStore;

beforeAll(async () => {
  sql = new SqliteClient({ path: ':memory:' });
  await sql.init();
  store = new SqlOnlineStore({ sql });
  await store.init();
  const rows = [];
  for (let i = 0; i < ENTITIES; i++) {
    if (i % 3 === 2) continue;
    rows.push({
      view: 'wide',
      entityKey: `u${i}`,
      eventTimeMs: eventTime(i),
      values: Object.fromEntries(wideNames.map((n, f) => [n, wideValue(i, f)])),
    });
  }
  rows.push({ view: 'short', entityKey: 'u0', eventTimeMs: NOW - 2 * DAY, values: { a: 1, b: 'old' } });
  rows.push({ view: 'short', entityKey: 'u3', eventTimeMs: NOW - 1000, values: { a: 2, b: 'new' } });
  await store.writeMany(rows);
});

afterAll(async () => {
  await store?.close();
  await sql?.close();
});

describe('readOnlineFeatures', () => {
  it('answers a wide read: each entity its own values, its own status and event time, features in order', async () => {
    const ids = Array.from({ length: ENTITIES }, (_, i) => `u${ENTITIES - 1 - i}`);
    const r = await readOnlineFeatures(
      applied,
      store,
      { service: 'everything', entities: { user_id: ids } },
      NOW,
    );
    const asked = wideNames.map((n) => `wide:${n}`);
    expect(r.features).toEqual(asked);
    expect(r.results).toHaveLength(ENTITIES);
    r.results.forEach((result, k) => {
      const i = ENTITIES - 1 - k;
      expect(result.entity).toEqual({ user_id: `u${i}` });
      expect(Object.keys(result.features)).toEqual(asked);
      const iso = new Date(eventTime(i)).toISOString();
      asked.forEach((name, f) => {
        const got = result.features[name];
        if (i % 3 === 0) expect(got).toEqual({ value: wideValue(i, f), status: 'PRESENT', eventTime: iso });
        else if (i % 3 === 1) expect(got).toEqual({ value: null, status: 'EXPIRED', eventTime: iso });
        else expect(got).toEqual({ value: null, status: 'NOT_FOUND', eventTime: null });
      });
    });
  });

  it('puts features of several views back in the order asked, each with its own view TTL', async () => {
    const features = ['short:b', 'wide:f7', 'short:a', 'wide:f0'];
    const r = await readOnlineFeatures(
      applied,
      store,
      { features, entities: { user_id: ['u3', 'u0', 'u2'] } },
      NOW,
    );
    expect(r.features).toEqual(features);
    const [u3, u0, u2] = r.results;
    expect(Object.keys(u3!.features)).toEqual(features);
    expect(u3!.features).toEqual({
      'short:b': { value: 'new', status: 'PRESENT', eventTime: new Date(NOW - 1000).toISOString() },
      'wide:f7': {
        value: wideValue(3, 7),
        status: 'PRESENT',
        eventTime: new Date(eventTime(3)).toISOString(),
      },
      'short:a': { value: 2, status: 'PRESENT', eventTime: new Date(NOW - 1000).toISOString() },
      'wide:f0': {
        value: wideValue(3, 0),
        status: 'PRESENT',
        eventTime: new Date(eventTime(3)).toISOString(),
      },
    });
    // u0: fresh in `wide` (30 days), expired in `short` (1 day).
    expect(Object.keys(u0!.features)).toEqual(features);
    expect(u0!.features['short:b']).toMatchObject({ value: null, status: 'EXPIRED' });
    expect(u0!.features['wide:f7']).toMatchObject({ value: wideValue(0, 7), status: 'PRESENT' });
    expect(Object.values(u2!.features).map((f) => f.status)).toEqual(Array(4).fill('NOT_FOUND'));
  });
});
