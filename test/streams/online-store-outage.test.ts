/**
 * The online store goes away under a running pipeline: a redis-server of the test's own (never the
 * machine's) is SIGKILLed while events keep arriving, and started again. The sink's writes fail
 * with FERRY_FEATURES_UNAVAILABLE, so the batch is neither acked nor lost: the pipeline backs off
 * and resumes, and at the end every user's online row holds the state of their newest event, and
 * every event was counted once.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEventStream, openSqlClient } from '../../src/adapters/factory.js';
import { RedisOnlineStore } from '../../src/adapters/redis/redis-online-store.js';
import { createProducer } from '../../src/app/open-streams.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { type PipelineHandle, runPipeline } from '../../src/streams/run-pipeline.js';
import { type OwnRedis, ownRedis } from '../helpers/redis-server.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { clicks, clicksRepo, waitFor } from './helpers.js';
import { expectWindowsMatch } from './state-check.js';

describe('the online store (Redis) down mid-run', () => {
  let redis: OwnRedis | undefined;
  let handle: PipelineHandle | undefined;
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
    await redis?.close();
    redis = undefined;
  });

  it('backs off while Redis is down and writes the newest state of every user once it is back', async () => {
    redis = await ownRedis();
    await redis.start();
    const dir = await makeTmpDir('ferry-online-outage-');
    closers.push(() => dir.remove());
    const stream = openEventStream(`sqlite:${join(dir.path, 'streams.db')}`);
    await stream.init();
    closers.push(() => stream.close());
    const sql: SqlClient = openSqlClient(`sqlite:${join(dir.path, 'ferry.db')}`);
    await sql.init();
    closers.push(() => sql.close());
    const online = new RedisOnlineStore({ url: redis.url, commandTimeoutMs: 300, connectTimeoutMs: 500 });
    await online.init();
    closers.push(() => online.close());
    const base = clicksRepo('redis-outage', { allowedLateness: '1h', views: ['clicks_1m'] });
    const repo = {
      ...base,
      pipelines: base.pipelines!.map((p) => ({ ...p, sinks: [{ kind: 'online' as const }] })),
    };
    const events = clicks(3000, { users: 30, stepMs: 100, seed: 5 });
    const producer = createProducer(stream, { keyField: 'user_id' });
    await producer.publish('redis-outage', events.slice(0, 1000));
    handle = await runPipeline(
      planPipeline(repo, 'clicks'),
      { stream, sql, online },
      { batchSize: 100, ackWaitMs: 2000 },
    );
    await waitFor(() => handle!.metrics().processed >= 1000, 'the first part processed');

    await redis.kill();
    await producer.publish('redis-outage', events.slice(1000));
    await new Promise((r) => setTimeout(r, 2500));
    const whileDown = handle.metrics();
    expect(whileDown.retries).toBeGreaterThan(0);
    await expect(online.readMany('clicks_1m', ['u1'])).rejects.toMatchObject({
      code: 'FERRY_FEATURES_UNAVAILABLE',
    });

    // Redis keeps nothing on disk here: it comes back empty, and the pipeline refills it.
    await redis.start();
    await waitFor(
      () => handle!.metrics().processed >= events.length,
      'every event after the restart',
      90_000,
    );
    await waitFor(
      async () =>
        (await stream.status('redis-outage')).consumers.find((c) => c.name === 'clicks')?.pending === 0,
      'no lag',
    );
    const m = handle.metrics();
    expect(m.processed).toBe(events.length);
    expect(m.deadLettered).toBe(0);
    await expectWindowsMatch(sql, 'clicks', repo, 'clicks_1m', events, 4);

    const newest = new Map<string, number>();
    for (const e of events) newest.set(e.user_id, Math.max(newest.get(e.user_id) ?? 0, e.at));
    const users = [...newest.keys()].sort();
    const rows = await online.readMany('clicks_1m', users);
    rows.forEach((row, i) => {
      expect(row, users[i]).toBeDefined();
      expect(row!.eventTimeMs, users[i]).toBe(newest.get(users[i]!));
    });
  });
});
