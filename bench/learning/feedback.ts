/**
 * bench/learning/feedback: delayed labels.
 *  1. Labels/s through POST /v1/feedback of `ferry serve` (SQLite registry, token, rate limit off),
 *     1 and 100 labels a request, under wrk (one thread, 16 connections, warmed up), beside the same
 *     insert through a bare fastify handler (bench/learning/feedback-baseline.mjs) in the same run.
 *  2. `labeled()` (labels joined to their logged predictions) for 100k labels, beside a plain read
 *     of the same 100k log rows (PredictionLogReader.read, pages of 10,000), on SQLite and, when
 *     reachable, PostgreSQL.
 * Run: npx tsx bench/learning/feedback.ts   (BENCH_SECONDS=10, BENCH_LABELS=100000)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PostgresClient } from '../../src/adapters/postgres/postgres-client.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { openFerry } from '../../src/app/open-ferry.js';
import { loadConfig } from '../../src/core/config.js';
import { FeedbackStore } from '../../src/monitoring/feedback/feedback-store.js';
import type { PredictionLogRecord } from '../../src/ports/prediction-log-sink.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';
import { registerTrained } from '../../src/train/register-trained.js';
import { type LoadResult, stopProcess, waitForAddress } from '../lib/processes.js';
import { ensureWrk } from '../lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LABELS = Number(process.env.BENCH_LABELS ?? 100_000);
const TOKEN = 'bench-feedback-token-0123456789';
const SCRIPT = resolve(import.meta.dirname, 'feedback.lua');

let runs = 0;
function wrk(url: string, labelsPerRequest: number, seconds: number): Promise<LoadResult> {
  const args = [
    '-t',
    '1',
    '-c',
    '16',
    '-d',
    `${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    SCRIPT,
    `${url}/v1/feedback`,
  ];
  return new Promise((res, rej) => {
    const child = spawn('wrk', args, {
      env: {
        ...process.env,
        WRK_LABELS: String(labelsPerRequest),
        WRK_TOKEN: TOKEN,
        WRK_RUN: String(++runs),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (!line) return rej(new Error(`wrk exited ${code} without figures:\n${out}`));
      const r = JSON.parse(line) as Record<string, number>;
      res({
        rps: r.requests! / r.seconds!,
        p50: r.p50_us! / 1000,
        p99: r.p99_us! / 1000,
        errors: r.errors! + r.non2xx!,
      });
    });
  });
}

async function measure(url: string, labelsPerRequest: number): Promise<LoadResult> {
  await wrk(url, labelsPerRequest, 3);
  return wrk(url, labelsPerRequest, SECONDS);
}

function start(
  args: string[],
  env: NodeJS.ProcessEnv,
  pattern?: RegExp,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForAddress(child, pattern).then((url) => ({ url, child }));
}

function row(name: string, r: LoadResult, perRequest: number): string {
  return `${name.padEnd(44)} ${(r.rps * perRequest).toFixed(0).padStart(8)} labels/s  ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  errors ${r.errors}`;
}

async function httpPart(home: string): Promise<void> {
  ensureWrk();
  const ctx = await openFerry(loadConfig({}, { home }));
  const data = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample.csv');
  await registerTrained(ctx.registry, trainTextClassifier(data, { seed: 42, tune: false }), {
    name: 'tagifai',
    promote: false,
    force: true,
    alias: 'production',
    gitCommit: null,
  });
  await ctx.registry.setAlias('tagifai', 'production', 1, 'bench');
  await ctx.close();
  const ferry = await start(
    ['--import', 'tsx', 'src/cli/index.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--cache', 'off'],
    {
      ...process.env,
      FERRY_HOME: home,
      FERRY_FEEDBACK_TOKEN: TOKEN,
      FERRY_FEEDBACK_RATE_LIMIT: '0',
      FERRY_LOG_FORMAT: 'json',
    },
  );
  const bare = await start(
    ['bench/learning/feedback-baseline.mjs', join(home, 'bare.db')],
    process.env,
    /listening (http:\S+)/,
  );
  try {
    console.log(`POST /v1/feedback under wrk (1 thread, 16 connections, ${SECONDS} s, warmed up), SQLite:`);
    for (const per of [1, 100]) {
      const f = await measure(ferry.url, per);
      const b = await measure(bare.url, per);
      console.log(row(`ferry serve, ${per} label(s)/request`, f, per));
      console.log(row(`bare fastify + INSERT, ${per} label(s)/request`, b, per));
      console.log(`  ferry / bare: ${((f.rps / b.rps) * 100).toFixed(0)}%`);
    }
  } finally {
    await stopProcess(ferry.child);
    await stopProcess(bare.child);
  }
}

function logRecord(i: number): PredictionLogRecord {
  return {
    requestId: `req-${String(i).padStart(7, '0')}`,
    at: new Date(Date.UTC(2026, 11, 1) + i * 10).toISOString(),
    model: 'tagifai',
    version: 1 + (i % 2),
    latencyMs: 1,
    items: [
      {
        title: `Project ${i} on transformers for text`,
        description: `A description of project ${i}, long enough to look like the course's rows.`,
        prediction: i % 3 === 0 ? 'mlops' : 'natural-language-processing',
        probabilities: {
          mlops: 0.4,
          'natural-language-processing': 0.5,
          other: 0.05,
          'computer-vision': 0.05,
        },
        source: 'model',
      },
    ],
    itemCount: 1,
  };
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function joinPart(name: string, sql: SqlClient): Promise<void> {
  await sql.init();
  const log = new SqlPredictionLog(sql);
  await log.init();
  const store = new FeedbackStore({ sql, log });
  await store.init();
  for (let i = 0; i < LABELS; i += 1000)
    await log.write(Array.from({ length: Math.min(1000, LABELS - i) }, (_, k) => logRecord(i + k)));
  const record = await time(async () => {
    for (let i = 0; i < LABELS; i += 1000) {
      await store.record(
        'tagifai',
        Array.from({ length: Math.min(1000, LABELS - i) }, (_, k) => ({
          requestId: logRecord(i + k).requestId,
          item: 0,
          label: (i + k) % 2 === 0 ? 'mlops' : 'other',
        })),
      );
    }
  });
  const plain = await time(async () => {
    let n = 0;
    let after: { at: string; requestId: string } | undefined;
    for (;;) {
      const page = await log.read({ model: 'tagifai', limit: 10_000, ...(after ? { after } : {}) });
      n += page.records.length;
      if (page.next === null) return n;
      after = page.next;
    }
  });
  const joined = await time(() => store.labeled('tagifai', {}));
  console.log(
    `${name}: ${LABELS} labels stored in ${(record.ms / 1000).toFixed(1)} s (${((LABELS / record.ms) * 1000).toFixed(0)} labels/s through record(), 1000 a call); ` +
      `labeled() ${joined.ms.toFixed(0)} ms (${joined.value.matched.length} matched, ${joined.value.unmatched} unmatched) vs plain read of ${plain.value} log rows ${plain.ms.toFixed(0)} ms: ×${(joined.ms / plain.ms).toFixed(2)}`,
  );
}

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-feedback-'));
try {
  if (process.env.BENCH_SKIP_HTTP !== '1') await httpPart(home);
  const sqlite = new SqliteClient({ path: join(home, 'join.db') });
  try {
    await joinPart('SQLite', sqlite);
  } finally {
    await sqlite.close();
  }
  const schema = `ferry_bench_feedback_${process.pid}`;
  const pg = new PostgresClient({
    url: process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    schema,
  });
  try {
    await joinPart('PostgreSQL', pg);
    await pg.execute(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } catch (e) {
    console.log(`PostgreSQL skipped: ${(e as Error).message}`);
  } finally {
    await pg.close();
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
