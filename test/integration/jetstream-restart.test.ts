import { afterEach, describe, expect, it } from 'vitest';
import { JetStreamEventStream } from '../../src/adapters/nats/jetstream-event-stream.js';
import { isFerryError } from '../../src/core/errors.js';
import type { Delivery, EventToPublish } from '../../src/ports/event-stream.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { type OwnNats, ownNats } from '../helpers/nats-server.js';

/*
 * Faults with a nats-server of the test's own (its own port and store): killed with SIGKILL in the
 * middle of a run and started again on the same store. The machine's NATS on 4222 is never touched.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = new TextEncoder();

function transport(nats: OwnNats): JetStreamEventStream {
  return new JetStreamEventStream({
    url: nats.url,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 1500,
    maxReconnectDelayMs: 300,
  });
}

describe('JetStream transport across a nats-server crash (a server of the test own)', () => {
  let nats: OwnNats | undefined;
  const transports: JetStreamEventStream[] = [];

  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close();
    await nats?.close();
    nats = undefined;
  });

  it('loses no acknowledged event when the server is killed mid-run, and the consumer resumes', async () => {
    nats = await ownNats();
    await nats.start();
    const producer = transport(nats);
    const reader = transport(nats);
    transports.push(producer, reader);
    await producer.init();
    await reader.init();
    await producer.ensureStream({ name: 'crash', partitions: 3 });
    const consumer = await reader.consumer('crash', { name: 'sink', ackWaitMs: 1000 });

    const total = 600;
    const batch = 20;
    const acked = new Set<string>();
    const seen = new Map<string, number>();
    let publishFailures = 0;
    let fetchFailures = 0;
    let producing = true;

    const produce = async () => {
      for (let start = 0; start < total; start += batch) {
        const events: EventToPublish[] = Array.from({ length: batch }, (_, i) => ({
          id: `e${start + i}`,
          key: `k${(start + i) % 17}`,
          data: text.encode(JSON.stringify({ n: start + i })),
        }));
        // The producer retries the same batch until it is acknowledged: the dedupe by id makes it safe.
        for (;;) {
          try {
            await producer.publish('crash', events);
            for (const e of events) acked.add(e.id);
            break;
          } catch (e) {
            if (!isFerryError(e, 'FERRY_STREAM_UNAVAILABLE')) throw e;
            publishFailures += 1;
            await sleep(50);
          }
        }
        await sleep(5);
      }
      producing = false;
    };

    const consume = async () => {
      const end = Date.now() + 45_000;
      while (Date.now() < end && (producing || [...acked].some((id) => !seen.has(id)))) {
        let got: Delivery[];
        try {
          got = await consumer.fetch(50, 200);
          // Acked after "processing", as the stream pipelines do.
          for (const d of got) seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
          await Promise.all(got.map((d) => d.ack()));
        } catch (e) {
          if (!isFerryError(e, 'FERRY_STREAM_UNAVAILABLE')) throw e;
          fetchFailures += 1;
          await sleep(50);
        }
      }
    };

    const running = Promise.all([produce(), consume()]);
    // Kill the server once a part of the work is done, keep it down a while, then start it again.
    while (acked.size < total / 3) await sleep(10);
    await nats.kill();
    const killedAt = { acked: acked.size, seen: seen.size };
    await sleep(1000);
    await nats.start();
    await running;

    expect(killedAt.acked).toBeLessThan(total);
    expect(publishFailures + fetchFailures).toBeGreaterThan(0);
    expect(acked.size).toBe(total);
    const lost = [...acked].filter((id) => !seen.has(id));
    expect(lost).toEqual([]);
    // Deliveries whose acks were lost in the crash come back after their ack wait: drain them.
    const drainEnd = Date.now() + 15_000;
    while ((await producer.status('crash')).consumers[0]?.pending !== 0 && Date.now() < drainEnd) {
      const got = await consumer.fetch(50, 300);
      for (const d of got) seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
      await Promise.all(got.map((d) => d.ack()));
    }
    const status = await producer.status('crash');
    // Retried batches were stored once (the dedupe window survives the restart).
    expect(status.events).toBe(total);
    expect(status.consumers).toEqual([expect.objectContaining({ name: 'sink', pending: 0, inFlight: 0 })]);
    // Redeliveries after the crash are allowed (at-least-once), but bounded by what was in flight.
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThan(total / 2);
    console.info(
      `killed after ${killedAt.acked} published / ${killedAt.seen} consumed; publish failures ${publishFailures}, fetch failures ${fetchFailures}, redelivered ${duplicates}`,
    );
  }, 60_000);

  it('fails fast with FERRY_STREAM_UNAVAILABLE while the server is down, and works again once it is back', async () => {
    nats = await ownNats();
    await nats.start();
    const t = transport(nats);
    transports.push(t);
    await t.init();
    await t.ensureStream({ name: 'down', partitions: 2 });
    await t.publish('down', [{ id: 'before', key: 'k', data: text.encode('1') }]);
    const consumer = await t.consumer('down', { name: 'sink', ackWaitMs: 1000 });
    const [delivery] = await consumer.fetch(1, 1000);
    expect(delivery?.id).toBe('before');

    await nats.kill();
    await sleep(100);
    const bounded = async (what: Promise<unknown>) => {
      const start = Date.now();
      const error = await expectFerryError(what, 'FERRY_STREAM_UNAVAILABLE', 503);
      expect(Date.now() - start, error.message).toBeLessThan(2000);
    };
    await bounded(t.publish('down', [{ id: 'during', key: 'k', data: text.encode('2') }]));
    await bounded(consumer.fetch(10, 500));
    await bounded(delivery!.ack());
    await bounded(t.status('down'));
    await bounded(t.consumer('down', { name: 'other' }));
    // A new transport cannot start while the server is down, and says so within its connect timeout.
    const late = transport(nats);
    transports.push(late);
    await bounded(late.init());

    await nats.start();
    // The same transport reconnects by itself (backoff capped at 300 ms here).
    const end = Date.now() + 10_000;
    let acks: Awaited<ReturnType<typeof t.publish>> | undefined;
    while (acks === undefined && Date.now() < end) {
      acks = await t
        .publish('down', [{ id: 'after', key: 'k', data: text.encode('3') }])
        .catch(() => undefined);
      if (acks === undefined) await sleep(100);
    }
    expect(acks).toEqual([{ sequence: 2, duplicate: false }]);
    const after: string[] = [];
    while (after.length < 2 && Date.now() < end) {
      const got = await consumer.fetch(10, 500);
      await Promise.all(got.map((d) => d.ack()));
      after.push(...got.map((d) => d.id));
    }
    // "before" was never acked (the ack failed while the server was down), so it comes again.
    expect(after.sort()).toEqual(['after', 'before']);
  }, 60_000);
});
