/**
 * The promise of materialize, the hard way: `ferry features materialize` on 50,000 rows is
 * SIGKILLed in the middle, the same command is run again, and the stores end exactly as after an
 * uninterrupted run in another database: same offline values, no duplicates, every entity online.
 * Then the same for a window view over the same rows (read whole, then written chunk by chunk).
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { runFerry, spawnFerry } from './cli.js';
import { day, iso, type ProjectRow, projectsRepo, writeProjectsCsv } from './helpers.js';

const ROWS = 50_000;
const CHUNK = 250;
const CHUNKS = ROWS / CHUNK;
const KILL_AFTER_CHUNKS = 25;
const BAD_EVERY = 997;

const dir = tmpDir('ferry-materialize-kill-');
const envOf = (home: string) => ({
  FERRY_HOME: join(dir.path, home),
  FERRY_DB: undefined,
  FERRY_ONLINE_STORE: undefined,
});
const args = ['features', 'materialize', '--chunk-size', String(CHUNK), '--json'];
let bad = 0;

beforeAll(async () => {
  const rows: ProjectRow[] = [];
  for (let i = 0; i < ROWS; i++) {
    const row = {
      project_id: String(i % 3500),
      created_on: iso(day(Math.floor(i / 3500), i % 24)),
      title: `project ${i} about text`,
      description: `description ${i}, with words`,
      stars: String(i % 50),
    };
    if (i % BAD_EVERY === 5) {
      row.stars = 'lots';
      bad++;
    }
    rows.push(row);
  }
  writeProjectsCsv(dir.path, rows);
  writeFileSync(join(dir.path, 'features.json'), JSON.stringify(projectsRepo(), null, 2));
  writeFileSync(join(dir.path, 'windows.json'), JSON.stringify(windowRepo(), null, 2));
  for (const home of ['killed', 'clean']) {
    const r = await runFerry(['features', 'apply', '--json'], envOf(home), dir.path);
    expect(r.code, r.stderr).toBe(0);
  }
  for (const home of ['wkilled', 'wclean']) {
    const r = await runFerry(
      ['features', 'apply', '--json', '--file', 'windows.json'],
      envOf(home),
      dir.path,
    );
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(() => dir.remove());

/** A window view over the same CSV: per project, a 2-day count, sum of stars and top titles. */
function windowRepo() {
  const base = projectsRepo() as { entities: unknown; sources: unknown };
  return {
    entities: base.entities,
    sources: base.sources,
    views: [
      {
        name: 'activity',
        entities: ['project'],
        source: 'projects',
        ttl: '30d',
        schema: [
          { name: 'n', type: 'int64' },
          { name: 'stars', type: 'float64' },
          { name: 'top', type: 'string_list' },
        ],
        transform: {
          kind: 'window',
          window: { type: 'tumbling', size: '2d' },
          aggregations: [
            { name: 'n', fn: 'count' },
            { name: 'stars', fn: 'sum', field: 'stars' },
            { name: 'top', fn: 'top_k', field: 'title', k: 2 },
          ],
        },
      },
    ],
  };
}

async function count(sql: SqliteClient, query: string): Promise<number> {
  try {
    const [row] = await sql.query<{ n: unknown }>(query);
    return Number(row?.n ?? 0);
  } catch {
    return 0;
  }
}

type Summary = {
  views: Array<{ rows: number; bad: number; chunks: number; skippedChunks: number; offlineWritten: number }>;
};

describe('ferry features materialize killed with SIGKILL, then rerun', () => {
  it('resumes, skips the chunks done, and ends as an uninterrupted run does', async () => {
    const killedDb = new SqliteClient({ path: join(dir.path, 'killed', 'ferry.db') });
    const cleanDb = new SqliteClient({ path: join(dir.path, 'clean', 'ferry.db') });
    await killedDb.init();
    await cleanDb.init();
    try {
      const first = spawnFerry(args, envOf('killed'), dir.path);
      const deadline = Date.now() + 60_000;
      let done = 0;
      while (done < KILL_AFTER_CHUNKS) {
        if (first.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the run ended before it could be killed: ${JSON.stringify(first.output())}`);
        }
        await new Promise((r) => setTimeout(r, 20));
        done = await count(killedDb, 'SELECT COUNT(*) AS n FROM ferry_feature_run_chunks');
      }
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');

      // What the killed run left is consistent: each chunk recorded has all its values, nothing else is.
      const chunksAtKill = await count(killedDb, 'SELECT COUNT(*) AS n FROM ferry_feature_run_chunks');
      expect(chunksAtKill).toBeGreaterThanOrEqual(KILL_AFTER_CHUNKS);
      expect(chunksAtKill).toBeLessThan(CHUNKS);
      const writtenAtKill = await count(killedDb, 'SELECT SUM(written) AS n FROM ferry_feature_run_chunks');
      expect(await count(killedDb, 'SELECT COUNT(*) AS n FROM ferry_feature_values')).toBe(writtenAtKill);

      const second = await runFerry(args, envOf('killed'), dir.path);
      expect(second.code, second.stderr).toBe(0);
      const resumed = (JSON.parse(second.stdout) as Summary).views[0]!;
      expect(resumed).toMatchObject({ rows: ROWS, bad, chunks: CHUNKS });
      expect(resumed.skippedChunks).toBeGreaterThanOrEqual(chunksAtKill);
      expect(resumed.skippedChunks).toBeLessThan(CHUNKS);

      const clean = await runFerry(args, envOf('clean'), dir.path);
      expect(clean.code, clean.stderr).toBe(0);
      const full = (JSON.parse(clean.stdout) as Summary).views[0]!;
      expect(full).toMatchObject({
        rows: ROWS,
        bad,
        chunks: CHUNKS,
        skippedChunks: 0,
        offlineWritten: ROWS - bad,
      });

      const table = (sql: SqliteClient, t: string, cols: string) =>
        sql.query(
          `SELECT ${cols} FROM ${t} ORDER BY view, entity_key${t === 'ferry_feature_values' ? ', event_time_ms' : ''}`,
        );
      const offlineCols = 'view, entity_key, event_time_ms, values_json';
      const killedRows = await table(killedDb, 'ferry_feature_values', offlineCols);
      expect(killedRows).toHaveLength(ROWS - bad);
      expect(killedRows).toEqual(await table(cleanDb, 'ferry_feature_values', offlineCols));
      const onlineCols = 'view, entity_key, event_time_ms, values_json';
      const online = await table(killedDb, 'ferry_online_features', onlineCols);
      expect(online).toHaveLength(3500);
      expect(online).toEqual(await table(cleanDb, 'ferry_online_features', onlineCols));
      expect(await count(killedDb, 'SELECT COUNT(*) AS n FROM ferry_feature_run_chunks')).toBe(CHUNKS);
    } finally {
      await killedDb.close();
      await cleanDb.close();
    }
  }, 180_000);

  it('a window view: killed while writing, rerun, ends as an uninterrupted run does', async () => {
    const wargs = [...args, '--file', 'windows.json'];
    const killedDb = new SqliteClient({ path: join(dir.path, 'wkilled', 'ferry.db') });
    const cleanDb = new SqliteClient({ path: join(dir.path, 'wclean', 'ferry.db') });
    await killedDb.init();
    await cleanDb.init();
    try {
      const first = spawnFerry(wargs, envOf('wkilled'), dir.path);
      const deadline = Date.now() + 60_000;
      while (
        (await count(killedDb, 'SELECT COUNT(*) AS n FROM ferry_feature_run_chunks')) < KILL_AFTER_CHUNKS
      ) {
        if (first.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the run ended before it could be killed: ${JSON.stringify(first.output())}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      const chunksAtKill = await count(killedDb, 'SELECT COUNT(*) AS n FROM ferry_feature_run_chunks');
      const writtenAtKill = await count(killedDb, 'SELECT SUM(written) AS n FROM ferry_feature_run_chunks');
      expect(await count(killedDb, 'SELECT COUNT(*) AS n FROM ferry_feature_values')).toBe(writtenAtKill);

      const second = await runFerry(wargs, envOf('wkilled'), dir.path);
      expect(second.code, second.stderr).toBe(0);
      const resumed = (JSON.parse(second.stdout) as Summary).views[0]!;
      // One value per (project, event time): every good row has its own time here.
      const values = ROWS - bad;
      expect(resumed).toMatchObject({ rows: ROWS, bad, chunks: Math.ceil(values / CHUNK) });
      expect(resumed.skippedChunks).toBeGreaterThanOrEqual(chunksAtKill);
      expect(resumed.skippedChunks).toBeLessThan(resumed.chunks);

      const clean = await runFerry(wargs, envOf('wclean'), dir.path);
      expect(clean.code, clean.stderr).toBe(0);
      expect((JSON.parse(clean.stdout) as Summary).views[0]).toMatchObject({ offlineWritten: values });
      const table = (sql: SqliteClient, t: string) =>
        sql.query(
          `SELECT view, entity_key, event_time_ms, values_json FROM ${t} ORDER BY view, entity_key, event_time_ms`,
        );
      const killedRows = await table(killedDb, 'ferry_feature_values');
      expect(killedRows).toHaveLength(values);
      expect(killedRows).toEqual(await table(cleanDb, 'ferry_feature_values'));
      const online = await table(killedDb, 'ferry_online_features');
      expect(online).toHaveLength(3500);
      expect(online).toEqual(await table(cleanDb, 'ferry_online_features'));
    } finally {
      await killedDb.close();
      await cleanDb.close();
    }
  }, 180_000);
});
