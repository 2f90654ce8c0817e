/**
 * The transport goes away under a running pipeline: a nats-server of the test's own (never the
 * machine's) is SIGKILLed mid-run and started again on the same store a few seconds later. The
 * pipeline backs off while it is down and resumes by itself; at the end every event is counted
 * exactly once (counters, windows against a recomputation).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlClient } from '../../src/adapters/factory.js';
import { JetStreamEventStream } from '../../src/adapters/nats/jetstream-event-stream.js';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { createProducer } from '../../src/app/open-streams.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { type PipelineHandle, runPipeline } from '../../src/streams/run-pipeline.js';
import { type OwnNats, ownNats } from '../helpers/nats-server.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { clicks, clicksRepo, waitFor } from './helpers.js';
import { expectWindowsMatch } from './state-check.js';

const transport = (url: string) =>
  new JetStreamEventStream({ url, connectTimeoutMs: 1000, requestTimeoutMs: 1500, maxReconnectDelayMs: 300 });

describe('the transport down mid-run (own nats-server)', () => {
  let nats: OwnNats | undefined;
  let handle: PipelineHandle | undefined;
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
    await nats?.close();
    nats = undefined;
  });

  it('backs off while NATS is down, resumes when it is back, counts every event once', async () => {
    nats = await ownNats();
    await nats.start();
    const dir = await makeTmpDir('ferry-stream-outage-');
    closers.push(() => dir.remove());
    const stream = transport(nats.url);
    const publisher = transport(nats.url);
    closers.push(
      () => stream.close(),
      () => publisher.close(),
    );
    const sql: SqlClient = openSqlClient(`sqlite:${join(dir.path, 'ferry.db')}`);
    await sql.init();
    closers.push(() => sql.close());
    const online = new SqlOnlineStore({ sql });
    await online.init();
    const base = clicksRepo('outage', { allowedLateness: '1h', views: ['clicks_1m', 'last_click'] });
    // Online only.
    const repo = {
      ...base,
      pipelines: base.pipelines!.map((p) => ({ ...p, sinks: [{ kind: 'online' as const }] })),
    };
    const events = clicks(6000, { users: 30, stepMs: 100, seed: 3 });
    const producer = createProducer(publisher, { keyField: 'user_id' });
    await producer.publish('outage', events.slice(0, 4000));

    handle = await runPipeline(
      planPipeline(repo, 'clicks'),
      { stream, sql, online },
      { batchSize: 100, ackWaitMs: 2000 },
    );
    await waitFor(() => handle!.metrics().processed >= 1000, 'a first part processed');
    await nats.kill();
    const atKill = handle.metrics().processed;
    await new Promise((r) => setTimeout(r, 3000));
    const whileDown = handle.metrics();
    // Nothing more can be fetched while the server is down: at most the batch in hand finished.
    expect(whileDown.processed - atKill).toBeLessThanOrEqual(100);
    expect(whileDown.retries).toBeGreaterThan(0);
    await nats.start();
    // The producer retries with the same ids: the transport dedupes, nothing is stored twice.
    for (;;) {
      try {
        await producer.publish('outage', events.slice(4000));
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await waitFor(
      () => handle!.metrics().processed >= events.length,
      'every event after the restart',
      90_000,
    );
    await waitFor(
      async () => (await stream.status('outage')).consumers.find((c) => c.name === 'clicks')?.pending === 0,
      'no lag',
    );
    const m = handle.metrics();
    expect(m.processed).toBe(events.length);
    expect(m.deadLettered).toBe(0);
    await expectWindowsMatch(sql, 'clicks', repo, 'clicks_1m', events, 4);
    const [counted] = await sql.query<{ n: unknown }>(
      'SELECT SUM(processed) AS n FROM ferry_pipeline_partitions',
    );
    expect(Number(counted!.n)).toBe(events.length);
  });
});
