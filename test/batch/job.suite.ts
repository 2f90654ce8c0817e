/**
 * The batch job's behaviour, run against each database (job.sqlite.test.ts, job.postgres.test.ts):
 * every entity predicted once, reruns as no-ops, rejects, --max-errors, validation before writing,
 * SQL-special ids, idempotent chunks, job identity.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBatchJobStatus } from '../../src/batch/job/batch-status.js';
import { ensureJobTables } from '../../src/batch/job/job-tables.js';
import { processChunk } from '../../src/batch/job/process-chunk.js';
import { type RunBatchJobOptions, runBatchJob } from '../../src/batch/job/run-batch-job.js';
import type { InputRecord, InputSpec } from '../../src/batch/job/types.js';
import { ErrorCode } from '../../src/core/errors.js';
import { inputFingerprint } from '../../src/model/input-fingerprint.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { loadTextModel } from '../../src/registry/load-model.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { type BatchEnv, generateProjects, MODEL, type Project, writeCsv, writeJsonl } from './helpers.js';

export interface InputDb {
  client: SqlClient;
  url: string;
  close(): Promise<void>;
}

export interface BatchJobSuiteOptions {
  createEnv(): Promise<BatchEnv>;
  /** A database holding a table `projects (id, title, description)` to read with --input-sql. */
  createInputDb(env: BatchEnv, rows: readonly Project[]): Promise<InputDb>;
}

async function count(sql: SqlClient, query: string, params: (string | number)[] = []): Promise<number> {
  const [row] = await sql.query<{ n: unknown }>(query, params);
  return Number(row?.n ?? 0);
}

export function batchJobSuite(name: string, opts: BatchJobSuiteOptions): void {
  describe(`batch job on ${name}`, () => {
    let env: BatchEnv;
    let run: (o: Partial<RunBatchJobOptions> & { input: InputSpec }) => ReturnType<typeof runBatchJob>;
    let dir: string;
    beforeAll(async () => {
      env = await opts.createEnv();
      dir = env.home;
      run = (o) =>
        runBatchJob({
          registry: env.ferry.registry,
          sql: env.ferry.sql,
          store: env.store,
          model: `${MODEL}@production`,
          ...o,
        });
    });
    afterAll(() => env?.close());

    const predictionsOf = (jobId: string) =>
      count(env.ferry.sql, 'SELECT COUNT(*) AS n FROM ferry_batch_predictions WHERE job_id = $1', [jobId]);

    it('predicts every entity once; a rerun finds every chunk done and adds nothing', async () => {
      const projects = generateProjects(5000, 'gen-');
      const path = writeCsv(join(dir, 'gen-5000.csv'), projects);
      const first = await run({ input: { kind: 'csv', path }, chunkSize: 500 });
      expect(first).toMatchObject({
        model: `${MODEL}/1`,
        rows: 5000,
        predicted: 5000,
        rejects: 0,
        chunks: 10,
        skippedChunks: 0,
        processedRows: 5000,
        rejectsPath: null,
      });
      expect(first.jobId).toMatch(/^tagifai-v1-[0-9a-f]{16}$/);
      expect(first.rowsPerSecond).toBeGreaterThan(0);
      expect(await predictionsOf(first.jobId)).toBe(5000);
      const sql = env.ferry.sql;
      expect(
        await count(
          sql,
          "SELECT COUNT(DISTINCT entity_id) AS n FROM ferry_batch_predictions WHERE entity_id LIKE 'gen-%'",
        ),
      ).toBe(5000);

      // What is stored is what the model says, for the input it was given.
      const { model } = await loadTextModel(env.ferry.registry, `${MODEL}/1`);
      const picked = [projects[0]!, projects[1234]!, projects[4999]!];
      const stored = await env.store.getMany(
        MODEL,
        picked.map((p) => p.id),
      );
      const expected = model.predictBatch(picked);
      stored.forEach((s, i) => {
        expect(s).toMatchObject({
          model: MODEL,
          entityId: picked[i]!.id,
          version: 1,
          inputSha256: inputFingerprint(picked[i]!),
          prediction: expected[i]!.prediction,
          jobId: first.jobId,
        });
        for (const [label, p] of Object.entries(expected[i]!.probabilities)) {
          expect(s!.probabilities?.[label]).toBeCloseTo(p, 12);
        }
      });

      const again = await run({ input: { kind: 'csv', path } });
      expect(again).toMatchObject({
        jobId: first.jobId,
        rows: 5000,
        predicted: 5000,
        chunks: 10,
        skippedChunks: 10,
        processedRows: 0,
      });
      expect(await predictionsOf(first.jobId)).toBe(5000);
      expect(
        await count(sql, 'SELECT COUNT(*) AS n FROM ferry_batch_chunks WHERE job_id = $1', [first.jobId]),
      ).toBe(10);
      const status = await getBatchJobStatus(sql, first.jobId);
      expect(status).toMatchObject({
        status: 'done',
        chunkSize: 500,
        chunksDone: 10,
        totalChunks: 10,
        totalRows: 5000,
        rowsDone: 5000,
        predicted: 5000,
        rejects: 0,
        error: null,
      });
      expect(status.workers).toEqual([
        {
          worker: expect.stringMatching(/:\d+$/),
          chunks: 10,
          rows: 5000,
          rejects: 0,
          firstChunkAt: expect.any(String),
          lastChunkAt: expect.any(String),
          // 4,500 records after the first chunk, over the time between the first and last commits.
          rowsPerSecond: expect.any(Number),
        },
      ]);
      const [w] = status.workers;
      expect(w!.rowsPerSecond).toBeGreaterThan(0);
      expect(w!.lastChunkAt > w!.firstChunkAt).toBe(true);
    });

    it('predicts the same in a worker thread (what the CLI does)', async () => {
      const projects = generateProjects(1200, 'thread-');
      const path = writeCsv(join(dir, 'thread.csv'), projects);
      const summary = await run({ input: { kind: 'csv', path }, chunkSize: 250, predictInThread: true });
      expect(summary).toMatchObject({ rows: 1200, predicted: 1200, chunks: 5, processedRows: 1200 });
      const { model } = await loadTextModel(env.ferry.registry, `${MODEL}/1`);
      const picked = [projects[0]!, projects[777]!, projects[1199]!];
      const expected = model.predictBatch(picked);
      const stored = await env.store.getMany(
        MODEL,
        picked.map((p) => p.id),
      );
      expect(stored.map((s) => s?.prediction)).toEqual(expected.map((e) => e.prediction));
      expect(stored[1]!.probabilities).toEqual(expected[1]!.probabilities);
    });

    it('rejects bad rows with line and reason, once, and writes them to the rejects file from the table', async () => {
      const projects = generateProjects(1000, 'rej-');
      const rows: Record<string, string>[] = projects.map((p) => ({ ...p }));
      rows[10] = { id: '', title: 'no id', description: 'x' }; // line 12
      rows[20] = { id: 'rej-0000021', title: ' ', description: '' }; // line 22
      rows[30] = { ...rows[5]! }; // line 32: same id as line 7
      rows[999] = { ...rows[998]! }; // line 1001: same id as line 1000
      const path = writeCsv(join(dir, 'rejects.csv'), rows);
      const rejectsPath = join(dir, 'out', 'rejects.csv');
      const summary = await run({ input: { kind: 'csv', path }, chunkSize: 100, rejectsPath });
      expect(summary).toMatchObject({ rows: 1000, predicted: 996, rejects: 4, chunks: 10, rejectsPath });
      const expectedRejects = [
        { line: '12', id: '', reason: 'missing id' },
        { line: '22', id: 'rej-0000021', reason: 'empty title and description' },
        { line: '32', id: 'rej-0000006', reason: 'duplicate id (first on line 7)' },
        { line: '1001', id: 'rej-0000999', reason: 'duplicate id (first on line 1000)' },
      ];
      expect(parse(readFileSync(rejectsPath), { columns: true })).toEqual(expectedRejects);
      // The first occurrence wins.
      expect((await env.store.get(MODEL, 'rej-0000006'))?.inputSha256).toBe(inputFingerprint(projects[5]!));

      const jsonlPath = join(dir, 'out', 'rejects.jsonl');
      const again = await run({ input: { kind: 'csv', path }, rejectsPath: jsonlPath });
      expect(again).toMatchObject({ rows: 1000, rejects: 4, skippedChunks: 10 });
      expect(
        await count(env.ferry.sql, 'SELECT COUNT(*) AS n FROM ferry_batch_rejects WHERE job_id = $1', [
          summary.jobId,
        ]),
      ).toBe(4);
      const lines = readFileSync(jsonlPath, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.line, l.id, l.reason])).toEqual([
        [12, null, 'missing id'],
        [22, 'rej-0000021', 'empty title and description'],
        [32, 'rej-0000006', 'duplicate id (first on line 7)'],
        [1001, 'rej-0000999', 'duplicate id (first on line 1000)'],
      ]);
    });

    it('fails with FERRY_BATCH_TOO_MANY_ERRORS past --max-errors, keeps what it committed, resumes with a higher limit', async () => {
      const rows: Record<string, string>[] = generateProjects(300, 'max-').map((p, i) =>
        i % 10 === 9 ? { ...p, title: '', description: '' } : p,
      );
      const path = writeCsv(join(dir, 'max-errors.csv'), rows);
      const e = await expectFerryError(
        run({
          input: { kind: 'csv', path },
          chunkSize: 50,
          maxErrors: 10,
          rejectsPath: join(dir, 'max.rejects.csv'),
        }),
        ErrorCode.BATCH_TOO_MANY_ERRORS,
      );
      const jobId = e.details.jobId as string;
      expect(e.details).toMatchObject({ rejects: 15, maxErrors: 10, chunks: 3 });
      const status = await getBatchJobStatus(env.ferry.sql, jobId);
      expect(status).toMatchObject({
        status: 'failed',
        chunksDone: 3,
        rowsDone: 150,
        predicted: 135,
        rejects: 15,
      });
      expect(status.error).toMatch(/^FERRY_BATCH_TOO_MANY_ERRORS/);
      expect(await predictionsOf(jobId)).toBe(135);
      expect(readFileSync(join(dir, 'max.rejects.csv'), 'utf8').trim().split('\n')).toHaveLength(16);

      const resumed = await run({ input: { kind: 'csv', path }, maxErrors: 100 });
      expect(resumed).toMatchObject({
        jobId,
        rows: 300,
        predicted: 270,
        rejects: 30,
        chunks: 6,
        skippedChunks: 3,
      });
      expect((await getBatchJobStatus(env.ferry.sql, jobId)).status).toBe('done');

      // A finished job rerun with a lower --max-errors has nothing to do: it stays done (issue 8, item 22).
      const before = await getBatchJobStatus(env.ferry.sql, jobId);
      const rerun = await run({ input: { kind: 'csv', path }, maxErrors: 0 });
      expect(rerun).toMatchObject({
        jobId,
        rows: 300,
        rejects: 30,
        skippedChunks: 6,
        processedRows: 0,
        alreadyFinished: true,
      });
      const after = await getBatchJobStatus(env.ferry.sql, jobId);
      expect(after).toMatchObject({ status: 'done', error: null, finishedAt: before.finishedAt });
    });

    it('a rejects file that cannot be written after the job committed: FERRY_CLI_OUTPUT_PATH, and the job stays done', async () => {
      const path = writeCsv(join(dir, 'rejects-dir-input.csv'), [
        ...generateProjects(20, 'rjd-'),
        { id: '', title: 'no id', description: '' },
      ]);
      const rejectsDir = join(dir, 'rejects-is-a-directory');
      mkdirSync(rejectsDir);
      const e = await expectFerryError(
        run({ input: { kind: 'csv', path }, rejectsPath: rejectsDir }),
        ErrorCode.CLI_OUTPUT_PATH,
      );
      expect(e.message).toContain(rejectsDir);
      const [job] = await env.ferry.sql.query<{ job_id: string; status: string }>(
        "SELECT job_id, status FROM ferry_batch_jobs WHERE input LIKE '%rejects-dir-input.csv'",
      );
      expect(job?.status).toBe('done');
      expect(await predictionsOf(job!.job_id)).toBe(20);
    });

    it('a missing id column, a missing file or an unknown model fail before anything is written', async () => {
      await ensureJobTables(env.ferry.sql);
      const jobsBefore = await count(env.ferry.sql, 'SELECT COUNT(*) AS n FROM ferry_batch_jobs');
      const predsBefore = await count(env.ferry.sql, 'SELECT COUNT(*) AS n FROM ferry_batch_predictions');
      const noId = writeCsv(
        join(dir, 'no-id.csv'),
        [{ key: 'k1', title: 't', description: 'd' }],
        ['key', 'title', 'description'],
      );
      await expectFerryError(
        run({ input: { kind: 'csv', path: noId } }),
        ErrorCode.BATCH_MISSING_COLUMN,
        400,
      );
      await expectFerryError(
        run({
          input: { kind: 'jsonl', path: writeJsonl(join(dir, 'no-id.jsonl'), [{ key: 1, title: 't' }]) },
        }),
        ErrorCode.BATCH_MISSING_COLUMN,
      );
      await expectFerryError(
        run({ input: { kind: 'csv', path: join(dir, 'nope.csv') } }),
        ErrorCode.BATCH_INPUT_NOT_FOUND,
      );
      await expectFerryError(
        run({ input: { kind: 'csv', path: noId }, model: `${MODEL}@nope` }),
        ErrorCode.REGISTRY_NOT_FOUND,
      );
      expect(await count(env.ferry.sql, 'SELECT COUNT(*) AS n FROM ferry_batch_jobs')).toBe(jobsBefore);
      expect(await count(env.ferry.sql, 'SELECT COUNT(*) AS n FROM ferry_batch_predictions')).toBe(
        predsBefore,
      );
    });

    it('stores and finds ids with SQL-special characters exactly', async () => {
      const ids = [
        "it's",
        "O'Reilly'); DELETE FROM ferry_batch_jobs; --",
        '"; DROP TABLE ferry_batch_predictions; --',
        '100%',
        'a_b%c',
        'back\\slash',
        'semi;colon',
        '$1',
        'é 😀 中文',
        ' padded ',
      ];
      const projects = generateProjects(ids.length).map((p, i) => ({ ...p, id: ids[i]! }));
      const path = writeCsv(join(dir, 'special.csv'), projects);
      const summary = await run({ input: { kind: 'csv', path } });
      expect(summary).toMatchObject({ rows: ids.length, predicted: ids.length, rejects: 0 });
      const found = await env.store.getMany(MODEL, ids);
      expect(found.map((f) => f?.entityId)).toEqual(ids);
      for (const id of ids) expect((await env.store.get(MODEL, id))?.entityId).toBe(id);
      expect(await env.store.get(MODEL, '100')).toBeUndefined();
      expect(await env.store.get(MODEL, 'a_bXc')).toBeUndefined();
      expect(await count(env.ferry.sql, 'SELECT COUNT(*) AS n FROM ferry_batch_jobs')).toBeGreaterThan(0);
    });

    it('processChunk writes a chunk once, even when two workers race for it', async () => {
      await ensureJobTables(env.ferry.sql);
      const { model } = await loadTextModel(env.ferry.registry, `${MODEL}/1`);
      const records: InputRecord[] = [
        ...generateProjects(40, 'race-').map((p, i) => ({ line: i + 2, ...p })),
        { line: 42, reason: 'missing id' },
      ];
      const job = { jobId: 'race-job', model: MODEL, version: 1 };
      const ctx = (worker: string) => ({ sql: env.ferry.sql, store: env.store, model, worker });
      const results = await Promise.all([
        processChunk(ctx('w1'), job, 0, records),
        processChunk(ctx('w2'), job, 0, records),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['already-done', 'done']);
      for (const r of results) expect(r).toMatchObject({ rows: 41, predicted: 40, rejects: 1 });
      const third = await processChunk(ctx('w3'), job, 0, records);
      expect(third.status).toBe('already-done');
      expect(await predictionsOf('race-job')).toBe(40);
      expect(
        await count(env.ferry.sql, "SELECT COUNT(*) AS n FROM ferry_batch_rejects WHERE job_id = 'race-job'"),
      ).toBe(1);
      expect(
        await count(env.ferry.sql, "SELECT COUNT(*) AS n FROM ferry_batch_chunks WHERE job_id = 'race-job'"),
      ).toBe(1);
    });

    it('refuses bad options with batch codes before any work (not the CLI code)', async () => {
      const input: InputSpec = { kind: 'csv', path: join(dir, 'never-read.csv') };
      await expectFerryError(run({ input, chunkSize: 0 }), ErrorCode.BATCH_INVALID_OPTIONS, 400);
      await expectFerryError(run({ input, maxErrors: -1 }), ErrorCode.BATCH_INVALID_OPTIONS, 400);
      await expectFerryError(run({ input, jobId: '' }), ErrorCode.BATCH_INVALID_ID, 400);
    });

    it('the job id follows the content; --job-id overrides; a resumed job must match', async () => {
      const projects = generateProjects(120, 'ident-');
      const a = writeCsv(join(dir, 'ident-a.csv'), projects);
      const b = writeCsv(join(dir, 'ident-b.csv'), projects);
      const first = await run({ input: { kind: 'csv', path: a }, chunkSize: 50 });
      // Same bytes elsewhere: the same job, already done (the chunk size is the job's).
      expect(await run({ input: { kind: 'csv', path: b } })).toMatchObject({
        jobId: first.jobId,
        skippedChunks: 3,
      });
      const mismatch = await expectFerryError(
        run({ input: { kind: 'csv', path: a }, chunkSize: 40 }),
        ErrorCode.BATCH_JOB_MISMATCH,
        409,
      );
      expect(mismatch.message).toMatch(/chunk size is 50/);
      const other = writeCsv(join(dir, 'ident-other.csv'), projects.slice(0, 60));
      await expectFerryError(
        run({ input: { kind: 'csv', path: other }, jobId: first.jobId }),
        ErrorCode.BATCH_JOB_MISMATCH,
      );
      expect((await getBatchJobStatus(env.ferry.sql, first.jobId)).status).toBe('done');
      const named = await run({ input: { kind: 'csv', path: other }, jobId: 'my nightly job' });
      expect(named).toMatchObject({ jobId: 'my nightly job', rows: 60, chunks: 1 });
      await expectFerryError(
        getBatchJobStatus(env.ferry.sql, 'no such job'),
        ErrorCode.BATCH_JOB_NOT_FOUND,
        404,
      );
    });

    it('reads JSONL and SQL inputs the same way', async () => {
      const projects = generateProjects(250, 'multi-');
      const jsonl = writeJsonl(join(dir, 'multi.jsonl'), [
        ...projects,
        { id: projects[3]!.id, title: 'dup' },
      ]);
      const j = await run({ input: { kind: 'jsonl', path: jsonl }, chunkSize: 100 });
      expect(j).toMatchObject({ rows: 251, predicted: 250, rejects: 1, chunks: 3 });

      const sqlRows = generateProjects(230, 'sqlin-');
      const db = await opts.createInputDb(env, [
        ...sqlRows,
        { id: sqlRows[0]!.id, title: 'again', description: '' },
      ]);
      try {
        const input: InputSpec = {
          kind: 'sql',
          client: db.client,
          query: 'SELECT id, title, description FROM projects',
          dbUrl: db.url,
          pageSize: 37,
        };
        const s = await run({ input, chunkSize: 100 });
        expect(s).toMatchObject({ rows: 231, predicted: 230, rejects: 1, chunks: 3, skippedChunks: 0 });
        const status = await getBatchJobStatus(env.ferry.sql, s.jobId);
        expect(status.totalRows).toBe(231);
        expect(status.input).not.toMatch(/password|secret/);
        const again = await run({ input: { ...input, pageSize: 1000 } });
        expect(again).toMatchObject({ jobId: s.jobId, skippedChunks: 3, processedRows: 0 });
        expect(await predictionsOf(s.jobId)).toBe(230);
      } finally {
        await db.close();
      }
    });
  });
}
