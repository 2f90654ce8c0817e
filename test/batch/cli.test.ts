/** `ferry batch predict` / `ferry batch status` as a user runs them, on SQLite and on PostgreSQL. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { errorCode } from '../helpers/cli.js';
import { dropSchemas, freshSchema, pgUrl } from '../helpers/postgres.js';
import { type BatchEnv, createBatchEnv, generateProjects, runFerry, writeCsv } from './helpers.js';

describe('ferry batch on SQLite', () => {
  let env: BatchEnv;
  beforeAll(async () => {
    env = await createBatchEnv();
  });
  afterAll(() => env?.close());
  const ferry = (...args: string[]) => runFerry(args, env.env);

  it('usage errors exit 2', async () => {
    const cases = [
      ['--input-loc', 'x.csv', '--input-sql', 'SELECT 1'],
      [],
      ['--input-loc', 'x.csv', '--chunk-size', '0'],
      ['--input-loc', 'x.csv', '--input-format', 'xml'],
      ['--input-loc', 'x.csv', '--input-db', 'sqlite:x.db'],
      ['--input-loc', 'x.csv', '--job-id', 'x'.repeat(600)],
      ['--input-loc', 'x.csv', '--input-map', 'title'],
      ['--input-loc', 'x.csv', '--input-map', 'title=a,title=b'],
      ['--input-loc', 'x.csv', '--max-errors', 'many'],
    ];
    const results = await Promise.all(cases.map((args) => ferry('batch', 'predict', ...args)));
    expect(results.map((r) => r.code)).toEqual(cases.map(() => 2));
    // The last is refused by commander's option parser: reported in the same form.
    expect(results.map(errorCode)).toEqual(cases.map(() => 'FERRY_CLI_USAGE'));
  });

  it('predicts a CSV, prints the summary, and reports a missing id column without writing anything', async () => {
    const path = writeCsv(join(env.home, 'cli.csv'), [
      ...generateProjects(1500, 'cli-'),
      { id: 'cli-0000001', title: 'dup', description: 'dup' },
    ]);
    const r = await ferry('batch', 'predict', '--input-loc', path, '--chunk-size', '400');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rows 1,501: predicted 1,500, rejected 1; 4 chunks, 0 already done/);
    expect(r.stdout).toMatch(/rows\/s/);
    const rejectsFile = /rejects: (.+)/.exec(r.stdout)?.[1];
    expect(rejectsFile).toContain(join(env.home, 'batch'));
    const jobId = /batch job (\S+) done/.exec(r.stdout)?.[1];
    expect(r.stderr).toMatch(/batch \(KiB read\)/); // the progress lines

    // Rerun with a --max-errors below the job's rejects: finished, nothing to do, still done.
    const rerun = await ferry('batch', 'predict', '--input-loc', path, '--max-errors', '0');
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/it had finished, nothing to do/);
    expect(rerun.stdout).toMatch(/rows 1,501: predicted 1,500, rejected 1; 4 chunks, 4 already done/);

    const status = await ferry('batch', 'status', jobId!);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/: done/);
    expect(status.stdout).toMatch(/chunks 4\/4 done \(chunk size 400\)/);
    expect(status.stdout).toMatch(/rows 1,501\/1,501: predicted 1,500, rejected 1/);

    const noId = writeCsv(
      join(env.home, 'no-id.csv'),
      [{ key: '1', title: 't', description: 'd' }],
      ['key', 'title', 'description'],
    );
    const bad = await ferry('batch', 'predict', '--input-loc', noId);
    expect(bad.code).toBe(1);
    expect(errorCode(bad)).toBe('FERRY_BATCH_MISSING_COLUMN');
    const [jobs] = await env.ferry.sql.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM ferry_batch_jobs');
    expect(Number(jobs!.n)).toBe(1);

    const missing = await ferry('batch', 'status', 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr).error.code).toBe('FERRY_BATCH_JOB_NOT_FOUND');
  });

  it("--input-map reads the text classifier's inputs from other columns; an unknown input is refused", async () => {
    const path = writeCsv(
      join(env.home, 'mapped.csv'),
      generateProjects(40, 'mapped-').map((p) => ({ key: p.id, name: p.title, body: p.description })),
      ['key', 'name', 'body'],
    );
    const r = await ferry(
      'batch',
      'predict',
      '--input-loc',
      path,
      '--id-column',
      'key',
      '--input-map',
      'title=name, description=body',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 40, predicted: 40, rejects: 0 });
    const bad = await ferry('batch', 'predict', '--input-loc', path, '--input-map', 'text=name');
    expect(bad.code).toBe(1);
    expect(errorCode(bad)).toBe('FERRY_BATCH_INVALID_OPTIONS');
    expect(bad.stderr).toMatch(/its inputs are "title", "description"/);
  });

  it('--max-errors exceeded exits 1 with FERRY_BATCH_TOO_MANY_ERRORS', async () => {
    const rows = generateProjects(100, 'maxcli-').map((p, i) =>
      i % 2 ? { ...p, title: '', description: '' } : p,
    );
    const path = writeCsv(join(env.home, 'maxcli.csv'), rows);
    const r = await ferry('batch', 'predict', '--input-loc', path, '--max-errors', '3', '--chunk-size', '10');
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_BATCH_TOO_MANY_ERRORS');
  });

  it('--recompute-live: a rerun re-predicts the entities a live write-back replaced since (issue 8, item 2)', async () => {
    const path = writeCsv(join(env.home, 'live.csv'), generateProjects(30, 'live-'));
    const args = ['batch', 'predict', '--input-loc', path, '--chunk-size', '10', '--json'];
    const first = await ferry(...args);
    expect(first.code, first.stderr).toBe(0);
    const { jobId } = JSON.parse(first.stdout) as { jobId: string };
    const batchRow = (await env.store.get('tagifai', 'live-0000003'))!;
    expect(batchRow).toMatchObject({ jobId, source: 'batch' });
    // What an authorised POST /v1/predictions/… write-back leaves: another prediction, source live.
    const poison = (id: string) => ({
      ...batchRow,
      entityId: id,
      prediction: 'other',
      probabilities: { other: 1 },
      computedAt: new Date().toISOString(),
      jobId: null,
      source: 'live' as const,
    });
    await env.store.upsertMany([poison('live-0000003'), poison('live-0000025')]);

    // A plain rerun of the finished job leaves them.
    const plain = await ferry(...args);
    expect(JSON.parse(plain.stdout)).toMatchObject({ alreadyFinished: true, recomputedRows: 0 });
    expect((await env.store.get('tagifai', 'live-0000003'))?.source).toBe('live');

    const recompute = await ferry(...args, '--recompute-live');
    expect(recompute.code, recompute.stderr).toBe(0);
    expect(JSON.parse(recompute.stdout)).toMatchObject({
      jobId,
      rows: 30,
      processedRows: 0,
      recomputedRows: 2,
    });
    for (const id of ['live-0000003', 'live-0000025']) {
      expect(await env.store.get('tagifai', id)).toMatchObject({ jobId, source: 'batch', version: 1 });
    }
    expect((await env.store.get('tagifai', 'live-0000003'))?.prediction).toBe(batchRow.prediction);
    const again = await ferry(...args, '--recompute-live');
    expect(JSON.parse(again.stdout)).toMatchObject({ recomputedRows: 0 });
    const status = await ferry('batch', 'status', jobId, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'done' });
  });

  it('reads --input-sql from a SQLite database, ids with quotes included', async () => {
    const dbPath = join(env.home, 'source.db');
    const db = new SqliteClient({ path: dbPath });
    await db.init();
    await db.execute('CREATE TABLE items (item_id TEXT PRIMARY KEY, title TEXT, description TEXT)');
    for (const p of generateProjects(300, "sq'l-")) {
      await db.execute('INSERT INTO items VALUES ($1, $2, $3)', [p.id, p.title, p.description]);
    }
    await db.close();
    const args = [
      'batch',
      'predict',
      '--input-sql',
      'SELECT item_id, title, description FROM items',
      '--input-db',
      `sqlite:${dbPath}`,
      '--id-column',
      'item_id',
      '--chunk-size',
      '100',
      '--json',
    ];
    const r = await ferry(...args);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 300, predicted: 300, chunks: 3 });
    expect((await env.store.get('tagifai', "sq'l-0000042"))?.entityId).toBe("sq'l-0000042");
  });
});

describe('ferry batch on PostgreSQL (FERRY_DB=postgres://…?schema=<fresh>)', () => {
  const schema = freshSchema();
  let env: BatchEnv;
  beforeAll(async () => {
    const url = new URL(pgUrl());
    url.searchParams.set('schema', schema);
    env = await createBatchEnv(url.toString());
  });
  afterAll(async () => {
    await env?.close();
    await dropSchemas(schema);
  });

  it('runs, reruns as a no-op, and reads --input-sql from the registry database by default', async () => {
    const path = writeCsv(join(env.home, 'pg.csv'), generateProjects(2000, 'pg-'));
    const args = ['batch', 'predict', '--input-loc', path, '--chunk-size', '500', '--json'];
    const first = await runFerry(args, env.env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      rows: 2000,
      predicted: 2000,
      chunks: 4,
      skippedChunks: 0,
    });
    const again = await runFerry(args, env.env);
    expect(JSON.parse(again.stdout)).toMatchObject({
      rows: 2000,
      chunks: 4,
      skippedChunks: 4,
      processedRows: 0,
    });
    expect(await env.store.count('tagifai')).toBe(2000);

    await env.ferry.sql.execute('CREATE TABLE source (id TEXT, title TEXT, description TEXT)');
    await env.ferry.sql.execute(
      "INSERT INTO source SELECT 'src-' || i, 'Transformers for text ' || i, 'NLP with attention' FROM generate_series(1, 700) AS i",
    );
    const sql = await runFerry(
      [
        'batch',
        'predict',
        '--input-sql',
        'SELECT id, title, description FROM source',
        '--chunk-size',
        '300',
        '--json',
      ],
      env.env,
    );
    expect(sql.code, sql.stderr).toBe(0);
    const summary = JSON.parse(sql.stdout) as { jobId: string };
    expect(summary).toMatchObject({ rows: 700, predicted: 700, chunks: 3 });
    const status = await runFerry(['batch', 'status', summary.jobId, '--json'], env.env);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'done', chunksDone: 3, totalRows: 700 });
  });
});
