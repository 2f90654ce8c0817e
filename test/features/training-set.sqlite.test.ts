import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { trainingSetFromFiles } from '../../src/app/training-set-files.js';
import { seededRandom } from '../../src/core/random.js';
import { resolveFeatures } from '../../src/features/feature-refs.js';
import { writeOfflineRows } from '../../src/features/offline-store.js';
import { pointInTime, pointInTimeJoin } from '../../src/features/training-set.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { day, type FeatureEnv, featureEnv, iso } from './helpers.js';

const HOUR = 3_600_000;
const dir = tmpDir('ferry-pit-');
let env: FeatureEnv;

/** Two views: stars per project (TTL 2 days) and a per (user, project) view (TTL 1 hour). */
const REPO = {
  entities: [
    { name: 'project', joinKeys: ['project_id'] },
    { name: 'user', joinKeys: ['user_id'] },
  ],
  sources: [{ name: 'none', kind: 'sql', table: 'unused', timestampField: 't' }],
  views: [
    {
      name: 'stars',
      entities: ['project'],
      source: 'none',
      ttl: '2d',
      schema: [
        { name: 'stars', type: 'int64' },
        { name: 'title', type: 'string' },
      ],
      transform: { kind: 'row' },
    },
    {
      name: 'views',
      entities: ['user', 'project'],
      source: 'none',
      ttl: '1h',
      schema: [{ name: 'title', type: 'string' }],
      transform: { kind: 'row' },
    },
  ],
  services: [{ name: 'model', features: ['stars:stars', 'views:title', 'stars:title'] }],
};

beforeAll(async () => {
  const db = join(dir.path, 'ferry.db');
  env = await featureEnv(dir.path, new SqliteClient({ path: db }), `sqlite:${db}`);
  await env.apply(REPO);
  await writeOfflineRows(env.sql, [
    { view: 'stars', entityKey: 'p1', eventTimeMs: day(1), values: { stars: 10, title: 'one' } },
    { view: 'stars', entityKey: 'p1', eventTimeMs: day(3), values: { stars: 30, title: 'three' } },
    { view: 'stars', entityKey: 'p2', eventTimeMs: day(2), values: { stars: 2, title: 'two' } },
    { view: 'views', entityKey: 'u1\u001fp1', eventTimeMs: day(1), values: { title: 'u1 saw p1' } },
  ]);
});
afterAll(async () => {
  await env.close();
  dir.remove();
});

async function join1(
  entities: Record<string, Array<string | undefined>>,
  timestamps: number[],
  features: string[],
) {
  const { repo } = await env.repoStore.appliedRepo();
  const refs = resolveFeatures(repo, { features });
  const cols = await pointInTimeJoin(env.sql, repo, refs, { keys: entities, timestamps });
  return cols.map((c) => c.values);
}

describe('point-in-time join', () => {
  it('takes the newest value at or before the timestamp, never a later one', async () => {
    const [stars] = await join1(
      { project_id: ['p1', 'p1', 'p1', 'p1', 'p1', 'p2', 'p9', undefined] },
      [day(1) - 1, day(1), day(2), day(3) - 1, day(3), day(3), day(3), day(3)],
      ['stars:stars'],
    );
    expect(stars).toEqual([null, 10, 10, 10, 30, 2, null, null]);
  });

  it('does not see a value backfilled later for a time after the row, however close', async () => {
    const ts = day(4);
    await writeOfflineRows(env.sql, [
      { view: 'stars', entityKey: 'p3', eventTimeMs: day(3), values: { stars: 3, title: 'x' } },
    ]);
    expect((await join1({ project_id: ['p3'] }, [ts], ['stars:stars']))[0]).toEqual([3]);
    // A backfill writes p3's value for 1 ms after the row's timestamp: invisible to that row.
    await writeOfflineRows(env.sql, [
      { view: 'stars', entityKey: 'p3', eventTimeMs: ts + 1, values: { stars: 999, title: 'future' } },
    ]);
    expect((await join1({ project_id: ['p3', 'p3'] }, [ts, ts + 1], ['stars:stars']))[0]).toEqual([3, 999]);
  });

  it('keeps the TTL boundary exactly: event time >= timestamp − ttl is in, one ms older is out', async () => {
    const ttl = 2 * 86_400_000;
    // p2 has one value, at day 2.
    const [p2] = await join1(
      { project_id: ['p2', 'p2', 'p2'] },
      [day(2), day(2) + ttl, day(2) + ttl + 1],
      ['stars:title'],
    );
    expect(p2).toEqual(['two', 'two', null]);
    // p1: day 1's value expires at day 3, exactly when day 3's value arrives.
    const [p1] = await join1({ project_id: ['p1', 'p1'] }, [day(3) - 1, day(3)], ['stars:stars']);
    expect(p1).toEqual([10, 30]);
    // The one-hour view, keyed by two join keys.
    const [seen] = await join1(
      { user_id: ['u1', 'u1', 'u2', 'u1'], project_id: ['p1', 'p1', 'p1', 'p2'] },
      [day(1) + HOUR, day(1) + HOUR + 1, day(1), day(1)],
      ['views:title'],
    );
    expect(seen).toEqual(['u1 saw p1', null, null, null]);
  });

  it('agrees with a brute-force oracle on random data', async () => {
    const rand = seededRandom(7);
    const rows = [];
    for (let i = 0; i < 600; i++) {
      rows.push({
        view: 'stars',
        entityKey: `r${Math.floor(rand() * 30)}`,
        eventTimeMs: day(10) + Math.floor(rand() * 1000) * HOUR,
        values: { stars: i, title: `v${i}` },
      });
    }
    await writeOfflineRows(env.sql, rows);
    const stored = new Map<string, { t: number; stars: number }>();
    for (const r of rows)
      stored.set(`${r.entityKey}|${r.eventTimeMs}`, { t: r.eventTimeMs, stars: r.values.stars });
    const ttl = 2 * 86_400_000;
    const keys: string[] = [];
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      keys.push(`r${Math.floor(rand() * 32)}`);
      times.push(day(10) + Math.floor(rand() * 1100) * HOUR + (rand() < 0.3 ? 0 : Math.floor(rand() * HOUR)));
    }
    const [stars] = await join1({ project_id: keys }, times, ['stars:stars']);
    const expected = keys.map((k, i) => {
      let best: { t: number; stars: number } | undefined;
      for (const [key, v] of stored) {
        if (!key.startsWith(`${k}|`)) continue;
        if (v.t <= times[i]! && v.t >= times[i]! - ttl && (best === undefined || v.t > best.t)) best = v;
      }
      return best?.stars ?? null;
    });
    expect(stars).toEqual(expected);
    expect(stars!.filter((v) => v !== null).length).toBeGreaterThan(500);
  });

  it('binary search: last time <= ts within [from, to), or -1', () => {
    const times = Float64Array.from([5, 10, 10, 20, 30]);
    expect(pointInTime(times, 0, 5, 4, 100)).toBe(-1);
    expect(pointInTime(times, 0, 5, 10, 100)).toBe(2);
    expect(pointInTime(times, 0, 5, 29, 100)).toBe(3);
    expect(pointInTime(times, 0, 5, 31, 100)).toBe(4);
    expect(pointInTime(times, 0, 5, 31, 1)).toBe(4);
    expect(pointInTime(times, 0, 5, 31, 0)).toBe(-1);
    expect(pointInTime(times, 3, 5, 15, 100)).toBe(-1);
  });
});

describe('training sets from files', () => {
  it('keeps the rows in order with their extra columns, appends the features, and renames clashes', async () => {
    const input = join(dir.path, 'rows.csv');
    writeFileSync(
      input,
      [
        'user_id,project_id,event_timestamp,title,label',
        `u1,p1,${iso(day(1) + 1)},"a ""quoted"", title",yes`,
        `u2,p2,${day(2)},x,no`,
        `u1,p1,${iso(day(0))},y,no`,
      ].join('\n'),
    );
    const out = join(dir.path, 'out', 'train.csv');
    const s = await trainingSetFromFiles(env.sql, (await env.repoStore.appliedRepo()).repo, {
      entities: input,
      out,
      service: 'model',
    });
    expect(s).toMatchObject({
      rows: 3,
      columns: [
        'user_id',
        'project_id',
        'event_timestamp',
        'title',
        'label',
        'stars',
        'views__title',
        'stars__title',
      ],
    });
    expect(readFileSync(out, 'utf8')).toBe(
      [
        'user_id,project_id,event_timestamp,title,label,stars,views__title,stars__title',
        `u1,p1,${iso(day(1) + 1)},"a ""quoted"", title",yes,10,u1 saw p1,one`,
        `u2,p2,${day(2)},x,no,2,,two`,
        `u1,p1,${iso(day(0))},y,no,,,`,
        '',
      ].join('\n'),
    );
    const jsonl = join(dir.path, 'train.jsonl');
    await trainingSetFromFiles(env.sql, (await env.repoStore.appliedRepo()).repo, {
      entities: input,
      out: jsonl,
      features: ['stars'],
    });
    const lines = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({
      user_id: 'u1',
      project_id: 'p1',
      event_timestamp: iso(day(1) + 1),
      title: 'a "quoted", title',
      label: 'yes',
      stars: 10,
      stars__title: 'one',
    });
    expect(lines[2]).toMatchObject({ stars: null, stars__title: null });
  });

  it('refuses unknown features, a missing join key or timestamp column, and rows without a usable timestamp', async () => {
    const { repo } = await env.repoStore.appliedRepo();
    const input = join(dir.path, 'bad.csv');
    writeFileSync(input, 'project_id,ts\np1,2024-01-02\np1,yesterday\np2,\n');
    const out = join(dir.path, 'never.csv');
    const nf = await expectFerryError(
      trainingSetFromFiles(env.sql, repo, { entities: input, out, features: ['stars:nope', 'ghost'] }),
      'FERRY_FEATURES_NOT_FOUND',
      404,
    );
    expect(nf.details).toMatchObject({
      unknown: ['stars:nope', 'ghost'],
      known: expect.arrayContaining(['stars:stars']),
    });
    await expectFerryError(
      trainingSetFromFiles(env.sql, repo, { entities: input, out, service: 'nope' }),
      'FERRY_FEATURES_NOT_FOUND',
    );
    const noTs = await expectFerryError(
      trainingSetFromFiles(env.sql, repo, { entities: input, out, features: ['stars'] }),
      'FERRY_FEATURES_INVALID_REQUEST',
    );
    expect(noTs.message).toMatch(/no "event_timestamp" column/);
    const noKey = await expectFerryError(
      trainingSetFromFiles(env.sql, repo, {
        entities: input,
        out,
        features: ['views'],
        timestampColumn: 'ts',
      }),
      'FERRY_FEATURES_INVALID_REQUEST',
    );
    expect(noKey.message).toMatch(/no "user_id" column/);
    const badTs = await expectFerryError(
      trainingSetFromFiles(env.sql, repo, {
        entities: input,
        out,
        features: ['stars'],
        timestampColumn: 'ts',
      }),
      'FERRY_FEATURES_INVALID_REQUEST',
    );
    expect(badTs.details.problems).toEqual([
      { line: 3, reason: 'the timestamp "yesterday" is not ISO 8601 or ms' },
      { line: 4, reason: 'no timestamp ("ts")' },
    ]);
  });
});
