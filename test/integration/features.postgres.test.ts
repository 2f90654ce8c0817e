/** The offline store and materialize on the real PostgreSQL, in a schema of the test's own. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFeatures } from '../../src/features/feature-refs.js';
import { writeOfflineRows } from '../../src/features/offline-store.js';
import { pointInTimeJoin } from '../../src/features/training-set.js';
import {
  day,
  type FeatureEnv,
  featureEnv,
  iso,
  projectsRepo,
  writeProjectsCsv,
} from '../features/helpers.js';
import { dropSchemas, freshSchema, pgClient, pgUrl } from '../helpers/postgres.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const schema = freshSchema();
const dir = tmpDir('ferry-features-pg-');
let env: FeatureEnv;

beforeAll(async () => {
  env = await featureEnv(dir.path, pgClient(schema), `${pgUrl()}?schema=${schema}`);
});
afterAll(async () => {
  await env?.close();
  await dropSchemas(schema);
  dir.remove();
});

describe('feature store on PostgreSQL', () => {
  it('writeOfflineRows upserts idempotently: same values change nothing, new values replace, last of a batch wins', async () => {
    const row = { view: 'v', entityKey: 'e1', eventTimeMs: day(1), values: { x: 1 } };
    expect(await writeOfflineRows(env.sql, [row, { ...row, entityKey: 'e2' }], 100)).toBe(2);
    expect(await writeOfflineRows(env.sql, [row], 200)).toBe(0);
    expect(
      await writeOfflineRows(
        env.sql,
        [
          { ...row, values: { x: 2 } },
          { ...row, values: { x: 3 } },
        ],
        300,
      ),
    ).toBe(1);
    expect(await env.offline('v')).toEqual([
      { entity_key: 'e1', event_time_ms: day(1), values_json: '{"x":3}', written_at_ms: 300 },
      { entity_key: 'e2', event_time_ms: day(1), values_json: '{"x":1}', written_at_ms: 100 },
    ]);
  });

  it('materializes a CSV and a SQL table source, idempotently and incrementally, and joins point in time', async () => {
    writeProjectsCsv(dir.path, [
      { project_id: '1', created_on: iso(day(1)), title: 'A', description: 'text words', stars: '1' },
      { project_id: '1', created_on: iso(day(3)), title: 'B', description: 'more', stars: '2' },
      { project_id: '2', created_on: iso(day(2)), title: 'C', description: 'x', stars: 'no' },
    ]);
    await env.sql.execute('CREATE TABLE clicks (project_id TEXT, at TIMESTAMPTZ, clicks BIGINT)');
    await env.sql.execute(
      `INSERT INTO clicks VALUES ('1', '${iso(day(1))}', 10), ('1', '${iso(day(2))}', 20), ('2', '${iso(day(2))}', 5)`,
    );
    const repo = projectsRepo() as { sources: unknown[]; views: unknown[] };
    repo.sources.push({ name: 'clicks', kind: 'sql', table: 'clicks', timestampField: 'at' });
    repo.views.push({
      name: 'clicks',
      entities: ['project'],
      source: 'clicks',
      ttl: '1d',
      schema: [{ name: 'clicks', type: 'int64' }],
      transform: { kind: 'row' },
    });
    await env.apply(repo);
    const first = await env.materialize({ chunkSize: 2 });
    const by = Object.fromEntries(first.views.map((v) => [v.view, v]));
    expect(by.project_text).toMatchObject({ rows: 3, bad: 1, offlineWritten: 2, chunks: 2 });
    expect(by.clicks).toMatchObject({ rows: 3, bad: 0, offlineWritten: 3, watermarkMs: day(2) });
    const second = await env.materialize({ chunkSize: 2 });
    expect(second.views.map((v) => [v.skippedChunks, v.offlineWritten])).toEqual([
      [2, 0],
      [2, 0],
    ]);
    await env.sql.execute(`INSERT INTO clicks VALUES ('2', '${iso(day(4))}', 50)`);
    const inc = await env.materialize({ incremental: true, views: ['clicks'] });
    expect(inc.views[0]).toMatchObject({ rows: 4, selected: 1, offlineWritten: 1, watermarkMs: day(4) });
    const [two] = await env.online.readMany('clicks', ['2']);
    expect(two).toMatchObject({ eventTimeMs: day(4), values: { clicks: 50 } });

    const { repo: applied } = await env.repoStore.appliedRepo();
    const refs = resolveFeatures(applied, { features: ['clicks:clicks', 'project_text:stars'] });
    const cols = await pointInTimeJoin(env.sql, applied, refs, {
      keys: { project_id: ['1', '1', '2', '2'] },
      timestamps: [day(2) - 1, day(3), day(3), day(4)],
    });
    expect(cols.map((c) => c.values)).toEqual([
      [10, 20, 5, 50],
      [1, 2, null, null],
    ]);
  });

  it('materializes a window view from a SQL table, incrementally, and joins it point in time', async () => {
    const h = (hours: number) => day(10) + hours * 3_600_000;
    await env.sql.execute('CREATE TABLE purchases (user_id TEXT, at TIMESTAMPTZ, amount DOUBLE PRECISION)');
    await env.sql.execute(
      `INSERT INTO purchases VALUES ('a', '${iso(h(0))}', 1), ('a', '${iso(h(1))}', 10), ('b', '${iso(h(1))}', 5),
         ('a', '${iso(h(1))}', 100), ('a', '${iso(h(25))}', 7)`,
    );
    const repo = {
      entities: [{ name: 'user', joinKeys: ['user_id'] }],
      sources: [{ name: 'purchases', kind: 'sql', table: 'purchases', timestampField: 'at' }],
      views: [
        {
          name: 'daily_spend',
          entities: ['user'],
          source: 'purchases',
          ttl: '2d',
          schema: [
            { name: 'n', type: 'int64' },
            { name: 'total', type: 'float64' },
          ],
          transform: {
            kind: 'window',
            window: { type: 'tumbling', size: '1d' },
            aggregations: [
              { name: 'n', fn: 'count' },
              { name: 'total', fn: 'sum', field: 'amount' },
            ],
          },
        },
      ],
    };
    await env.apply(repo, 'windows.json');
    const first = await env.materialize({ chunkSize: 2 });
    expect(first.views[0]).toMatchObject({
      rows: 5,
      bad: 0,
      offlineWritten: 4,
      chunks: 2,
      watermarkMs: h(25),
    });
    const values = async () =>
      (await env.offline('daily_spend')).map((r) => [
        r.entity_key,
        r.event_time_ms,
        JSON.parse(r.values_json),
      ]);
    expect(await values()).toEqual([
      ['a', h(0), { n: 1, total: 1 }],
      ['a', h(1), { n: 3, total: 111 }],
      ['a', h(25), { n: 1, total: 7 }],
      ['b', h(1), { n: 1, total: 5 }],
    ]);
    expect((await env.materialize({ chunkSize: 2 })).views[0]).toMatchObject({
      skippedChunks: 2,
      offlineWritten: 0,
    });
    // A new row in a window that has older rows: the incremental value counts them.
    await env.sql.execute(`INSERT INTO purchases VALUES ('a', '${iso(h(26))}', 3)`);
    const inc = await env.materialize({ incremental: true });
    expect(inc.views[0]).toMatchObject({ selected: 1, offlineWritten: 1, watermarkMs: h(26) });
    const [a] = await env.online.readMany('daily_spend', ['a']);
    expect(a).toMatchObject({ eventTimeMs: h(26), values: { n: 2, total: 10 } });

    const { repo: applied } = await env.repoStore.appliedRepo();
    const refs = resolveFeatures(applied, { features: ['daily_spend:total'] });
    const cols = await pointInTimeJoin(env.sql, applied, refs, {
      keys: { user_id: ['a', 'a', 'a', 'a', 'b'] },
      timestamps: [h(0) - 1, h(1) - 1, h(25) + 1, h(26), h(23)],
    });
    expect(cols[0]!.values).toEqual([null, 1, 7, 10, 5]);
  });
});
