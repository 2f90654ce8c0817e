/**
 * The promise of the batch job, tested the hard way: `ferry batch predict` on 200,000 rows is
 * SIGKILLed in the middle of its work, the same command is run again, and every entity ends up
 * predicted exactly once, every chunk done once, every reject recorded once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/ports/sql.js';
import { runCli } from '../helpers/cli.js';
import { dropSchemas, freshSchema, pgUrl } from '../helpers/postgres.js';
import { type BatchEnv, createBatchEnv, generateProjects, spawnCli, writeCsv } from './helpers.js';

const ROWS = 200_000;
const CHUNK = 500;
const CHUNKS = ROWS / CHUNK;
const KILL_AFTER_CHUNKS = 30;

async function count(sql: SqlClient, query: string, params: string[] = []): Promise<number> {
  try {
    const [row] = await sql.query<{ n: unknown }>(query, params);
    return Number(row?.n ?? 0);
  } catch {
    return 0; // the tables do not exist yet
  }
}

/** The test on one database: `db` gives its FERRY_DB (undefined: the embedded SQLite of the home). */
function killResumeSuite(engine: string, db: () => string | undefined, cleanup: () => Promise<void>): void {
  let env: BatchEnv;
  let input: string;
  let expectedRejects: number;

  beforeAll(async () => {
    env = await createBatchEnv(db());
    const rows: Record<string, string>[] = generateProjects(ROWS, 'kill-');
    // Planted rejects spread over the input: empty texts and repeated ids.
    let rejects = 0;
    for (let i = 7; i < ROWS; i += 20_000) {
      rows[i] = { ...rows[i]!, title: '', description: '' };
      rejects++;
    }
    for (let i = 11; i < ROWS; i += 40_000) {
      rows[i + 1_000] = { ...rows[i + 1_000]!, id: rows[i]!.id! };
      rejects++;
    }
    expectedRejects = rejects;
    input = writeCsv(join(env.home, 'kill-input.csv'), rows);
  });
  afterAll(async () => {
    await env?.close();
    await cleanup();
  });

  describe(`ferry batch predict killed with SIGKILL, then rerun: ${engine}`, () => {
    it('resumes and ends with every entity predicted exactly once', async () => {
      const sql = env.ferry.sql;
      const rejectsFp = join(env.home, 'kill.rejects.csv');
      const args = [
        'batch',
        'predict',
        '--input-loc',
        input,
        '--chunk-size',
        String(CHUNK),
        '--rejects-fp',
        rejectsFp,
      ];

      const first = spawnCli([...args, '--json'], env.env);
      const deadline = Date.now() + 60_000;
      let done = 0;
      while (done < KILL_AFTER_CHUNKS) {
        if (first.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the job ended before it could be killed: ${JSON.stringify(first.output())}`);
        }
        await new Promise((r) => setTimeout(r, 25));
        done = await count(sql, 'SELECT COUNT(*) AS n FROM ferry_batch_chunks');
      }
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');

      // What the killed run left is consistent: each chunk done is entirely stored, nothing else is.
      const [job] = await sql.query<{ job_id: string; status: string }>(
        'SELECT job_id, status FROM ferry_batch_jobs',
      );
      expect(job?.status).toBe('running');
      const jobId = job!.job_id;
      const [left] = await sql.query<{ chunks: unknown; rows: unknown; rejects: unknown }>(
        'SELECT COUNT(*) AS chunks, SUM(rows) AS rows, SUM(rejects) AS rejects FROM ferry_batch_chunks WHERE job_id = $1',
        [jobId],
      );
      const chunksAtKill = Number(left!.chunks);
      expect(chunksAtKill).toBeGreaterThanOrEqual(KILL_AFTER_CHUNKS);
      expect(chunksAtKill).toBeLessThan(CHUNKS);
      const predictedAtKill = await count(
        sql,
        'SELECT COUNT(*) AS n FROM ferry_batch_predictions WHERE job_id = $1',
        [jobId],
      );
      expect(predictedAtKill).toBe(Number(left!.rows) - Number(left!.rejects));
      expect(
        await count(sql, 'SELECT COUNT(*) AS n FROM ferry_batch_rejects WHERE job_id = $1', [jobId]),
      ).toBe(Number(left!.rejects));

      const second = await runCli([...args, '--json'], env.env);
      expect(second.code, second.stderr).toBe(0);
      const summary = JSON.parse(second.stdout) as Record<string, unknown>;
      expect(summary).toMatchObject({
        jobId,
        rows: ROWS,
        predicted: ROWS - expectedRejects,
        rejects: expectedRejects,
        chunks: CHUNKS,
      });
      expect(summary.skippedChunks).toBeGreaterThanOrEqual(chunksAtKill);
      expect(summary.processedRows).toBe((CHUNKS - (summary.skippedChunks as number)) * CHUNK);

      const [stored] = await sql.query<{ n: unknown; ids: unknown }>(
        'SELECT COUNT(*) AS n, COUNT(DISTINCT entity_id) AS ids FROM ferry_batch_predictions WHERE job_id = $1',
        [jobId],
      );
      expect(Number(stored!.n)).toBe(ROWS - expectedRejects);
      expect(Number(stored!.ids)).toBe(ROWS - expectedRejects);
      expect(
        await count(sql, "SELECT COUNT(*) AS n FROM ferry_batch_predictions WHERE entity_id LIKE 'kill-%'"),
      ).toBe(ROWS - expectedRejects);
      const [chunks] = await sql.query<{ n: unknown; distinct_chunks: unknown; rows: unknown; top: unknown }>(
        'SELECT COUNT(*) AS n, COUNT(DISTINCT chunk_index) AS distinct_chunks, SUM(rows) AS rows, MAX(chunk_index) AS top FROM ferry_batch_chunks WHERE job_id = $1',
        [jobId],
      );
      expect(chunks).toMatchObject({ n: CHUNKS, distinct_chunks: CHUNKS, rows: ROWS, top: CHUNKS - 1 });
      expect(
        await count(sql, 'SELECT COUNT(*) AS n FROM ferry_batch_rejects WHERE job_id = $1', [jobId]),
      ).toBe(expectedRejects);
      const rejectLines = readFileSync(rejectsFp, 'utf8').trim().split('\n');
      expect(rejectLines[0]).toBe('line,id,reason');
      expect(rejectLines).toHaveLength(expectedRejects + 1);
      expect(new Set(rejectLines).size).toBe(expectedRejects + 1);

      // Both processes show in the status, the killed one with the chunks it committed.
      const status = await runCli(['batch', 'status', jobId, '--json'], env.env);
      expect(status.code, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout) as {
        status: string;
        chunksDone: number;
        workers: { chunks: number }[];
      };
      expect(s).toMatchObject({ status: 'done', chunksDone: CHUNKS, totalChunks: CHUNKS, totalRows: ROWS });
      expect(s.workers).toHaveLength(2);
      expect(s.workers.map((w) => w.chunks).sort((a, b) => a - b)).toEqual(
        [chunksAtKill, CHUNKS - chunksAtKill].sort((a, b) => a - b),
      );
    }, 120_000);
  });
}

killResumeSuite(
  'SQLite',
  () => undefined,
  async () => {},
);

// The same promise on PostgreSQL, where a chunk is written by one unnest statement.
const schema = freshSchema();
killResumeSuite(
  'PostgreSQL',
  () => `${pgUrl()}?schema=${schema}`,
  () => dropSchemas(schema),
);
