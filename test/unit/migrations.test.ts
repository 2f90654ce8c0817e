import { copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { PredictionStore } from '../../src/batch/prediction-store.js';
import { ALL_STORE_SCHEMAS } from '../../src/cli/commands/db.js';
import { ErrorCode } from '../../src/core/errors.js';
import { defineSchema, MIGRATIONS_TABLE, migrate, schemaStatus } from '../../src/core/migrations.js';
import { analyzeExperiment } from '../../src/experiments/experiment-analysis.js';
import { ExperimentStore } from '../../src/experiments/experiment-store.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { REGISTRY_SCHEMA } from '../../src/registry/schema.js';
import { runCli } from '../helpers/cli.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import { tmpDir } from '../helpers/tmp-dir.js';

/** A SQLite database written by Ferry 0.1.0's own CLI and server (see make.sh beside it). */
const LEGACY_DB = resolve(import.meta.dirname, '../fixtures/legacy-0.1.0/ferry.db');
const tmp = tmpDir('ferry-migrations-');
afterAll(() => tmp.remove());
let seq = 0;

function legacyCopy(): string {
  const path = join(tmp.path, `legacy-${++seq}.db`);
  copyFileSync(LEGACY_DB, path);
  return path;
}

async function migrateAll(sql: SqlClient): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const s of ALL_STORE_SCHEMAS) out[s.store] = await migrate(sql, s);
  return out;
}

/** A store whose second migration changes a table, to see it run once on each engine. */
const demo = defineSchema('demo', [
  {
    version: 1,
    description: 'table',
    statements: ['CREATE TABLE IF NOT EXISTS demo_t (id TEXT PRIMARY KEY)'],
  },
  { version: 2, description: 'column', statements: ['ALTER TABLE demo_t ADD COLUMN note TEXT NULL'] },
]);

describe('versioned migrations on a database written by Ferry 0.1.0 (SQLite)', () => {
  it('reports every store pending, upgrades, and keeps the data', async () => {
    const sql = new SqliteClient({ path: legacyCopy() });
    await sql.init();
    try {
      const before = await schemaStatus(sql, ALL_STORE_SCHEMAS);
      expect(before.every((s) => s.current === 0 && s.pending.length === s.latest)).toBe(true);

      const applied = await migrateAll(sql);
      for (const s of ALL_STORE_SCHEMAS) expect(applied[s.store]).toEqual(s.migrations.map((m) => m.version));
      expect(Object.values(await migrateAll(sql)).flat()).toEqual([]);

      const registry = new ModelRegistry({ sql, blobs: new MemoryBlobStore() });
      await registry.init();
      expect((await registry.resolve('tagifai@production')).version).toBe(1);
      const store = new PredictionStore({ sql });
      await store.init();
      expect(await store.count('tagifai')).toBe(2);
      expect((await store.get('tagifai', '2'))?.prediction).toBeTypeOf('string');
      // Rows from before the source column (migration 2) read their source from their job id.
      for (const row of await store.getMany('tagifai', ['1', '2'])) {
        expect(row?.source).toBe(row?.jobId ? 'batch' : 'live');
      }
      const experiments = new ExperimentStore({ sql });
      await experiments.init();
      const fixtureAb = (await experiments.get('fixture-ab'))!;
      expect(fixtureAb.arms).toHaveLength(2);
      // Migration 2 (event exclusion columns) applied: the old events aggregate, none excluded, and
      // a definition stored before `analysis` existed gets the default sufficiency rule.
      const aggregates = await experiments.aggregates(fixtureAb);
      expect(aggregates.excludedEvents).toBe(0);
      const { analysis } = analyzeExperiment(fixtureAb, aggregates);
      expect(fixtureAb.analysis).toBeUndefined();
      expect(analysis.comparisons.every((c) => c.minUnitsPerArm === 30 && c.error === undefined)).toBe(true);
      const [log] = await sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM ferry_prediction_log');
      expect(Number(log!.n)).toBe(1);
    } finally {
      await sql.close();
    }
  });

  it('refuses a database newer than the code, naming the store and both versions', async () => {
    const sql = new SqliteClient({ path: legacyCopy() });
    await sql.init();
    try {
      await migrateAll(sql);
      await sql.execute(
        `INSERT INTO ${MIGRATIONS_TABLE} (store, version, description, applied_at) VALUES ('registry', 99, 'future', 'x')`,
      );
      const err = await expectFerryError(
        new ModelRegistry({ sql, blobs: new MemoryBlobStore() }).init(),
        ErrorCode.DB_SCHEMA_TOO_NEW,
      );
      expect(err.details).toMatchObject({ store: 'registry', current: 99 });
    } finally {
      await sql.close();
    }
  });

  it('`ferry db status` and `ferry db migrate` on the legacy database', async () => {
    const home = join(tmp.path, `home-${++seq}`);
    const env = { FERRY_HOME: home, FERRY_DB: `sqlite:${legacyCopy()}` };
    const status = await runCli(['db', 'status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as Array<{ store: string; current: number; pending: unknown[] }>;
    expect(parsed.map((s) => s.store)).toEqual(ALL_STORE_SCHEMAS.map((s) => s.store));
    expect(parsed.every((s) => s.current === 0 && s.pending.length > 0)).toBe(true);
    const run = await runCli(['db', 'migrate'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/registry\s+applied 1/);
    const after = JSON.parse((await runCli(['db', 'status', '--json'], env)).stdout) as Array<{
      pending: unknown[];
    }>;
    expect(after.every((s) => s.pending.length === 0)).toBe(true);
  }, 60_000);

  it('a later migration runs once and changes the table', async () => {
    const sql = new SqliteClient({ path: join(tmp.path, `demo-${++seq}.db`) });
    await sql.init();
    try {
      expect(await migrate(sql, defineSchema('demo', demo.migrations.slice(0, 1)))).toEqual([1]);
      expect(await migrate(sql, demo)).toEqual([2]);
      expect(await migrate(sql, demo)).toEqual([]);
      await sql.execute(`INSERT INTO demo_t (id, note) VALUES ('a', 'b')`);
    } finally {
      await sql.close();
    }
  });

  it('rejects migrations numbered out of order at definition', () => {
    expect(() => defineSchema('bad', [{ version: 2, description: 'x', statements: [] }])).toThrow(
      /version 1/,
    );
  });
});

describe('versioned migrations on PostgreSQL', () => {
  const schemas: string[] = [];
  afterAll(() => dropSchemas(...schemas));

  it('upgrades tables written by 0.1.0 (its DDL, no bookkeeping) and keeps their rows', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const sql = pgClient(schema);
    await sql.init();
    try {
      for (const statement of REGISTRY_SCHEMA) await sql.execute(statement); // what 0.1.0 ran at start
      await sql.execute(
        `INSERT INTO ferry_models (name, created_at) VALUES ('legacy', '2026-01-01T00:00:00Z')`,
      );
      expect(await migrate(sql, ALL_STORE_SCHEMAS[0]!)).toEqual([1, 2]);
      const rows = await sql.query<{ name: string }>('SELECT name FROM ferry_models');
      expect(rows.map((r) => r.name)).toEqual(['legacy']);
    } finally {
      await sql.close();
    }
  });

  it('replicas starting together apply each migration exactly once', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const clients = [pgClient(schema), pgClient(schema), pgClient(schema)];
    await clients[0]!.init();
    await Promise.all(clients.slice(1).map((c) => c.init()));
    try {
      const results = await Promise.all(clients.map((c) => migrate(c, demo)));
      expect(results.flat().sort()).toEqual([1, 2]);
      const recorded = await clients[0]!.query<{ version: number }>(
        `SELECT version FROM ${MIGRATIONS_TABLE} WHERE store = 'demo' ORDER BY version`,
      );
      expect(recorded.map((r) => Number(r.version))).toEqual([1, 2]);
      const status = await schemaStatus(clients[1]!, [demo]);
      expect(status[0]).toMatchObject({ current: 2, latest: 2, pending: [] });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
