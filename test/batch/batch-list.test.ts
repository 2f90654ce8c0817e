/**
 * listBatchJobs and the per-worker rates of getBatchJobStatus, on SQLite and PostgreSQL: jobs and
 * chunks written through the job tables' own functions (what a run writes), read back a page at a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresClient } from '../../src/adapters/postgres/postgres-client.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { getBatchJobStatus, listBatchJobs } from '../../src/batch/job/batch-status.js';
import { claimChunk, ensureJobTables, finishJob, startJob } from '../../src/batch/job/job-tables.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { dropSchemas, freshSchema, pgUrl } from '../helpers/postgres.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

async function addJob(
  sql: SqlClient,
  jobId: string,
  model: string,
  createdAt: number,
  chunks: Array<{ rows: number; rejects: number; worker: string; doneAt: number }>,
  end?: 'done' | 'failed',
): Promise<void> {
  await startJob(sql, {
    jobId,
    model,
    version: 1,
    input: `/data/${jobId}.csv`,
    inputSha256: 'ab'.repeat(32),
    chunkSize: 100,
    defaultChunkSize: 100,
    totalRows: 1000,
    now: at(createdAt),
  });
  for (const [i, c] of chunks.entries()) {
    await sql.transaction((tx) =>
      claimChunk(tx, jobId, i, { rows: c.rows, rejects: c.rejects }, c.worker, at(c.doneAt)),
    );
  }
  if (end !== undefined)
    await finishJob(sql, jobId, end, at(createdAt + 100), end === 'failed' ? 'boom' : null);
}

function suite(name: string, open: () => Promise<{ sql: SqlClient; close: () => Promise<void> }>) {
  describe(`batch job list on ${name}`, () => {
    let sql: SqlClient;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ sql, close } = await open());
      // Three jobs: a (oldest, done by two workers), b (running, one worker), c (newest, failed, no chunk).
      await addJob(
        sql,
        'job-a',
        'tagifai',
        0,
        [
          { rows: 100, rejects: 2, worker: 'h1:1', doneAt: 1 },
          { rows: 100, rejects: 0, worker: 'h1:1', doneAt: 3 },
          { rows: 100, rejects: 1, worker: 'h2:7', doneAt: 2 },
          { rows: 100, rejects: 0, worker: 'h1:1', doneAt: 5 },
          { rows: 100, rejects: 0, worker: 'h2:7', doneAt: 6 },
          { rows: 50, rejects: 0, worker: 'h2:7', doneAt: 10 },
        ],
        'done',
      );
      await addJob(sql, 'job-b', 'other', 10, [{ rows: 100, rejects: 5, worker: 'h3:9', doneAt: 11 }]);
      await addJob(sql, 'job-c', 'tagifai', 20, [], 'failed');
    });
    afterAll(() => close?.());

    it('lists newest first with chunk totals, workers and the total', async () => {
      const all = await listBatchJobs(sql);
      expect(all.total).toBe(3);
      expect(all.limit).toBe(50);
      expect(all.jobs.map((j) => j.jobId)).toEqual(['job-c', 'job-b', 'job-a']);
      const a = all.jobs[2]!;
      expect(a).toMatchObject({
        status: 'done',
        model: 'tagifai',
        version: 1,
        chunksDone: 6,
        rowsDone: 550,
        rejects: 3,
        predicted: 547,
        workers: 2,
        lastChunkAt: at(10),
        totalRows: 1000,
        totalChunks: 10,
      });
      expect(all.jobs[0]).toMatchObject({
        status: 'failed',
        error: 'boom',
        chunksDone: 0,
        rowsDone: 0,
        rejects: 0,
        workers: 0,
        lastChunkAt: null,
      });
      expect(all.jobs[1]).toMatchObject({ status: 'running', rowsDone: 100, rejects: 5, workers: 1 });
    });

    it('pages with limit and offset, and filters by status and model', async () => {
      const p1 = await listBatchJobs(sql, { limit: 2 });
      const p2 = await listBatchJobs(sql, { limit: 2, offset: 2 });
      expect(p1.jobs.map((j) => j.jobId)).toEqual(['job-c', 'job-b']);
      expect(p2.jobs.map((j) => j.jobId)).toEqual(['job-a']);
      expect(p2.total).toBe(3);
      const beyond = await listBatchJobs(sql, { offset: 10 });
      expect(beyond).toMatchObject({ jobs: [], total: 3 });
      const running = await listBatchJobs(sql, { status: 'running' });
      expect(running.jobs.map((j) => j.jobId)).toEqual(['job-b']);
      expect(running.total).toBe(1);
      const tagifai = await listBatchJobs(sql, { model: 'tagifai' });
      expect(tagifai.jobs.map((j) => j.jobId)).toEqual(['job-c', 'job-a']);
      const none = await listBatchJobs(sql, { model: 'tagifai', status: 'running' });
      expect(none).toMatchObject({ jobs: [], total: 0 });
    });

    it('refuses a limit, offset or status out of range', async () => {
      for (const opts of [{ limit: 0 }, { limit: 501 }, { offset: -1 }, { limit: 1.5 }, { offset: 2e9 }]) {
        await expectFerryError(listBatchJobs(sql, opts), 'FERRY_BATCH_INVALID_OPTIONS');
      }
      await expectFerryError(
        listBatchJobs(sql, { status: 'paused' as 'done' }),
        'FERRY_BATCH_INVALID_OPTIONS',
      );
    });

    it("gives each worker's rate from its chunk commits", async () => {
      const s = await getBatchJobStatus(sql, 'job-a');
      expect(s.workers).toEqual([
        // h1:1 committed at 1, 3, 5: 200 records after its first chunk in 4 s.
        {
          worker: 'h1:1',
          chunks: 3,
          rows: 300,
          rejects: 2,
          firstChunkAt: at(1),
          lastChunkAt: at(5),
          rowsPerSecond: 50,
        },
        // h2:7 at 2, 6, 10: 150 records in 8 s.
        {
          worker: 'h2:7',
          chunks: 3,
          rows: 250,
          rejects: 1,
          firstChunkAt: at(2),
          lastChunkAt: at(10),
          rowsPerSecond: 18.8,
        },
      ]);
      // One chunk: no span to measure.
      const b = await getBatchJobStatus(sql, 'job-b');
      expect(b.workers[0]!.rowsPerSecond).toBeNull();
    });
  });
}

suite('SQLite', async () => {
  const sql = new SqliteClient({ path: ':memory:' });
  await sql.init();
  await ensureJobTables(sql);
  return { sql, close: () => sql.close() };
});

suite('PostgreSQL', async () => {
  const schema = freshSchema();
  const sql = new PostgresClient({ url: pgUrl(), schema });
  await sql.init();
  await ensureJobTables(sql);
  return {
    sql,
    close: async () => {
      await sql.close();
      await dropSchemas(schema);
    },
  };
});
