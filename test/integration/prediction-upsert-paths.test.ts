import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { PredictionStore, type StoredPrediction } from '../../src/batch/prediction-store.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { SQL_SPECIAL_IDS, storedPrediction } from '../conformance/prediction-store.conformance.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';

/*
 * The multi-row paths of PredictionStore.upsertMany write the same rows: `auto` (one unnest
 * statement per chunk on PostgreSQL) and `values` (multi-row VALUES, the path every release before
 * it used). Compared column by column as stored, inside a transaction as a batch job writes a chunk.
 */

const schemas: string[] = [];
const root = mkdtempSync(join(tmpdir(), 'ferry-upsert-paths-'));
afterAll(async () => {
  await dropSchemas(...schemas);
  rmSync(root, { recursive: true, force: true });
});

const T = '2025-03-01T12:00:00.000Z';

/** Text characters that are special in a PostgreSQL array literal, JSON or SQL. */
const TRICKY = ['', 'NULL', 'null', '{', '}', ',', '"', '\\', '\\"', ' ', 'a,b', '{"x"}', "o'brien", '\n'];

/** One chunk: text rows (special ids, batch and live), tensor rows, and an entity written twice. */
function chunk(version: number, computedAt = T): StoredPrediction[] {
  const text = SQL_SPECIAL_IDS.map((id, i) =>
    storedPrediction(id, {
      version,
      computedAt,
      jobId: i % 5 === 0 ? null : `job-${i % 3}`,
      ...(i % 7 === 0 ? { source: 'live' as const } : {}),
      prediction: TRICKY[i % TRICKY.length]!,
      probabilities: { [TRICKY[(i + 1) % TRICKY.length]!]: 0.25, b: 0.75 },
    }),
  );
  const tensors = TRICKY.map(
    (s, i): StoredPrediction => ({
      model: 'linear',
      entityId: `t-${i}-${s}`,
      version,
      inputSha256: 'f'.repeat(64),
      outputs: {
        y: { datatype: 'FP32', shape: [2], data: [i, -1.5e-7] },
        label: { datatype: 'BYTES', shape: [2], data: [s, `${s}"}`] },
      },
      computedAt,
      jobId: i % 2 === 0 ? null : 'job-t',
    }),
  );
  // The same entity twice in one chunk: the last one is kept.
  const twice = [
    storedPrediction('dup', { version, prediction: 'first' }),
    storedPrediction('dup', { version }),
  ];
  return [...text, ...tensors, ...twice];
}

type Raw = Record<string, unknown>;

/** Every stored row, every column as the database holds it, in a fixed order. */
async function rawRows(sql: SqlClient): Promise<Raw[]> {
  return sql.query<Raw>('SELECT * FROM ferry_batch_predictions ORDER BY model, entity_id');
}

/** Writes `rows` with the given path in one transaction (as processChunk does); returns the table. */
async function writeChunk(
  sql: SqlClient,
  upsert: 'auto' | 'values',
  rows: readonly StoredPrediction[],
): Promise<Raw[]> {
  const store = new PredictionStore({ sql, upsert });
  await store.init();
  await sql.transaction((tx) => store.upsertMany(rows, tx));
  return rawRows(sql);
}

function pathsSuite(name: string, open: () => Promise<SqlClient>): void {
  describe(`upsert paths write the same rows: ${name}`, () => {
    it('a chunk, its re-run and a conflicting newer chunk', async () => {
      const old = await open();
      const multi = await open();
      try {
        const first = chunk(1);
        const byValues = await writeChunk(old, 'values', first);
        const byAuto = await writeChunk(multi, 'auto', first);
        expect(byAuto).toEqual(byValues);
        // Nulls stay NULL (job_id of live rows, outputs of text rows), not the text 'NULL'.
        expect(byAuto.some((r) => r.job_id === null)).toBe(true);
        expect(byAuto.filter((r) => r.model === 'tagifai').every((r) => r.outputs === null)).toBe(true);
        expect(byAuto.find((r) => r.entity_id === 'dup')?.prediction).toBe('mlops');
        expect(byAuto.length).toBe(new Set(first.map((r) => `${r.model}/${r.entityId}`)).size);

        // Re-running the chunk changes nothing.
        expect(await writeChunk(multi, 'auto', first)).toEqual(byAuto);

        // A newer chunk over the same entities replaces every column, the same way on both paths.
        const second = chunk(2, '2025-03-02T00:00:00.000Z').map((r, i) =>
          i % 4 === 0 ? { ...r, jobId: 'job-2', source: 'batch' as const } : r,
        );
        const replacedByValues = await writeChunk(old, 'values', second);
        const replacedByAuto = await writeChunk(multi, 'auto', second);
        expect(replacedByAuto).toEqual(replacedByValues);
        expect(replacedByAuto.every((r) => Number(r.version) === 2)).toBe(true);

        // And read back through the store, the rows are the ones given.
        const store = new PredictionStore({ sql: multi });
        const back = await store.getMany(
          'linear',
          second.filter((r) => r.model === 'linear').map((r) => r.entityId),
        );
        expect(back.map((r) => r?.outputs)).toEqual(
          second.filter((r) => r.model === 'linear').map((r) => r.outputs),
        );
      } finally {
        await old.close();
        await multi.close();
      }
    });
  });
}

// Two databases per engine, one per path, so each path starts from the same empty table.
pathsSuite('PostgreSQL', async () => {
  const schema = freshSchema();
  schemas.push(schema);
  const sql = pgClient(schema);
  await sql.init();
  return sql;
});

let seq = 0;
pathsSuite('SQLite', async () => {
  const sql = new SqliteClient({ path: join(root, `db-${++seq}.db`) });
  await sql.init();
  return sql;
});
