import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import {
  day,
  type FeatureEnv,
  featureEnv,
  iso,
  type ProjectRow,
  projectsRepo,
  writeProjectsCsv,
} from './helpers.js';

let dir: { path: string; remove(): void };
let env: FeatureEnv;

beforeEach(async () => {
  dir = tmpDir('ferry-materialize-');
  const db = join(dir.path, 'ferry.db');
  env = await featureEnv(dir.path, new SqliteClient({ path: db }), `sqlite:${db}`);
});
afterEach(async () => {
  await env.close();
  dir.remove();
});

const row = (
  id: string,
  t: number,
  title: string,
  stars = '1',
  description = 'some words here',
): ProjectRow => ({
  project_id: id,
  created_on: iso(t),
  title,
  description,
  stars,
});

describe('materialize a row view from a CSV source', () => {
  it('writes offline values for every good row, the newest per entity online, and reports bad rows by line', async () => {
    writeProjectsCsv(dir.path, [
      row('1', day(1), 'Transformers', '4.5', 'Fine-tuning BERT, for text'),
      row('2', day(2), 'GANs', '3'),
      row('1', day(5), 'Transformers v2', '5'),
      { ...row('3', day(3), 'Bad stars'), stars: 'many' },
      { ...row('4', day(3), 'No time'), created_on: '' },
      { ...row('', day(3), 'No id') },
      row('1', day(4), 'Transformers (older than day 5)', '4'),
    ]);
    await env.apply(projectsRepo());
    const s = await env.materialize();
    expect(s.skipped).toEqual([]);
    const [v] = s.views;
    expect(v).toMatchObject({
      view: 'project_text',
      mode: 'full',
      rows: 7,
      selected: 7,
      bad: 3,
      offlineWritten: 4,
      chunks: 1,
    });
    expect(v!.badExamples).toEqual([
      { line: 5, reason: 'stars: "many" is not a float64' },
      { line: 6, reason: 'no event time ("created_on")' },
      { line: 7, reason: 'the join key "project_id" is empty' },
    ]);
    const offline = await env.offline('project_text');
    expect(offline.map((r) => [r.entity_key, r.event_time_ms])).toEqual([
      ['1', day(1)],
      ['1', day(4)],
      ['1', day(5)],
      ['2', day(2)],
    ]);
    expect(JSON.parse(offline[0]!.values_json)).toEqual({
      title: 'Transformers',
      clean: 'transformers fine tuning bert text',
      title_len: 12,
      words: 5,
      stars: 4.5,
    });
    const [one, two, three] = await env.online.readMany('project_text', ['1', '2', '3']);
    expect(one).toMatchObject({ eventTimeMs: day(5), values: { title: 'Transformers v2', stars: 5 } });
    expect(two).toMatchObject({ eventTimeMs: day(2) });
    expect(three).toBeUndefined();
    expect(v!.watermarkMs).toBe(day(5));
  });

  it('is idempotent: a second run skips every chunk and changes nothing, not even written_at', async () => {
    writeProjectsCsv(
      dir.path,
      Array.from({ length: 250 }, (_, i) => row(String(i % 40), day(i % 17, i % 24), `title ${i}`)),
    );
    await env.apply(projectsRepo());
    const first = await env.materialize({ chunkSize: 60 });
    expect(first.views[0]).toMatchObject({ rows: 250, chunks: 5, skippedChunks: 0 });
    const before = await env.offline('project_text');
    const onlineBefore = await env.online.readMany('project_text', ['0', '1', '39']);
    const second = await env.materialize({ chunkSize: 60 });
    expect(second.views[0]).toMatchObject({
      rows: 250,
      chunks: 5,
      skippedChunks: 5,
      offlineWritten: 0,
      onlineWritten: 0,
    });
    expect(await env.offline('project_text')).toEqual(before);
    expect(await env.online.readMany('project_text', ['0', '1', '39'])).toEqual(onlineBefore);
    // Another chunk size is another run: every row upserted again, none changed.
    const third = await env.materialize({ chunkSize: 100 });
    expect(third.views[0]).toMatchObject({ chunks: 3, skippedChunks: 0, offlineWritten: 0 });
    expect(await env.offline('project_text')).toEqual(before);
  });

  it('rewrites only the chunks whose rows changed', async () => {
    const rows = Array.from({ length: 100 }, (_, i) => row(String(i), day(1), `t${i}`));
    writeProjectsCsv(dir.path, rows);
    await env.apply(projectsRepo());
    await env.materialize({ chunkSize: 25 });
    rows[60] = row('60', day(1), 'changed title');
    writeProjectsCsv(dir.path, rows);
    const s = await env.materialize({ chunkSize: 25 });
    expect(s.views[0]).toMatchObject({ chunks: 4, skippedChunks: 3, offlineWritten: 1 });
    const [sixty] = await env.online.readMany('project_text', ['60']);
    expect(sixty?.values.title).toBe('changed title');
  });

  it('incremental runs take only rows newer than the watermark; a range leaves the watermark alone', async () => {
    writeProjectsCsv(dir.path, [row('1', day(1), 'a'), row('2', day(2), 'b')]);
    await env.apply(projectsRepo());
    await env.materialize();
    // New rows: one newer than the watermark (day 2), one older (a late row: not incremental's).
    appendFileSync(
      join(dir.path, 'projects.csv'),
      'late,2024-01-01T12:00:00.000Z,late,x,1\n3,2024-01-09T00:00:00.000Z,c,x,1\n',
    );
    const inc = await env.materialize({ incremental: true });
    expect(inc.views[0]).toMatchObject({
      mode: 'incremental',
      rows: 4,
      selected: 1,
      offlineWritten: 1,
      watermarkMs: day(8),
    });
    expect((await env.offline('project_text')).map((r) => r.entity_key)).toEqual(['1', '2', '3']);
    const again = await env.materialize({ incremental: true });
    expect(again.views[0]).toMatchObject({ selected: 0, offlineWritten: 0, watermarkMs: day(8) });
    // A backfill of the late row by range.
    const range = await env.materialize({ range: { startMs: day(0), endMs: day(1) } });
    expect(range.views[0]).toMatchObject({
      mode: 'range',
      selected: 1,
      offlineWritten: 1,
      watermarkMs: day(8),
    });
    expect((await env.offline('project_text')).map((r) => r.entity_key)).toEqual(['1', '2', '3', 'late']);
  });

  it('an apply that changes the transform deletes the view’s values and progress; a TTL change does not', async () => {
    writeProjectsCsv(dir.path, [row('1', day(1), 'a'), row('2', day(2), 'b')]);
    await env.apply(projectsRepo());
    await env.materialize();
    const ttlOnly = projectsRepo() as { views: Array<Record<string, unknown>> };
    ttlOnly.views[0]!.ttl = '60d';
    await env.apply(ttlOnly);
    expect(await env.offline('project_text')).toHaveLength(2);
    expect((await env.online.readMany('project_text', ['1']))[0]).toBeDefined();

    const changed = projectsRepo() as { views: Array<{ transform: { features: Record<string, unknown> } }> };
    changed.views[0]!.transform.features.words = { fn: 'token_count', from: 'title' };
    await env.apply(changed);
    expect(await env.offline('project_text')).toEqual([]);
    expect((await env.online.readMany('project_text', ['1']))[0]).toBeUndefined();
    const [runs] = await env.sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM ferry_feature_run_chunks');
    expect(Number(runs!.n)).toBe(0);
    // Recomputed by the next materialize (with the new transform).
    const s = await env.materialize();
    expect(s.views[0]).toMatchObject({ skippedChunks: 0, offlineWritten: 2, watermarkMs: day(2) });
    expect(JSON.parse((await env.offline('project_text'))[0]!.values_json).words).toBe(1);
  });

  it('refuses a view that differs from what is applied, unknown views, and names window views it cannot compute', async () => {
    writeProjectsCsv(dir.path, [row('1', day(1), 'a')]);
    const repo = projectsRepo() as { views: Array<Record<string, unknown>> };
    repo.views.push({
      name: 'windows',
      entities: ['project'],
      source: 'projects',
      ttl: '1d',
      schema: [{ name: 'n', type: 'int64' }],
      transform: {
        kind: 'window',
        window: { type: 'tumbling', size: '1h' },
        aggregations: [{ name: 'n', fn: 'count' }],
      },
    });
    const loaded = await env.apply(repo);
    const all = await env.materialize();
    expect(all.views.map((v) => v.view)).toEqual(['project_text']);
    expect(all.skipped).toEqual([{ view: 'windows', reason: expect.stringMatching(/window view/) }]);
    const named = await expectFerryError(env.materialize({ views: ['windows'] }), 'FERRY_FEATURES_INVALID');
    expect(named.message).toMatch(/cannot materialize the view "windows": a window view/);
    await expectFerryError(env.materialize({ views: ['nope'] }), 'FERRY_FEATURES_NOT_FOUND');
    // The file edited but not applied.
    const edited = {
      ...loaded,
      repo: { ...loaded.repo, views: loaded.repo.views.map((v) => ({ ...v, schema: v.schema.slice(0, 2) })) },
    };
    const stale = await expectFerryError(env.materialize({}, edited), 'FERRY_FEATURES_INVALID');
    expect(stale.message).toMatch(/differ from what is applied: run `ferry features apply` first/);
  });
});

describe('materialize other sources and transforms', () => {
  it('reads a JSON-lines file, a SQL table and a query, and runs a map function from an .mjs file', async () => {
    writeFileSync(
      join(dir.path, 'events.jsonl'),
      [
        { user: 'u1', at: day(1), tags: ['a', 'b'], score: 0.5, counts: { x: 1 } },
        { user: 'u1', at: iso(day(2)), tags: 'not a list', score: 1, counts: {} },
        'not json',
        { user: 'u2', at: day(3), tags: [], score: '2.5', counts: { y: 2 } },
      ]
        .map((r) => (typeof r === 'string' ? r : JSON.stringify(r)))
        .join('\n'),
    );
    await env.sql.execute(
      'CREATE TABLE user_stats (user_id TEXT, updated BIGINT, visits INTEGER, premium INTEGER)',
    );
    await env.sql.execute(
      `INSERT INTO user_stats VALUES ('u1', ${day(1)}, 3, 1), ('u2', ${day(2)}, 7, 0), ('u1', ${day(4)}, 4, 1)`,
    );
    writeFileSync(
      join(dir.path, 'features.mjs'),
      `export default {
  entities: [{ name: 'user', joinKeys: ['user_id'] }],
  sources: [
    { name: 'events', kind: 'file', path: 'events.jsonl', timestampField: 'at' },
    { name: 'stats', kind: 'sql', table: 'user_stats', timestampField: 'updated' },
    { name: 'premium', kind: 'sql', query: 'SELECT user_id, updated, premium FROM user_stats WHERE premium = 1', timestampField: 'updated' },
  ],
  views: [
    { name: 'user_events', entities: ['user'], source: 'events', ttl: '7d',
      schema: [{ name: 'tags', type: 'string_list' }, { name: 'score', type: 'float64' }, { name: 'counts', type: 'map' }],
      transform: { kind: 'row', map: (row) => ({ tags: row.tags, score: row.score, counts: row.counts, ...{} }) } },
    { name: 'user_stats', entities: ['user'], source: 'stats', ttl: '7d',
      schema: [{ name: 'visits', type: 'int64' }, { name: 'premium', type: 'bool' }], transform: { kind: 'row' } },
    { name: 'premium_users', entities: ['user'], source: 'premium', ttl: '7d', online: false,
      schema: [{ name: 'premium', type: 'bool' }], transform: { kind: 'row' } },
  ],
};
`,
    );
    // The map reads "user" but the join key is "user_id": the JSONL rows have no user_id → bad.
    const { loadDefinitions } = await import('../../src/features/load-definitions.js');
    const loaded = await loadDefinitions(join(dir.path, 'features.mjs'));
    await env.repoStore.apply(repoObjects(loaded.repo), { file: loaded.file });
    const s = await env.materialize({}, loaded);
    const by = Object.fromEntries(s.views.map((v) => [v.view, v]));
    expect(by.user_events).toMatchObject({ rows: 4, bad: 4 });
    expect(by.user_events!.badExamples.map((b) => b.reason)).toEqual([
      'no value for the join key "user_id"',
      'no value for the join key "user_id"',
      expect.stringMatching(/^malformed JSON/),
      'no value for the join key "user_id"',
    ]);
    expect(by.user_stats).toMatchObject({ rows: 3, bad: 0, offlineWritten: 3 });
    expect(by.premium_users).toMatchObject({ rows: 2, offlineWritten: 2, onlineWritten: 0 });
    const [u1] = await env.online.readMany('user_stats', ['u1']);
    expect(u1).toMatchObject({ eventTimeMs: day(4), values: { visits: 4, premium: true } });
    expect(await env.online.readMany('premium_users', ['u1'])).toEqual([undefined]);
  });

  it("reads a stream source's batchSource, and skips a stream view without one", async () => {
    writeProjectsCsv(dir.path, [row('1', day(1), 'from the backfill file')]);
    writeProjectsCsv(dir.path, [], 'other.csv');
    const repo = projectsRepo() as { sources: unknown[]; views: Array<Record<string, unknown>> };
    repo.sources.push(
      { name: 'other_file', kind: 'file', path: 'other.csv', timestampField: 'created_on' },
      {
        name: 'live',
        kind: 'stream',
        stream: 'projects',
        timestampField: 'created_on',
        batchSource: 'projects',
      },
      { name: 'live_only', kind: 'stream', stream: 'other', timestampField: 'created_on' },
    );
    repo.views[0]!.source = 'live';
    repo.views.push({ ...repo.views[0]!, name: 'no_batch', source: 'live_only' });
    await env.apply(repo);
    const s = await env.materialize();
    expect(s.views.map((v) => [v.view, v.rows, v.offlineWritten])).toEqual([['project_text', 1, 1]]);
    expect(s.skipped).toEqual([
      { view: 'no_batch', reason: 'its source "live_only" is a stream without a batchSource' },
    ]);
    // The stream source edited (another batch source) but not applied: refused.
    // (other_file is applied as it is: only the stream source's pointer differs.)
    (repo.sources[2] as { batchSource: string }).batchSource = 'other_file';
    const { loadDefinitions } = await import('../../src/features/load-definitions.js');
    writeFileSync(join(dir.path, 'edited.json'), JSON.stringify(repo));
    const edited = await loadDefinitions(join(dir.path, 'edited.json'));
    await expectFerryError(env.materialize({ views: ['project_text'] }, edited), 'FERRY_FEATURES_INVALID');
  });

  it('checks values of every type', async () => {
    writeFileSync(
      join(dir.path, 'typed.jsonl'),
      [
        { k: 'a', t: 1, tags: ['x'], vec: [1, 2.5], m: { a: 1 }, flag: 'true', n: '42' },
        { k: 'b', t: 1, tags: [1], vec: [1], m: { a: 1 }, flag: true, n: 1 },
        { k: 'c', t: 1, tags: [], vec: ['x'], m: { a: 1 }, flag: true, n: 1 },
        { k: 'd', t: 1, tags: [], vec: [], m: { a: 'x' }, flag: true, n: 1 },
        { k: 'e', t: 1, tags: [], vec: [], m: {}, flag: 'maybe', n: 1 },
        { k: 'f', t: 1, tags: [], vec: [], m: {}, flag: false, n: 1.5 },
        { k: 'g', t: 1, tags: null, vec: null, m: null, flag: null, n: null },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    await env.apply({
      entities: [{ name: 'thing', joinKeys: ['k'] }],
      sources: [{ name: 'typed', kind: 'file', path: 'typed.jsonl', timestampField: 't' }],
      views: [
        {
          name: 'typed',
          entities: ['thing'],
          source: 'typed',
          ttl: '1d',
          schema: [
            { name: 'tags', type: 'string_list' },
            { name: 'vec', type: 'float64_list' },
            { name: 'm', type: 'map' },
            { name: 'flag', type: 'bool' },
            { name: 'n', type: 'int64' },
          ],
          transform: { kind: 'row' },
        },
      ],
    });
    const [v] = (await env.materialize()).views;
    expect(v!.badExamples.map((b) => [b.line, b.reason])).toEqual([
      [2, 'tags: 1 in a string_list is not text'],
      [3, 'vec: "x" in a float64_list is not a number'],
      [4, `m: the map's value for "a" is not a finite number`],
      [5, 'flag: "maybe" is not a bool (true/false)'],
      [6, 'n: 1.5 is not a whole number'],
    ]);
    const values = (await env.offline('typed')).map((r) => [r.entity_key, JSON.parse(r.values_json)]);
    expect(values).toEqual([
      ['a', { tags: ['x'], vec: [1, 2.5], m: { a: 1 }, flag: true, n: 42 }],
      ['g', { tags: null, vec: null, m: null, flag: null, n: null }],
    ]);
  });
});
