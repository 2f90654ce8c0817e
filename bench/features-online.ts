/**
 * bench/features-online: online feature read latency through the adapters (SQLite file, Redis),
 * beside raw ioredis doing the same reads on the same Redis keys (HMGET for one entity, a pipeline
 * of HMGETs for many, each followed by the JSON.parse the adapter also does): what the adapter
 * costs over the driver. Sequential calls, warm, one process; per call, 1 and 100 entities of a
 * view with 50 features.
 * Run: npx tsx bench/features-online.ts   (needs Redis on 127.0.0.1:6379, like the tests)
 * Env: BENCH_ITERATIONS (default 5000), BENCH_ENTITIES (rows written, default 10000).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openOnlineStore } from '../src/adapters/factory.js';
import { RedisStore } from '../src/adapters/redis/redis-store.js';
import type {
  FeatureValue,
  OnlineFeatureRow,
  OnlineFeatureStore,
} from '../src/ports/online-feature-store.js';

const REDIS = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 5000);
const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 10_000);
const WARMUP = 500;
const FEATURES = 50;
const VIEW = 'bench_view';
const T0 = 1_700_000_000_000;

/** Seeded, so every backend reads the same keys in the same order. */
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

/** 50 features: 42 floats, 4 counts, 2 strings, a list and a map, as a typical view would hold. */
function valuesFor(i: number): Record<string, FeatureValue> {
  const values: Record<string, FeatureValue> = {};
  for (let f = 0; f < 42; f++) values[`f${f}`] = Math.sin(i * 31 + f) * 1000;
  for (let f = 42; f < 46; f++) values[`count_${f}`] = (i * 7 + f) % 10_000;
  values.tag = `tag-${i % 97}`;
  values.country = ['fr', 'de', 'us', 'jp'][i % 4]!;
  values.recent = [i % 13, i % 17, i % 19];
  values.by_tag = { python: i % 5, rust: i % 3, go: i % 2 };
  return values;
}

const keyOf = (i: number) => `user-${i}`;

/** Every call's entity keys, drawn once: the same sequence for every backend. */
function keySets(batch: number, count: number): string[][] {
  const random = prng(batch);
  return Array.from({ length: count }, () =>
    Array.from({ length: batch }, () => keyOf(Math.floor(random() * ENTITIES))),
  );
}

interface Result {
  backend: string;
  entities: number;
  p50: number;
  p99: number;
  mean: number;
}

type Reader = (keys: string[]) => Promise<unknown[]>;

/**
 * Times every reader on the same key sets, round-robin (call i of each reader back to back), so
 * that load from other processes on the machine falls on all of them alike.
 */
async function measure(entities: number, readers: ReadonlyArray<[string, Reader]>): Promise<Result[]> {
  const sets = keySets(entities, WARMUP + ITERATIONS);
  const times = readers.map(() => new Float64Array(ITERATIONS));
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const keys = sets[i]!;
    for (const [r, [backend, read]] of readers.entries()) {
      const started = performance.now();
      const got = await read(keys);
      const elapsed = performance.now() - started;
      if (got.length !== keys.length || got[0] === undefined || got[0] === null) {
        throw new Error(`${backend}: a read came back incomplete`);
      }
      if (i >= WARMUP) times[r]![i - WARMUP] = elapsed;
    }
  }
  return readers.map(([backend], r) => {
    const sorted = times[r]!.sort();
    const at = (q: number) => sorted[Math.min(ITERATIONS - 1, Math.floor(q * ITERATIONS))]!;
    const mean = sorted.reduce((a, b) => a + b, 0) / ITERATIONS;
    return { backend, entities, p50: at(0.5), p99: at(0.99), mean };
  });
}

async function fill(store: OnlineFeatureStore): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < ENTITIES; start += 1000) {
    const rows: OnlineFeatureRow[] = [];
    for (let i = start; i < Math.min(ENTITIES, start + 1000); i++) {
      rows.push({ view: VIEW, entityKey: keyOf(i), eventTimeMs: T0 + i, values: valuesFor(i) });
    }
    await store.writeMany(rows);
  }
  return performance.now() - started;
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-features-'));
const prefix = `ferry-bench:${randomUUID()}:`;
const sqlite = openOnlineStore(`sqlite:${join(dir, 'online.db')}`);
const redis = openOnlineStore(REDIS, { prefix });
const raw = new Redis(REDIS);
const results: Result[] = [];
try {
  await sqlite.init();
  await redis.init();
  const fills = { sqlite: await fill(sqlite), redis: await fill(redis) };
  console.log(
    `wrote ${ENTITIES} rows × ${FEATURES} features (${JSON.stringify(valuesFor(1)).length} bytes of JSON each):`,
    `SQLite ${fills.sqlite.toFixed(0)} ms, Redis ${fills.redis.toFixed(0)} ms`,
  );

  const rawKey = (k: string) => `${prefix}of:${VIEW}:${k}`;
  const rawOne = async (keys: string[]) => {
    const [t, w, v] = await raw.hmget(rawKey(keys[0]!), 't', 'w', 'v');
    return [{ t: Number(t), w: Number(w), values: JSON.parse(v!) as unknown }];
  };
  const rawPipeline = async (keys: string[]) => {
    const pipeline = raw.pipeline();
    for (const k of keys) pipeline.hmget(rawKey(k), 't', 'w', 'v');
    const replies = (await pipeline.exec())!;
    return replies.map(([error, fields]) => {
      if (error) throw error;
      const [t, w, v] = fields as [string, string, string];
      return { t: Number(t), w: Number(w), values: JSON.parse(v) as unknown };
    });
  };

  for (const entities of [1, 100]) {
    results.push(
      ...(await measure(entities, [
        ['SQLite file (adapter)', (keys) => sqlite.readMany(VIEW, keys)],
        ['Redis (adapter)', (keys) => redis.readMany(VIEW, keys)],
        entities === 1
          ? ['Redis raw HMGET + JSON.parse', rawOne]
          : ['Redis raw pipeline of HMGET + JSON.parse', rawPipeline],
      ])),
    );
  }

  console.log(
    `\nonline read latency, ${ITERATIONS} sequential calls each after ${WARMUP} warm-up, round-robin, ms per call`,
  );
  console.log('| backend | entities/call | p50 | p99 | mean |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.backend} | ${r.entities} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.mean.toFixed(3)} |`,
    );
  }
} finally {
  await sqlite.close();
  await redis.close();
  raw.disconnect();
  const sweeper = new RedisStore({ url: REDIS, prefix });
  await sweeper.init();
  await sweeper.deletePrefix('');
  await sweeper.close();
  rmSync(dir, { recursive: true, force: true });
}
