/**
 * A pipeline whose state, dedupe table, online and offline stores are in PostgreSQL (a schema of
 * the test's own), over the embedded log: the same SQL as on SQLite, the same results. Events are
 * published twice under other transport ids (duplicates by their own id), and in batches that
 * repeat entities, which PostgreSQL's upserts must take.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEventStream } from '../../src/adapters/factory.js';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { initOfflineStore, writeOfflineRows } from '../../src/features/offline-store.js';
import type { EventToPublish } from '../../src/ports/event-stream.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { type PipelineHandle, runPipeline } from '../../src/streams/run-pipeline.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { clicks, clicksRepo, encode, waitFor } from '../streams/helpers.js';
import { expectWindowsMatch } from '../streams/state-check.js';

describe('stream pipeline with its state in PostgreSQL', () => {
  let handle: PipelineHandle | undefined;
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  it('counts every event once and matches the recomputation', async () => {
    const schema = freshSchema();
    const sql = pgClient(schema);
    await sql.init();
    cleanup.push(
      () => dropSchemas(schema),
      () => sql.close(),
    );
    const dir = await makeTmpDir('ferry-stream-pg-');
    cleanup.push(() => dir.remove());
    const stream = openEventStream(`sqlite:${join(dir.path, 'streams.db')}`);
    await stream.init();
    cleanup.push(() => stream.close());
    const online = new SqlOnlineStore({ sql });
    await online.init();
    await initOfflineStore(sql);

    const repo = clicksRepo('pg', { allowedLateness: '1h' });
    const events = clicks(3000, { users: 12, seed: 21 });
    await stream.ensureStream({ name: 'pg' });
    const raw = (prefix: string) =>
      events.map((e): EventToPublish => ({ id: `${prefix}-${e.id}`, key: e.user_id, data: encode(e) }));
    await stream.publish('pg', raw('first'));
    await stream.publish('pg', raw('again'));
    handle = await runPipeline(
      planPipeline(repo, 'clicks'),
      { stream, sql, online, offline: { write: async (rows) => void (await writeOfflineRows(sql, rows)) } },
      { batchSize: 400 },
    );
    await waitFor(
      () => {
        const m = handle!.metrics();
        return m.processed + m.duplicates >= 2 * events.length;
      },
      'every event',
      60_000,
    );
    expect(handle.metrics()).toMatchObject({
      processed: events.length,
      duplicates: events.length,
      deadLettered: 0,
    });
    await expectWindowsMatch(sql, 'clicks', repo, 'clicks_1m', events, 4);
    await expectWindowsMatch(sql, 'clicks', repo, 'sessions', events, 4);
    const last = new Map(events.map((e) => [e.user_id, e]));
    const rows = await online.readMany('last_click', [...last.keys()]);
    expect(rows.map((r) => r?.values.page)).toEqual([...last.values()].map((e) => e.page));
  });
});
