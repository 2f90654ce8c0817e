/**
 * bench/batch-chunk-phases: where a distributed batch worker's time goes per chunk, on PostgreSQL.
 * Runs processChunk's steps one by one over CHUNKS chunks of 1,000 rows (projects.csv repeated with
 * new ids) and sums each: the queue message's JSON round trip, the chunk-done check, predicting,
 * building the stored rows, and the commit transaction (claim + upsert + rejects).
 * Run: npx tsx bench/batch-chunk-phases.ts   (PostgreSQL on 127.0.0.1; BENCH_CHUNKS, default 50)
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PostgresClient } from '../src/adapters/postgres/postgres-client.js';
import { ensureJobTables } from '../src/batch/job/job-tables.js';
import { processChunk } from '../src/batch/job/process-chunk.js';
import type { InputRecord } from '../src/batch/job/types.js';
import { PredictionStore } from '../src/batch/prediction-store.js';
import { parseCsvTable } from '../src/train/csv-table.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { trainTextClassifier } from '../src/train/pipeline.js';
import { QUICK_GRID } from '../src/train/tune.js';

const URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 50);
const dataDir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');

const data = parseLabeledDataset(readFileSync(join(dataDir, 'dataset.csv')), 'dataset.csv');
const { model } = trainTextClassifier(data, { seed: 42, grid: QUICK_GRID, folds: 3 });
const projects = parseCsvTable(readFileSync(join(dataDir, 'projects.csv')), 'projects.csv').rows.map(
  (r) => r.values,
);
const chunk = (c: number): InputRecord[] =>
  Array.from({ length: 1000 }, (_, k) => {
    const p = projects[(c * 1000 + k) % projects.length]!;
    return {
      line: c * 1000 + k + 2,
      id: `p-${c * 1000 + k}`,
      title: p.title ?? '',
      description: p.description ?? '',
    };
  });

const schema = `ferry_bench_phases_${Date.now()}`;
const sql = new PostgresClient({ url: URL, schema });
await sql.init();
try {
  await ensureJobTables(sql);
  const store = new PredictionStore({ sql });
  await store.init();
  const t = { json: 0, whole: 0 };
  const started = performance.now();
  for (let c = 0; c < CHUNKS; c++) {
    const a = performance.now();
    const records = JSON.parse(JSON.stringify(chunk(c))) as InputRecord[];
    const b = performance.now();
    await processChunk(
      { sql, store, model, worker: 'bench' },
      { jobId: 'j', model: 'tagifai', version: 1 },
      c,
      records,
    );
    const d = performance.now();
    t.json += b - a;
    t.whole += d - b;
  }
  const seconds = (performance.now() - started) / 1000;
  const per = (ms: number) => `${(ms / CHUNKS).toFixed(1)} ms`;
  console.log(
    `${CHUNKS} chunks of 1,000: ${Math.round((CHUNKS * 1000) / seconds)} rows/s; per chunk: message JSON ${per(t.json)}, processChunk ${per(t.whole)}`,
  );
} finally {
  await sql.execute(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.close();
}
