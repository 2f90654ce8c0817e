/**
 * bench/features: online feature reads through HTTP, `POST /v1/features/online` of `ferry serve`
 * (run from dist, as in production), on the SQLite online store (a table of the registry database,
 * the default) and on Redis (FERRY_ONLINE_STORE=redis://…), for 1 and 100 entities × 50 float64
 * features through a feature service, under wrk at 1 and 16 connections (3 s warm-up each). Beside
 * each figure, in the same run, a bare fastify handler reading the same stored rows
 * (bench/servers/features-handler.mjs: raw ioredis HMGET / pipeline, or a prepared better-sqlite3
 * statement, then JSON.parse): what Ferry's route costs over the driver.
 *
 * Run: npx tsx bench/features.ts   (needs Redis on 127.0.0.1:6379, like the tests; wrk is installed
 *      with apt-get when missing)
 * Env: BENCH_SECONDS (measured seconds per run, default 10), BENCH_ENTITIES (rows written, default
 *      10000), FERRY_TEST_REDIS_URL (default redis://127.0.0.1:6379), BENCH_REDIS_DB (default 11),
 *      BENCH_PROFILE_DIR (the Ferry servers write CPU profiles there, node --cpu-prof).
 *
 * Redis: `ferry serve` has no setting for the online store's key prefix (it is always `ferry:`), so
 * the rows go to a separate database number (BENCH_REDIS_DB) under a view name unique to the run,
 * and are deleted at the end (that view only: nothing else in that database is touched).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openOnlineStore, sqliteFileOf } from '../src/adapters/factory.js';
import { SqlOnlineStore } from '../src/adapters/sql/sql-online-store.js';
import { openFerry } from '../src/app/open-ferry.js';
import { loadConfig } from '../src/core/config.js';
import type {
  FeatureValue,
  OnlineFeatureRow,
  OnlineFeatureStore,
} from '../src/ports/online-feature-store.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../src/train/load-dataset.js';
import { trainTextClassifier } from '../src/train/pipeline.js';
import { registerTrained } from '../src/train/register-trained.js';
import { stopProcess, waitForAddress } from './lib/processes.js';
import { ensureWrk, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
const FERRY = join(ROOT, 'dist/cli/index.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 10_000);
const REDIS_DB = Number(process.env.BENCH_REDIS_DB ?? 11);
/** Where the two `ferry serve` processes write a CPU profile (node --cpu-prof), if set. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const FEATURES = 50;
const BATCHES = [1, 100] as const;
const CONNECTIONS = [1, 16] as const;
/** Distinct bodies per scenario, sent in turn: each request reads other entities. */
const BODIES = 500;
const VIEW = `bench_${randomBytes(4).toString('hex')}`;
const SERVICE = 'bench_service';
const JOIN_KEY = 'user_id';
const NOW = Date.now();

function redisUrl(): string {
  const url = new URL(process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  url.pathname = `/${REDIS_DB}`;
  return url.toString();
}
const REDIS = redisUrl();

/** Seeded, so both servers of a scenario read the same entities in the same order. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const featureName = (f: number) => `f${f}`;
const entityKey = (i: number) => `u${i}`;

/** 50 float64 values with full precision (about 19 characters each in JSON). */
function valuesFor(i: number): Record<string, FeatureValue> {
  const values: Record<string, FeatureValue> = {};
  for (let f = 0; f < FEATURES; f++) values[featureName(f)] = Math.sin(i * 31 + f) * 1000;
  return values;
}

function definitions() {
  const names = Array.from({ length: FEATURES }, (_, f) => featureName(f));
  return {
    entities: [{ name: 'user', joinKeys: [JOIN_KEY] }],
    sources: [{ name: 'bench_rows', kind: 'file', path: 'bench-rows.csv', timestampField: 'ts' }],
    views: [
      {
        name: VIEW,
        entities: ['user'],
        source: 'bench_rows',
        ttl: '30d',
        schema: names.map((name) => ({ name, type: 'float64' })),
        transform: { kind: 'row', features: Object.fromEntries(names.map((n) => [n, { from: n }])) },
      },
    ],
    services: [{ name: SERVICE, features: [VIEW] }],
  };
}

async function fill(store: OnlineFeatureStore): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < ENTITIES; start += 1000) {
    const rows: OnlineFeatureRow[] = [];
    for (let i = start; i < Math.min(ENTITIES, start + 1000); i++) {
      // Event times within the view's TTL, so every value is PRESENT.
      rows.push({ view: VIEW, entityKey: entityKey(i), eventTimeMs: NOW - 60_000 + i, values: valuesFor(i) });
    }
    await store.writeMany(rows);
  }
  return performance.now() - started;
}

/** Request bodies for `entities` per request, the same for Ferry and the bare handler. */
function bodies(entities: number): { bodies: string[]; first: number[] } {
  const random = prng(entities);
  const picks = Array.from({ length: BODIES }, () =>
    Array.from({ length: entities }, () => Math.floor(random() * ENTITIES)),
  );
  return {
    bodies: picks.map((p) =>
      JSON.stringify({ service: SERVICE, entities: { [JOIN_KEY]: p.map(entityKey) } }),
    ),
    first: picks[0]!,
  };
}

interface Server {
  url: string;
  child: ChildProcess;
}

async function start(args: string[], env: NodeJS.ProcessEnv, pattern?: RegExp): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    return { url: await waitForAddress(child, pattern), child };
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
}

/**
 * One request, checked before it is timed: 200, one result per entity, and the stored value of
 * the first entity's f7 (Ferry: PRESENT). Returns the response's size in bytes.
 */
async function check(url: string, body: string, first: number[], ferry: boolean): Promise<number> {
  const r = await fetch(`${url}/v1/features/online`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${text.slice(0, 500)}`);
  // biome-ignore lint/suspicious/noExplicitAny: two response shapes, checked field by field
  const json = JSON.parse(text) as { results: any[] };
  const expected = valuesFor(first[0]!).f7;
  const got = ferry ? json.results[0].features[`${VIEW}:f7`] : { value: json.results[0].values.f7 };
  if (json.results.length !== first.length || got.value !== expected || (ferry && got.status !== 'PRESENT')) {
    throw new Error(`${url}: unexpected answer ${text.slice(0, 500)}`);
  }
  return Buffer.byteLength(text);
}

interface Row {
  backend: string;
  entities: number;
  connections: number;
  ferry: { p50: number; p99: number; rps: number; errors: number; bytes: number };
  bare: { p50: number; p99: number; rps: number; errors: number; bytes: number };
}

const loadAtStart = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
ensureWrk();
const home = mkdtempSync(join(tmpdir(), 'ferry-bench-features-'));
const config = loadConfig({}, { home });
const dbFile = sqliteFileOf(config.db)!;
const servers: Server[] = [];
let redisStore: OnlineFeatureStore | undefined;
try {
  // `ferry serve` needs a model to serve; a small one on the shipped sample (the route ignores it).
  const ferry = await openFerry(config);
  try {
    const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample-dataset.csv');
    await registerTrained(ferry.registry, trainTextClassifier(sample, { seed: 42, tune: false }), {
      name: 'tagifai',
      promote: true,
      force: true,
      alias: 'production',
      gitCommit: null,
    });
  } finally {
    await ferry.close();
  }
  writeFileSync(
    join(home, 'bench-rows.csv'),
    `${JOIN_KEY},ts,${Array.from({ length: FEATURES }, (_, f) => featureName(f)).join(',')}\n`,
  );
  const file = join(home, 'features.json');
  writeFileSync(file, JSON.stringify(definitions(), null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, FERRY_HOME: home, FERRY_LOG_LEVEL: 'info' };
  delete env.FERRY_ONLINE_STORE;
  execFileSync(process.execPath, [FERRY, 'features', 'apply', '--yes', '--file', file], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const writer = await openFerry(config);
  const fills: Record<string, number> = {};
  try {
    const sqlite = new SqlOnlineStore({ sql: writer.sql });
    await sqlite.init();
    fills.sqlite = await fill(sqlite);
  } finally {
    await writer.close();
  }
  redisStore = openOnlineStore(REDIS);
  await redisStore.init();
  fills.redis = await fill(redisStore);
  process.stderr.write(
    `wrote ${ENTITIES} rows × ${FEATURES} float64 (${JSON.stringify(valuesFor(1)).length} bytes of JSON each): SQLite ${fills.sqlite!.toFixed(0)} ms, Redis ${fills.redis!.toFixed(0)} ms\n`,
  );

  // All four servers up at once (idle ones cost nothing); each scenario times Ferry, then the bare
  // handler, back to back, so that load from elsewhere on the machine falls on both alike.
  const serve = ['serve', '--host', '127.0.0.1', '--port', '0'];
  const profile = (name: string) =>
    PROFILE_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', name];
  const ferrySqlite = await start([...profile('ferry-sqlite.cpuprofile'), FERRY, ...serve], env);
  servers.push(ferrySqlite);
  const ferryRedis = await start([...profile('ferry-redis.cpuprofile'), FERRY, ...serve], {
    ...env,
    FERRY_ONLINE_STORE: REDIS,
  });
  servers.push(ferryRedis);
  const handler = join(ROOT, 'bench/servers/features-handler.mjs');
  const listening = /listening (http:\/\/\S+)/;
  const bareSqlite = await start([handler, 'sqlite', dbFile, VIEW], process.env, listening);
  servers.push(bareSqlite);
  const bareRedis = await start([handler, 'redis', REDIS, `ferry:of:${VIEW}:`], process.env, listening);
  servers.push(bareRedis);

  const rows: Row[] = [];
  for (const [backend, ferryUrl, bareUrl] of [
    ['SQLite', ferrySqlite.url, bareSqlite.url],
    ['Redis', ferryRedis.url, bareRedis.url],
  ] as const) {
    for (const entities of BATCHES) {
      const { bodies: sent, first } = bodies(entities);
      const ferryBytes = await check(ferryUrl, sent[0]!, first, true);
      const bareBytes = await check(bareUrl, sent[0]!, first, false);
      for (const connections of CONNECTIONS) {
        process.stderr.write(`running: ${backend}, ${entities} entities, ${connections} connections\n`);
        const o = { connections, seconds: SECONDS };
        const f = await wrkPost(`${ferryUrl}/v1/features/online`, sent, o);
        const b = await wrkPost(`${bareUrl}/v1/features/online`, sent, o);
        rows.push({
          backend,
          entities,
          connections,
          ferry: { ...f, bytes: ferryBytes },
          bare: { ...b, bytes: bareBytes },
        });
      }
    }
  }

  const cols = [
    'backend',
    'entities',
    'conns',
    'ferry p50',
    'ferry p99',
    'ferry rps',
    'bare p50',
    'bare p99',
    'bare rps',
    'ratio',
    'errors',
  ];
  const line = (c: Array<string | number>) => `| ${c.map(String).join(' | ')} |`;
  console.log(
    `\nbench/features: POST /v1/features/online, ${FEATURES} float64 features of one view through a feature service, ${ENTITIES} entities stored; wrk (1 thread), 3 s warm-up then ${SECONDS} s per run, ${BODIES} bodies in turn; latency in ms; ratio = ferry req/s ÷ bare req/s; load average at start ${loadAtStart}, at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (2 cores)`,
  );
  console.log(line(cols));
  console.log(line(cols.map((_, i) => (i < 1 ? '---' : '---:'))));
  for (const r of rows) {
    console.log(
      line([
        r.backend,
        r.entities,
        r.connections,
        r.ferry.p50.toFixed(2),
        r.ferry.p99.toFixed(2),
        r.ferry.rps.toFixed(0),
        r.bare.p50.toFixed(2),
        r.bare.p99.toFixed(2),
        r.bare.rps.toFixed(0),
        (r.ferry.rps / r.bare.rps).toFixed(2),
        `${r.ferry.errors}/${r.bare.errors}`,
      ]),
    );
  }
  const sizes = BATCHES.map((n) => {
    const r = rows.find((x) => x.entities === n)!;
    return `${n} entit${n === 1 ? 'y' : 'ies'}: ferry ${r.ferry.bytes} B, bare ${r.bare.bytes} B`;
  });
  console.log(
    `\nresponse sizes (Ferry wraps each value with its status and event time): ${sizes.join('; ')}`,
  );
  const target = rows.find((r) => r.backend === 'Redis' && r.entities === 1 && r.connections === 1)!;
  const at16 = rows.find((r) => r.backend === 'Redis' && r.entities === 1 && r.connections === 16)!;
  console.log(
    `target (issue 11): p99 <= 2 ms for 1 entity on Redis: ${target.ferry.p99.toFixed(2)} ms at 1 connection, ${target.ferry.p99 <= 2 ? 'met' : 'NOT met'} (${at16.ferry.p99.toFixed(2)} ms at 16 connections, ${at16.ferry.p99 <= 2 ? 'met' : 'NOT met'} there)`,
  );
} finally {
  for (const s of servers.reverse()) await stopProcess(s.child);
  if (redisStore !== undefined) {
    const removed = await redisStore.deleteView(VIEW).catch((e: unknown) => {
      process.stderr.write(`could not delete the bench rows from ${REDIS} (view ${VIEW}): ${String(e)}\n`);
      return 0;
    });
    process.stderr.write(`deleted ${removed} Redis keys of view ${VIEW} from db ${REDIS_DB}\n`);
    await redisStore.close();
  }
  rmSync(home, { recursive: true, force: true });
}
