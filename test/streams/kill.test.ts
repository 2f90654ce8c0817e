/**
 * The processor's promise, the hard way: `ferry stream run` is SIGKILLed twice in the middle of
 * its windows (events still being published), restarted each time, and at the end every event is
 * counted exactly once: the partitions' counters equal the events published, every window of both
 * windowed views equals a brute-force recomputation from the full event log (a lost event or one
 * counted twice would change a count), the dedupe table holds each id once, and the online store
 * has each user's newest click. On the embedded log and on JetStream (the machine's server, a
 * stream of the test's own).
 *
 * Lateness is 1 h here, so that no event can be late whatever order redeliveries come in after a
 * crash (a redelivered event arrives after newer ones): the windows are then a function of the set
 * of events alone, which is what is compared.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventStream, openSqlClient } from '../../src/adapters/factory.js';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { createProducer } from '../../src/app/open-streams.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { type Spawned, spawnFerry } from '../features/cli.js';
import { deleteJetStreams } from '../helpers/nats-server.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { type Click, clicks, clicksRepo, NATS_URL, uniqueStream, waitFor } from './helpers.js';
import { expectWindowsMatch } from './state-check.js';

const EVENTS = 24_000;
const PUBLISH_CHUNK = 400;
const dirs: Array<{ remove(): void }> = [];
afterAll(() => {
  for (const d of dirs) d.remove();
});

async function sum(sql: SqlClient, column: string): Promise<number> {
  try {
    const [row] = await sql.query<{ n: unknown }>(
      `SELECT SUM(${column}) AS n FROM ferry_pipeline_partitions`,
    );
    return Number(row?.n ?? 0);
  } catch {
    return 0; // the tables do not exist until the first run migrated them
  }
}

for (const transport of ['sqlite', 'nats'] as const) {
  describe(`kill -9 mid-window (${transport})`, () => {
    it('no event lost, none counted twice, after two SIGKILLs and restarts', async () => {
      const dir = tmpDir('ferry-stream-kill-');
      dirs.push(dir);
      const stream = uniqueStream('kill');
      const url = transport === 'sqlite' ? `sqlite:${join(dir.path, 'streams.db')}` : NATS_URL;
      const repo = clicksRepo(stream, { allowedLateness: '1h' });
      writeFileSync(join(dir.path, 'features.json'), JSON.stringify(repo, null, 2));
      writeFileSync(join(dir.path, 'package.json'), '{}');
      const env = {
        FERRY_HOME: join(dir.path, '.ferry'),
        FERRY_DB: undefined,
        FERRY_ONLINE_STORE: undefined,
        FERRY_STREAM_URL: url,
        FERRY_LOG_FORMAT: 'json',
        FERRY_LOG_LEVEL: 'warn',
      };
      const run = () =>
        spawnFerry(['stream', 'run', 'clicks', '--batch-size', '250', '--ack-wait', '1500'], env, dir.path);
      const events: Click[] = clicks(EVENTS, {
        users: 40,
        stepMs: 50,
        pauseEvery: 1500,
        seed: transport === 'sqlite' ? 7 : 11,
      });
      const transportClient = openEventStream(url);
      const producer = createProducer(transportClient, { keyField: 'user_id', timeField: 'at' });
      const sql = openSqlClient(`sqlite:${join(dir.path, '.ferry', 'ferry.db')}`);
      let child: Spawned | undefined;
      try {
        // Published while the processor runs and dies: the log grows under it.
        const publishing = (async () => {
          for (let i = 0; i < events.length; i += PUBLISH_CHUNK) {
            await producer.publish(stream, events.slice(i, i + PUBLISH_CHUNK));
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        await sql.init();
        const kills: number[] = [];
        for (const killAt of [0.25, 0.6]) {
          child = run();
          await waitFor(
            async () => (await sum(sql, 'processed')) >= EVENTS * killAt,
            `${killAt * 100}% processed`,
            120_000,
          );
          child.kill('SIGKILL');
          const { signal } = await child.exited;
          expect(signal).toBe('SIGKILL');
          kills.push(await sum(sql, 'processed'));
        }
        await publishing;
        child = run();
        await waitFor(async () => (await sum(sql, 'processed')) >= EVENTS, 'every event processed', 180_000);
        await waitFor(
          async () =>
            (await transportClient.status(stream)).consumers.find((c) => c.name === 'clicks')?.pending === 0,
          'no lag',
          60_000,
        );
        child.kill('SIGTERM');
        const exit = await child.exited;
        expect(exit.code, child.output().stderr).toBe(0);

        // Exactly once: counters, dedupe table, windows.
        expect(await sum(sql, 'processed')).toBe(EVENTS);
        expect(await sum(sql, 'late')).toBe(0);
        expect(await sum(sql, 'dead_lettered')).toBe(0);
        const [ids] = await sql.query<{ n: unknown; ok: unknown }>(
          "SELECT COUNT(*) AS n, SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok FROM ferry_pipeline_events WHERE pipeline = 'clicks'",
        );
        expect(Number(ids!.n)).toBe(EVENTS);
        expect(Number(ids!.ok)).toBe(EVENTS);
        const partitions = (await transportClient.status(stream)).partitions;
        const tumbling = await expectWindowsMatch(sql, 'clicks', repo, 'clicks_1m', events, partitions);
        const sessions = await expectWindowsMatch(sql, 'clicks', repo, 'sessions', events, partitions);
        expect(tumbling.windows).toBeGreaterThan(400);
        expect(sessions.windows).toBeGreaterThan(400);
        const online = new SqlOnlineStore({ sql });
        const users = [...new Set(events.map((e) => e.user_id))];
        const last = new Map<string, Click>();
        for (const e of events) last.set(e.user_id, e);
        const rows = await online.readMany('last_click', users);
        rows.forEach((row, i) => {
          expect(row, users[i]).toMatchObject({
            eventTimeMs: last.get(users[i]!)!.at,
            values: { page: last.get(users[i]!)!.page },
          });
        });
        // The SIGKILLs landed mid-run (not before the first or after the last event).
        expect(kills[0]).toBeGreaterThan(0);
        expect(kills[1]).toBeLessThan(EVENTS);
        const dups = await sum(sql, 'duplicates');
        console.log(
          `${transport}: processed at the kills ${kills.join(', ')}; ${dups} redelivered duplicates re-emitted`,
        );
      } finally {
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await sql.close();
        await transportClient.close();
        if (transport === 'nats') await deleteJetStreams(NATS_URL, [stream]);
      }
    });
  });
}
