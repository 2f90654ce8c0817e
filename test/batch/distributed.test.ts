/**
 * Distributed batch jobs on the real servers: chunks on BullMQ (Redis), predictions and progress in
 * PostgreSQL, two `ferry batch worker` processes, one of them SIGKILLed mid-job. Every entity must
 * end up predicted exactly once and every chunk done once.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, freshSchema, pgUrl } from '../helpers/postgres.js';
import { type BatchEnv, createBatchEnv, generateProjects, spawnCli, writeCsv } from './helpers.js';

const REDIS = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROWS = 30_000;
const CHUNK = 250;
const CHUNKS = ROWS / CHUNK;

const schema = freshSchema();
let env: BatchEnv;
let input: string;
const queueName = `test-batch-${randomUUID()}`;

beforeAll(async () => {
  env = await createBatchEnv(`${pgUrl()}?schema=${schema}`);
  input = writeCsv(join(env.home, 'distributed.csv'), generateProjects(ROWS, 'dist-'));
});
afterAll(async () => {
  await env?.close();
  await dropSchemas(schema);
});

async function scalar(sql: string, params: string[] = []): Promise<number> {
  const [row] = await env.ferry.sql.query<{ n: unknown }>(sql, params);
  return Number(row?.n ?? 0);
}

describe('ferry batch predict --queue with two workers, one killed', () => {
  it('finishes with every entity predicted exactly once', async () => {
    const workerEnv = { ...env.env, FERRY_BATCH_LOCK_MS: '2000' };
    const workerArgs = ['batch', 'worker', '--queue', REDIS, '--queue-name', queueName];
    const doomed = spawnCli(workerArgs, workerEnv);
    const coordinator = spawnCli(
      [
        'batch',
        'predict',
        '--input-loc',
        input,
        '--chunk-size',
        String(CHUNK),
        '--queue',
        REDIS,
        '--queue-name',
        queueName,
        '--json',
      ],
      workerEnv,
    );
    // Kill the only worker once it has committed some chunks: its current chunk is lost mid-way.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const done = await scalar('SELECT COUNT(*) AS n FROM ferry_batch_chunks').catch(() => 0);
      if (done >= 5) break;
      if (Date.now() > deadline) throw new Error(`no chunk done in time: ${JSON.stringify(doomed.output())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    doomed.kill('SIGKILL');
    await doomed.exited;
    const survivor = spawnCli(workerArgs, workerEnv);
    try {
      const result = await coordinator.exited;
      expect(result.code, JSON.stringify(coordinator.output())).toBe(0);
      const summary = JSON.parse(coordinator.output().stdout) as {
        rows: number;
        predicted: number;
        chunks: number;
      };
      expect(summary).toMatchObject({ rows: ROWS, predicted: ROWS, chunks: CHUNKS });
    } finally {
      survivor.kill('SIGTERM');
      await survivor.exited;
    }
    expect(await scalar("SELECT COUNT(*) AS n FROM ferry_batch_predictions WHERE model = 'tagifai'")).toBe(
      ROWS,
    );
    expect(
      await scalar(
        "SELECT COUNT(DISTINCT entity_id) AS n FROM ferry_batch_predictions WHERE entity_id LIKE 'dist-%'",
      ),
    ).toBe(ROWS);
    expect(await scalar('SELECT COUNT(*) AS n FROM ferry_batch_chunks')).toBe(CHUNKS);
    expect(await scalar('SELECT COUNT(DISTINCT worker) AS n FROM ferry_batch_chunks')).toBe(2);
  }, 180_000);
});
