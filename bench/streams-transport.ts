/**
 * bench/streams-transport: the stream transport's throughput on both adapters, the embedded SQLite
 * log and NATS JetStream (the machine's server, a stream of the bench's own, deleted after).
 * - publish: BENCH_EVENTS events of ~200 bytes, `publish()` calls of BENCH_BATCH events with
 *   BENCH_IN_FLIGHT calls in flight at once;
 * - consume + ack: one consumer over all 4 partitions, `fetch(500)` then every delivery acked
 *   (the acks of a fetch in parallel), until all are done.
 * Beside each, a baseline measured in the same run without Ferry's adapter: plain better-sqlite3
 * inserts in one transaction per batch (same file settings), and the NATS client's own
 * `js.publish` / `consumer.fetch` + `ack` (fire-and-forget acks, so an upper bound).
 * Run: npx tsx bench/streams-transport.ts   (BENCH_EVENTS=20000 BENCH_BATCH=100 BENCH_IN_FLIGHT=4,
 * FERRY_BENCH_NATS_URL=nats://127.0.0.1:4222)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { JetStreamEventStream } from '../src/adapters/nats/jetstream-event-stream.js';
import { jsName } from '../src/adapters/nats/jetstream-names.js';
import { SqliteEventLog } from '../src/adapters/sqlite/sqlite-event-log.js';
import type { EventStream, EventToPublish } from '../src/ports/event-stream.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 4);
const NATS_URL = process.env.FERRY_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const FETCH = 500;
const PARTITIONS = 4;

const text = new TextEncoder();
const events: EventToPublish[] = Array.from({ length: EVENTS }, (_, i) => ({
  id: `evt-${i}`,
  key: `user-${i % 1000}`,
  data: text.encode(
    JSON.stringify({
      user: `user-${i % 1000}`,
      amount: (i % 997) / 7,
      at: 1_700_000_000_000 + i,
      pad: 'x'.repeat(120),
    }),
  ),
}));
const batches: EventToPublish[][] = [];
for (let i = 0; i < EVENTS; i += BATCH) batches.push(events.slice(i, i + BATCH));

/** Runs `work` on every item with `limit` in flight; returns events/s for `count` events. */
async function timed(count: number, run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return count / ((performance.now() - start) / 1000);
}

async function inFlight<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function ferryRun(t: EventStream, stream: string): Promise<{ publish: number; consume: number }> {
  await t.ensureStream({ name: stream, partitions: PARTITIONS });
  const publish = await timed(EVENTS, () => inFlight(batches, IN_FLIGHT, (b) => t.publish(stream, b)));
  const consumer = await t.consumer(stream, { name: 'bench', ackWaitMs: 60_000 });
  let done = 0;
  const consume = await timed(EVENTS, async () => {
    while (done < EVENTS) {
      const got = await consumer.fetch(FETCH, 1000);
      await Promise.all(got.map((d) => d.ack()));
      done += got.length;
    }
  });
  await consumer.close();
  return { publish, consume };
}

function sqliteBaseline(dir: string): { publish: number; consume: number } {
  const db = new Database(join(dir, 'baseline.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE e (seq INTEGER PRIMARY KEY, id TEXT, key TEXT, data BLOB, acked INTEGER DEFAULT 0)');
  const insert = db.prepare('INSERT INTO e (id, key, data) VALUES (?, ?, ?)');
  const writeBatch = db.transaction((b: EventToPublish[]) => {
    for (const e of b) insert.run(e.id, e.key, Buffer.from(e.data));
  });
  let start = performance.now();
  for (const b of batches) writeBatch(b);
  const publish = EVENTS / ((performance.now() - start) / 1000);
  const read = db.prepare('SELECT seq, data FROM e WHERE seq > ? ORDER BY seq LIMIT ?');
  const ack = db.prepare('UPDATE e SET acked = 1 WHERE seq = ?');
  const ackAll = db.transaction((seqs: number[]) => {
    for (const s of seqs) ack.run(s);
  });
  start = performance.now();
  let last = 0;
  for (;;) {
    const rows = read.all(last, FETCH) as Array<{ seq: number }>;
    if (rows.length === 0) break;
    ackAll(rows.map((r) => r.seq));
    last = rows[rows.length - 1]!.seq;
  }
  const consume = EVENTS / ((performance.now() - start) / 1000);
  db.close();
  return { publish, consume };
}

async function natsBaseline(stream: string): Promise<{ publish: number; consume: number }> {
  const nc = await connect({ servers: NATS_URL.replace(/^nats:\/\//, '') });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.*`] });
    const publish = await timed(EVENTS, () =>
      inFlight(batches, IN_FLIGHT, (b) =>
        Promise.all(b.map((e, i) => js.publish(`${stream}.${i % PARTITIONS}`, e.data, { msgID: e.id }))),
      ),
    );
    await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: 'explicit', ack_wait: 60e9 });
    const consumer = await js.consumers.get(stream, 'bench');
    let done = 0;
    const consume = await timed(EVENTS, async () => {
      while (done < EVENTS) {
        const msgs = await consumer.fetch({ max_messages: FETCH, expires: 1000 });
        for await (const m of msgs) {
          m.ack();
          done += 1;
        }
      }
      await nc.flush();
    });
    await jsm.streams.delete(stream);
    return { publish, consume };
  } finally {
    await nc.close();
  }
}

const rows: Array<[string, { publish: number; consume: number }]> = [];
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-streams-'));
try {
  const log = new SqliteEventLog({ path: join(dir, 'streams.db') });
  await log.init();
  rows.push(['embedded log (sqlite:)', await ferryRun(log, 'bench')]);
  await log.close();
  rows.push(['  baseline: better-sqlite3 inserts', sqliteBaseline(dir)]);

  const name = `bench${Date.now()}`;
  const nats = new JetStreamEventStream({ url: NATS_URL });
  await nats.init();
  try {
    rows.push(['JetStream (nats://)', await ferryRun(nats, name)]);
  } finally {
    const nc = await connect({ servers: NATS_URL.replace(/^nats:\/\//, '') });
    const jsm = await jetstreamManager(nc);
    for (const s of [jsName.stream(name), jsName.dlq(name)]) await jsm.streams.delete(s).catch(() => false);
    await nc.close();
    await nats.close();
  }
  rows.push(['  baseline: nats.js js.publish / fetch+ack', await natsBaseline(`BENCH_RAW_${Date.now()}`)]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
console.log(
  `\n${EVENTS} events of ~${events[0]!.data.byteLength} B, ${PARTITIONS} partitions; publish() of ${BATCH} events, ${IN_FLIGHT} in flight; fetch(${FETCH}) + acks\n`,
);
console.log(`${'transport'.padEnd(44)}${'publish ev/s'.padStart(14)}${'consume+ack ev/s'.padStart(18)}`);
for (const [label, r] of rows)
  console.log(`${label.padEnd(44)}${fmt(r.publish).padStart(14)}${fmt(r.consume).padStart(18)}`);
