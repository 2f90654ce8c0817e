/**
 * `ferry batch list` as a user runs it: two real jobs on the shipped sample (one with a rejected
 * record), listed as a table and as JSON, paged and filtered; bad options are usage errors (exit 2).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { type BatchEnv, createBatchEnv } from '../batch/helpers.js';
import { type CliResult, errorCode, runCli } from '../helpers/cli.js';

interface ListJson {
  jobs: Array<{
    jobId: string;
    model: string;
    version: number;
    status: string;
    rowsDone: number;
    totalRows: number | null;
    rejects: number;
    predicted: number;
    workers: number;
    chunksDone: number;
    totalChunks: number | null;
    createdAt: string;
    lastChunkAt: string | null;
  }>;
  total: number;
  limit: number;
  offset: number;
}

describe('ferry batch list', () => {
  let env: BatchEnv;
  const ferry = (...args: string[]) => runCli(args, env.env);
  const list = async (...args: string[]): Promise<ListJson> => {
    const r = await ferry('batch', 'list', '--json', ...args);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ListJson;
  };
  let sampleJob: CliResult;
  let rejectJob: CliResult;

  beforeAll(async () => {
    env = await createBatchEnv();
  });
  afterAll(() => env?.close());

  it('refuses bad options with exit 2 and FERRY_CLI_USAGE', async () => {
    const cases = [
      ['--limit', '0'],
      ['--limit', '501'],
      ['--limit', 'ten'],
      ['--offset', '-1'],
      ['--offset', '1000000001'],
      ['--limit', '1e308'],
      ['--limit', '1.5'],
      ['--model', 'a\u0001b'],
      ['--status', 'paused'],
      ['--model', ''],
    ];
    const results = await Promise.all(cases.map((args) => ferry('batch', 'list', ...args)));
    expect(results.map((r) => r.code)).toEqual(cases.map(() => 2));
    expect(results.map(errorCode)).toEqual(cases.map(() => 'FERRY_CLI_USAGE'));
  }, 180_000);

  it('says there is no job in a database where none ran', async () => {
    const r = await ferry('batch', 'list');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('no batch jobs in this database\n');
    expect(await list()).toEqual({ jobs: [], total: 0, limit: 50, offset: 0 });
  });

  it('lists two real jobs newest first, with their rows, rejects and workers', async () => {
    sampleJob = await ferry('batch', 'predict', '--input-loc', SAMPLE_DATASET_PATH, '--chunk-size', '50');
    expect(sampleJob.code, sampleJob.stderr).toBe(0);
    // The sample again, with one record whose id repeats: rejected.
    const lines = readFileSync(SAMPLE_DATASET_PATH, 'utf8').trimEnd().split('\n');
    const dup = join(env.home, 'with-reject.csv');
    writeFileSync(dup, `${[...lines, lines[1]!].join('\n')}\n`);
    rejectJob = await ferry(
      'batch',
      'predict',
      '--input-loc',
      dup,
      '--chunk-size',
      '40',
      '--job-id',
      'with-reject',
    );
    expect(rejectJob.code, rejectJob.stderr).toBe(0);
    const sampleId = /batch job (\S+) done/.exec(sampleJob.stdout)![1]!;

    const all = await list();
    expect(all.total).toBe(2);
    expect(all.jobs.map((j) => j.jobId)).toEqual(['with-reject', sampleId]);
    expect(all.jobs[0]).toMatchObject({
      model: 'tagifai',
      version: 1,
      status: 'done',
      rowsDone: 161,
      totalRows: 161,
      rejects: 1,
      predicted: 160,
      chunksDone: 5,
      totalChunks: 5,
      workers: 1,
    });
    expect(all.jobs[1]).toMatchObject({
      status: 'done',
      rowsDone: 160,
      totalRows: 160,
      rejects: 0,
      chunksDone: 4,
      workers: 1,
    });

    const table = await ferry('batch', 'list');
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(
      /^JOB\s+MODEL\s+STATUS\s+ROWS DONE\/TOTAL\s+REJECTS\s+WORKERS\s+STARTED\s+UPDATED$/,
    );
    expect(rows[1]).toMatch(
      /^with-reject\s+tagifai\/1\s+done\s+161\/161\s+1\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-/,
    );
    expect(rows[2]).toMatch(new RegExp(`^${sampleId}\\s+tagifai/1\\s+done\\s+160/160\\s+0\\s+1\\s`));
    expect(rows[3]).toBe('jobs 1–2 of 2, newest first');
  }, 180_000);

  it('pages with --limit and --offset, filters with --status and --model', async () => {
    const [second, done, running, tagifai, other, paged] = await Promise.all([
      list('--limit', '1', '--offset', '1'),
      list('--status', 'done'),
      list('--status', 'running'),
      list('--model', 'tagifai'),
      list('--model', 'other'),
      ferry('batch', 'list', '--limit', '1'),
    ]);
    expect(second.jobs).toHaveLength(1);
    expect(second.jobs[0]!.jobId).not.toBe('with-reject');
    expect(second).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(done.total).toBe(2);
    expect(running).toMatchObject({ jobs: [], total: 0 });
    expect(tagifai.total).toBe(2);
    expect(other.total).toBe(0);
    expect(paged.stdout).toMatch(/^with-reject\s/m);
    expect(paged.stdout).toMatch(/jobs 1–1 of 2, newest first\n$/);
  }, 180_000);

  it('batch status shows the per-worker rate', async () => {
    const r = await ferry('batch', 'status', 'with-reject', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as {
      workers: Array<{ chunks: number; rows: number; rowsPerSecond: number | null }>;
    };
    expect(s.workers).toHaveLength(1);
    expect(s.workers[0]).toMatchObject({ chunks: 5, rows: 161 });
    // 5 chunks committed one after another: a span to measure.
    expect(s.workers[0]!.rowsPerSecond).toBeGreaterThan(0);
  });
});
