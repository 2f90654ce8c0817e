/**
 * bench/streams: stream pipelines end to end, on both transports (the embedded SQLite log and NATS
 * JetStream, the machine's server with streams of the bench's own, deleted after), into the online
 * store (SQLite, and Redis).
 *
 * The pipeline: per user (10,000 users), a tumbling 1-minute window (count, sum, max, last page) and
 * a row view (the last page); state and dedupe in SQLite, one transaction per batch of 1000, online
 * sink. Two measures, each beside a baseline of the same run:
 * - sustained throughput: BENCH_EVENTS events published first, then the time until the pipeline
 *   processed all of them; baseline: a raw consumer of the same stream that fetches 1000 and acks
 *   them, no processing.
 * - freshness at an offered load of 1k and 10k events/s for BENCH_LOAD_SECONDS: a load generator
 *   in its own process publishes events stamped with the time they are published; freshness is the
 *   time from that stamp to the online store's write of the row holding the event (per row
 *   written, from its newest event); baseline: the same load through a raw consumer, stamp to ack.
 *
 * Run: npx tsx bench/streams.ts   (BENCH_EVENTS=60000 BENCH_LOAD_SECONDS=10
 * FERRY_BENCH_NATS_URL=nats://127.0.0.1:4222 FERRY_BENCH_REDIS_URL=redis://127.0.0.1:6379)
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openEventStream, openSqlClient } from '../src/adapters/factory.js';
import { RedisOnlineStore } from '../src/adapters/redis/redis-online-store.js';
import { SqlOnlineStore } from '../src/adapters/sql/sql-online-store.js';
import { createProducer } from '../src/app/open-streams.js';
import type { FeatureRepoDef } from '../src/features/feature-definitions.js';
import type { EventStream } from '../src/ports/event-stream.js';
import type { OnlineFeatureStore } from '../src/ports/online-feature-store.js';
import type { SqlClient } from '../src/ports/sql.js';
import { LatencyHistogram } from '../src/streams/metrics.js';
import { planPipeline } from '../src/streams/pipeline-plan.js';
import { runPipeline } from '../src/streams/run-pipeline.js';
import { deleteJetStreams } from '../test/helpers/nats-server.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 60_000);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
const NATS_URL = process.env.FERRY_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.FERRY_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const USERS = 10_000;
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const RATES = (process.env.BENCH_RATES ?? '1000,10000').split(',').map(Number);
const TSX = resolve(import.meta.dirname, '../node_modules/.bin/tsx');
const LOAD = resolve(import.meta.dirname, 'lib/stream-load.ts');

type Transport = 'sqlite' | 'nats';
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-streams-'));
const natsStreams: string[] = [];

function repo(stream: string, pipeline: string): FeatureRepoDef {
  return {
    entities: [{ name: 'user', joinKeys: ['user_id'] }],
    sources: [{ name: 'clicks', kind: 'stream', stream, timestampField: 'at' }],
    views: [
      {
        name: 'user_1m',
        entities: ['user'],
        source: 'clicks',
        ttl: '1d',
        schema: [
          { name: 'clicks', type: 'int64' },
          { name: 'amount', type: 'float64' },
          { name: 'amount_max', type: 'float64' },
          { name: 'last_page', type: 'string' },
        ],
        transform: {
          kind: 'window',
          window: { type: 'tumbling', size: '1m' },
          allowedLateness: '5s',
          aggregations: [
            { name: 'clicks', fn: 'count' },
            { name: 'amount', fn: 'sum', field: 'amount' },
            { name: 'amount_max', fn: 'max', field: 'amount' },
            { name: 'last_page', fn: 'last', field: 'page' },
          ],
        },
      },
      {
        name: 'user_last',
        entities: ['user'],
        source: 'clicks',
        ttl: '1d',
        schema: [{ name: 'page', type: 'string' }],
        transform: { kind: 'row' },
      },
    ],
    pipelines: [
      { name: pipeline, source: 'clicks', views: ['user_1m', 'user_last'], sinks: [{ kind: 'online' }] },
    ],
  };
}

function transportUrl(t: Transport, tag: string): string {
  return t === 'sqlite' ? `sqlite:${join(dir, `${tag}-streams.db`)}` : NATS_URL;
}

function newStream(t: Transport, prefix: string): string {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  if (t === 'nats') natsStreams.push(name);
  return name;
}

async function openState(tag: string): Promise<SqlClient> {
  const sql = openSqlClient(`sqlite:${join(dir, `${tag}-ferry.db`)}`);
  await sql.init();
  return sql;
}

async function openOnline(
  kind: 'sqlite' | 'redis',
  sql: SqlClient,
): Promise<{ store: OnlineFeatureStore; close(): Promise<void> }> {
  if (kind === 'sqlite') {
    const store = new SqlOnlineStore({ sql });
    await store.init();
    return { store, close: async () => {} };
  }
  const store = new RedisOnlineStore({ url: REDIS_URL, prefix: `ferry-bench-${randomUUID().slice(0, 8)}:` });
  await store.init();
  return {
    store,
    close: async () => {
      await store.deleteView('user_1m');
      await store.deleteView('user_last');
      await store.close();
    },
  };
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Events of the throughput run: in event-time order, 25 per user-second. */
function preEvents(prefix: string) {
  const t0 = Date.now() - 3_600_000;
  const pages = ['home', 'cart', 'checkout', 'search', 'product'];
  return Array.from({ length: EVENTS }, (_, i) => ({
    id: `${prefix}-${i}`,
    user_id: `u${i % USERS}`,
    at: t0 + Math.floor(i / 25),
    amount: i % 100,
    page: pages[i % pages.length],
  }));
}

/** Raw consume + ack of `count` events: fetch(BATCH), ack each, until done. Events/s. */
async function rawConsume(
  stream: EventStream,
  name: string,
  count: number,
  onAcked?: (data: Uint8Array) => void,
): Promise<number> {
  const consumer = await stream.consumer(name, { name: 'raw' });
  let done = 0;
  const start = performance.now();
  while (done < count) {
    const batch = await consumer.fetch(BATCH, 200);
    await Promise.all(batch.map((d) => d.ack()));
    if (onAcked) for (const d of batch) onAcked(d.data);
    done += batch.length;
  }
  const rate = count / ((performance.now() - start) / 1000);
  await consumer.close();
  return rate;
}

interface ThroughputRow {
  transport: Transport;
  online: string;
  pipeline: number;
  baseline: number;
}

async function throughput(t: Transport): Promise<ThroughputRow[]> {
  const stream = openEventStream(transportUrl(t, 'tp'));
  await stream.init();
  const name = newStream(t, 'bench-tp');
  await stream.ensureStream({ name, partitions: 4 });
  const producer = createProducer(stream, { keyField: 'user_id' });
  const events = preEvents(name);
  for (let i = 0; i < events.length; i += 1000) await producer.publish(name, events.slice(i, i + 1000));
  const baseline = await rawConsume(stream, name, EVENTS);
  const rows: ThroughputRow[] = [];
  for (const online of ['sqlite', 'redis'] as const) {
    const sql = await openState(`tp-${t}-${online}`);
    const store = await openOnline(online, sql);
    const pipelineName = `bench_${online}`;
    const plan = planPipeline(repo(name, pipelineName), pipelineName);
    const start = performance.now();
    const handle = await runPipeline(plan, { stream, sql, online: store.store }, { batchSize: BATCH });
    await waitUntil(() => handle.metrics().processed >= EVENTS, 600_000);
    const rate = EVENTS / ((performance.now() - start) / 1000);
    await handle.stop();
    await store.close();
    await sql.close();
    rows.push({ transport: t, online, pipeline: rate, baseline });
  }
  await stream.close();
  return rows;
}

interface LoadRun {
  published: number;
  offered: number;
  delivered: number;
  p50: number | undefined;
  p99: number | undefined;
  /** Events still unprocessed when the load stopped. */
  backlog: number;
}

function runLoad(url: string, stream: string, rate: number): Promise<{ published: number; seconds: number }> {
  return new Promise((res, rej) => {
    const child = spawn(TSX, [LOAD, url, stream, String(rate), String(LOAD_SECONDS), String(USERS), stream], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`load generator exited ${code}`));
      res(JSON.parse(out.trim().split('\n').pop()!) as { published: number; seconds: number });
    });
  });
}

async function freshnessBaseline(t: Transport, rate: number): Promise<LoadRun> {
  const url = transportUrl(t, `fb-${rate}`);
  const stream = openEventStream(url);
  await stream.init();
  const name = newStream(t, 'bench-fb');
  await stream.ensureStream({ name, partitions: 4 });
  const consumer = await stream.consumer(name, { name: 'raw' });
  const histogram = new LatencyHistogram();
  let consumed = 0;
  let stop = false;
  const decoder = new TextDecoder();
  const reading = (async () => {
    while (!stop) {
      const batch = await consumer.fetch(BATCH, 100);
      await Promise.all(batch.map((d) => d.ack()));
      const now = Date.now();
      for (const d of batch)
        histogram.record(now - (JSON.parse(decoder.decode(d.data)) as { at: number }).at);
      consumed += batch.length;
    }
  })();
  const load = await runLoad(url, name, rate);
  const backlog = load.published - consumed;
  await waitUntil(() => consumed >= load.published, 60_000);
  stop = true;
  await reading;
  await consumer.close();
  await stream.close();
  return {
    published: load.published,
    offered: load.published / load.seconds,
    delivered: consumed,
    p50: histogram.quantile(0.5),
    p99: histogram.quantile(0.99),
    backlog,
  };
}

async function freshnessPipeline(
  t: Transport,
  rate: number,
): Promise<LoadRun & { internalP50?: number; internalP99?: number }> {
  const url = transportUrl(t, `fp-${rate}`);
  const stream = openEventStream(url);
  await stream.init();
  const name = newStream(t, 'bench-fp');
  await stream.ensureStream({ name, partitions: 4 });
  const sql = await openState(`fp-${t}-${rate}`);
  const online = await openOnline('sqlite', sql);
  const histogram = new LatencyHistogram();
  const plan = planPipeline(repo(name, 'bench'), 'bench');
  const handle = await runPipeline(
    plan,
    { stream, sql, online: online.store },
    {
      batchSize: BATCH,
      fetchWaitMs: 100,
      onSinkWritten: (rows, doneAt) => {
        for (const r of rows) if (r.view.name === 'user_last') histogram.record(doneAt - r.eventTimeMs);
      },
    },
  );
  const load = await runLoad(url, name, rate);
  const backlog = load.published - handle.metrics().processed;
  await waitUntil(() => handle.metrics().processed >= load.published, 120_000);
  const m = handle.metrics();
  await handle.stop();
  await online.close();
  await sql.close();
  await stream.close();
  return {
    published: load.published,
    offered: load.published / load.seconds,
    delivered: m.processed,
    p50: histogram.quantile(0.5),
    p99: histogram.quantile(0.99),
    backlog,
    internalP50: m.latencyMs.p50,
    internalP99: m.latencyMs.p99,
  };
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

try {
  console.log(
    `bench/streams: ${EVENTS} events, ${USERS} users, batches of ${BATCH}, load ${LOAD_SECONDS} s per level`,
  );
  const tp: ThroughputRow[] = [];
  for (const t of ['sqlite', 'nats'] as const) tp.push(...(await throughput(t)));
  console.log('\nsustained throughput (events/s)');
  console.log(
    `${'transport'.padEnd(12)}${'online store'.padEnd(14)}${'pipeline'.padStart(10)}${'baseline: consume+ack'.padStart(24)}`,
  );
  for (const r of tp)
    console.log(
      `${r.transport.padEnd(12)}${r.online.padEnd(14)}${fmt(r.pipeline).padStart(10)}${fmt(r.baseline).padStart(24)}`,
    );

  console.log('\nfreshness: event published → online store written (pipeline) / → acked (baseline), ms');
  console.log(
    `${'transport'.padEnd(12)}${'offered/s'.padStart(10)}${'achieved/s'.padStart(12)}${'p50'.padStart(9)}${'p99'.padStart(9)}${'backlog at end'.padStart(16)}${'baseline p50'.padStart(14)}${'p99'.padStart(9)}${'achieved/s'.padStart(12)}`,
  );
  for (const t of ['sqlite', 'nats'] as const) {
    for (const rate of process.env.BENCH_SKIP_FRESHNESS === '1' ? [] : RATES) {
      const base = await freshnessBaseline(t, rate);
      const pipe = await freshnessPipeline(t, rate);
      console.log(
        `${t.padEnd(12)}${fmt(rate).padStart(10)}${fmt(pipe.offered).padStart(12)}${fmt(pipe.p50, 1).padStart(9)}${fmt(pipe.p99, 1).padStart(9)}${fmt(pipe.backlog).padStart(16)}${fmt(base.p50, 1).padStart(14)}${fmt(base.p99, 1).padStart(9)}${fmt(base.offered).padStart(12)}`,
      );
      console.log(
        `${''.padEnd(12)}  (pipeline: ${pipe.delivered}/${pipe.published} processed; event stored → sink p50 ${fmt(pipe.internalP50, 1)} p99 ${fmt(pipe.internalP99, 1)} ms; baseline ${base.delivered}/${base.published}, backlog at end ${base.backlog})`,
      );
    }
  }
} finally {
  await deleteJetStreams(NATS_URL, natsStreams).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
