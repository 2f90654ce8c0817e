/**
 * bench/batch-pg-upsert: the prediction store's write alone on PostgreSQL, the two multi-row paths
 * of upsertMany (`values`: VALUES of 500 rows; `auto`: one unnest statement) on chunks of 1,000
 * text rows, each chunk in its own transaction as a batch job commits it; first into an empty
 * table (insert), then the same ids again (conflict: every row updated).
 * Run: npx tsx bench/batch-pg-upsert.ts   (PostgreSQL on 127.0.0.1, like the tests; BENCH_ROWS)
 */
import { PostgresClient } from '../src/adapters/postgres/postgres-client.js';
import { PredictionStore, type StoredPrediction } from '../src/batch/prediction-store.js';

const URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const CHUNK = 1000;
const CLASSES = ['computer-vision', 'mlops', 'natural-language-processing', 'other'];

function chunkRows(offset: number): StoredPrediction[] {
  return Array.from({ length: CHUNK }, (_, i) => {
    const probabilities = Object.fromEntries(CLASSES.map((c) => [c, Math.random()]));
    return {
      model: 'bench',
      entityId: `p-${offset + i}`,
      version: 1,
      inputSha256: 'a'.repeat(64),
      prediction: 'mlops',
      probabilities,
      outputs: {},
      computedAt: new Date().toISOString(),
      jobId: 'bench-job',
    };
  });
}

const schema = `ferry_bench_upsert_${Date.now()}`;
const sql = new PostgresClient({ url: URL, schema });
await sql.init();
try {
  console.log(`upsertMany on PostgreSQL, ${ROWS.toLocaleString('en-US')} rows in chunks of ${CHUNK}`);
  for (const upsert of ['values', 'auto', 'values', 'auto'] as const) {
    const store = new PredictionStore({ sql, upsert });
    await store.init();
    await sql.execute('TRUNCATE ferry_batch_predictions');
    for (const pass of ['insert', 'conflict']) {
      const started = performance.now();
      for (let offset = 0; offset < ROWS; offset += CHUNK) {
        const rows = chunkRows(offset);
        await sql.transaction((tx) => store.upsertMany(rows, tx));
      }
      const rate = ROWS / ((performance.now() - started) / 1000);
      console.log(`${upsert.padEnd(7)} ${pass.padEnd(9)} ${Math.round(rate).toLocaleString('en-US')} rows/s`);
    }
  }
} finally {
  await sql.execute(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.close();
}
