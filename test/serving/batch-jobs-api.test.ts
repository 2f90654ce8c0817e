/**
 * GET /v1/batch/jobs and /v1/batch/jobs/:jobId on a real serving stack (app.inject): the admin
 * token, the query and path validation, the answers (jobs written through the job tables' own
 * functions into the registry's database, where `ferry batch predict` writes them).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqlClient } from '../../src/adapters/factory.js';
import { claimChunk, ensureJobTables, finishJob, startJob } from '../../src/batch/job/job-tables.js';
import type { SqlClient } from '../../src/ports/sql.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const auth = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });

let reg: TestRegistry;
let server: TestServer;
let disabled: TestServer;
let sql: SqlClient;

beforeAll(async () => {
  reg = await createTestRegistry({ versions: [{ seed: 42 }] });
  [server, disabled] = await Promise.all([
    startTestServer({ registry: reg, adminToken: ADMIN_TOKEN, listen: false }),
    startTestServer({ registry: reg, listen: false }),
  ]);
  sql = openSqlClient(reg.config.db);
  await sql.init();
});
afterAll(async () => {
  await sql?.close();
  await server?.close();
  await disabled?.close();
  await reg?.close();
});

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.body).not.toMatch(STACK_TRACE);
  expect((res.json() as { error: { code: string } }).error.code).toBe(code);
}

const get = (url: string, headers: Record<string, string> = auth()) =>
  server.app.inject({ method: 'GET', url, headers });

async function addJob(
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
    inputSha256: 'cd'.repeat(32),
    chunkSize: 100,
    defaultChunkSize: 100,
    totalRows: 600,
    now: at(createdAt),
  });
  for (const [i, c] of chunks.entries()) {
    await sql.transaction((tx) =>
      claimChunk(tx, jobId, i, { rows: c.rows, rejects: c.rejects }, c.worker, at(c.doneAt)),
    );
  }
  if (end !== undefined)
    await finishJob(sql, jobId, end, at(createdAt + 60), end === 'failed' ? 'boom' : null);
}

describe('GET /v1/batch/jobs', () => {
  it('answers an empty list on a database where no job ever ran (the server creates the tables)', async () => {
    const res = await get('/v1/batch/jobs');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ jobs: [], total: 0, limit: 50, offset: 0 });
  });

  it('needs the admin token: 401 without it, with a wrong one, and when the admin API is off', async () => {
    for (const url of ['/v1/batch/jobs', '/v1/batch/jobs/some-job']) {
      const none = await get(url, {});
      expectError(none, 401, 'FERRY_HTTP_UNAUTHORIZED');
      expect(none.headers['www-authenticate']).toBe('Bearer');
      expectError(await get(url, auth('wrong-token')), 401, 'FERRY_HTTP_UNAUTHORIZED');
      const off = await disabled.app.inject({ method: 'GET', url, headers: auth() });
      expectError(off, 401, 'FERRY_HTTP_UNAUTHORIZED');
      expect(off.json().error.message).toMatch(/FERRY_ADMIN_TOKEN/);
    }
  });

  it('lists the jobs newest first with their progress, pages and filters', async () => {
    await ensureJobTables(sql);
    await addJob(
      'api-a',
      'tagifai',
      0,
      [
        { rows: 100, rejects: 1, worker: 'h1:1', doneAt: 1 },
        { rows: 100, rejects: 0, worker: 'h2:2', doneAt: 2 },
        { rows: 100, rejects: 0, worker: 'h1:1', doneAt: 3 },
        { rows: 100, rejects: 2, worker: 'h2:2', doneAt: 6 },
      ],
      'done',
    );
    await addJob('api-b', 'tagifai', 10, [{ rows: 100, rejects: 0, worker: 'h3:3', doneAt: 11 }]);
    await addJob('api-c', 'other', 20, [], 'failed');

    const res = await get('/v1/batch/jobs');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.total).toBe(3);
    expect(body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual(['api-c', 'api-b', 'api-a']);
    expect(body.jobs[2]).toEqual({
      jobId: 'api-a',
      model: 'tagifai',
      version: 1,
      input: '/data/api-a.csv',
      inputSha256: 'cd'.repeat(32),
      chunkSize: 100,
      status: 'done',
      totalRows: 600,
      totalChunks: 6,
      createdAt: at(0),
      updatedAt: at(60),
      finishedAt: at(60),
      error: null,
      chunksDone: 4,
      rowsDone: 400,
      predicted: 397,
      rejects: 3,
      workers: 2,
      lastChunkAt: at(6),
    });
    expect(body.jobs[0]).toMatchObject({ status: 'failed', error: 'boom', rowsDone: 0, lastChunkAt: null });

    const page = (await get('/v1/batch/jobs?limit=1&offset=1')).json();
    expect(page).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.jobs.map((j: { jobId: string }) => j.jobId)).toEqual(['api-b']);
    const running = (await get('/v1/batch/jobs?status=running')).json();
    expect(running.jobs.map((j: { jobId: string }) => j.jobId)).toEqual(['api-b']);
    const other = (await get('/v1/batch/jobs?model=other&status=failed')).json();
    expect(other).toMatchObject({ total: 1, jobs: [{ jobId: 'api-c' }] });
    expect((await get('/v1/batch/jobs?limit=500&offset=1000000000')).json()).toMatchObject({
      jobs: [],
      total: 3,
    });
  });

  it('refuses a query out of range or unknown with 400 FERRY_HTTP_INVALID_REQUEST', async () => {
    const bad = [
      'limit=0',
      'limit=501',
      'limit=1.5',
      'limit=abc',
      'limit=',
      'offset=-1',
      'offset=1000000001',
      'offset=01',
      'status=paused',
      'model=',
      `model=${'m'.repeat(513)}`,
      'sort=created',
    ];
    for (const q of bad) expectError(await get(`/v1/batch/jobs?${q}`), 400, 'FERRY_HTTP_INVALID_REQUEST');
    expectError(await get('/v1/batch/jobs?model=a%00b'), 400, 'FERRY_HTTP_INVALID_REQUEST');
  });
});

describe('GET /v1/batch/jobs/:jobId', () => {
  it("answers the job's status (the JSON of batch status --json) with each worker's rate", async () => {
    const res = await get('/v1/batch/jobs/api-a');
    expect(res.statusCode, res.body).toBe(200);
    const s = res.json();
    expect(s).toMatchObject({
      jobId: 'api-a',
      status: 'done',
      chunksDone: 4,
      rowsDone: 400,
      predicted: 397,
      rejects: 3,
      totalRows: 600,
    });
    expect(s.workers).toEqual([
      // h1:1 committed at 1 and 3 s: 100 records in 2 s. h2:2 at 2 and 6 s: 100 in 4 s.
      {
        worker: 'h1:1',
        chunks: 2,
        rows: 200,
        rejects: 1,
        firstChunkAt: at(1),
        lastChunkAt: at(3),
        rowsPerSecond: 50,
      },
      {
        worker: 'h2:2',
        chunks: 2,
        rows: 200,
        rejects: 2,
        firstChunkAt: at(2),
        lastChunkAt: at(6),
        rowsPerSecond: 25,
      },
    ]);
    const one = (await get('/v1/batch/jobs/api-b')).json();
    expect(one.workers).toEqual([expect.objectContaining({ worker: 'h3:3', rowsPerSecond: null })]);
  });

  it('404 FERRY_BATCH_JOB_NOT_FOUND for an unknown id; 400 for an id too long or with NUL', async () => {
    const missing = await get('/v1/batch/jobs/no-such-job');
    expectError(missing, 404, 'FERRY_BATCH_JOB_NOT_FOUND');
    expect(missing.json().error.details).toEqual({ jobId: 'no-such-job' });
    expectError(await get(`/v1/batch/jobs/${'j'.repeat(513)}`), 400, 'FERRY_HTTP_INVALID_REQUEST');
    const nul = await get('/v1/batch/jobs/a%00b');
    expect(nul.statusCode).toBe(400);
    // A job id is any text the databases keep exactly: an encoded slash or space reaches the lookup.
    expectError(await get('/v1/batch/jobs/a%2Fb%20c'), 404, 'FERRY_BATCH_JOB_NOT_FOUND');
  });

  it('is documented in /openapi.json with the bearer security', async () => {
    const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['/v1/batch/jobs', '/v1/batch/jobs/{jobId}']) {
      expect(doc.paths[path]?.get?.security).toEqual([{ bearerAuth: [] }]);
    }
    expect(Object.keys(doc.paths['/v1/batch/jobs/{jobId}'].get.responses)).toEqual(
      expect.arrayContaining(['200', '401', '404']),
    );
  });
});
