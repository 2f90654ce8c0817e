import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery, EventStream, EventToPublish, StreamConsumer } from '../../src/ports/event-stream.js';
import { partitionOf } from '../../src/ports/event-stream.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

export interface EventStreamHarness {
  /** A new transport (not initialised) over the same storage: a second process, or a restart. */
  open(): EventStream;
  /** After each test: removes the streams the test made (JetStream) or the whole storage. */
  cleanup(streams: readonly string[]): Promise<void>;
}

/** Short enough to keep the suite fast, long enough not to expire while a fetch is handled. */
const ACK_WAIT = 300;
const text = new TextEncoder();
const untext = new TextDecoder();

function ev(id: string, key = id, body = `body of ${id}`): EventToPublish {
  return { id, key, data: text.encode(body) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fetches until `n` deliveries came (or the time is up), in the order they came. */
async function collect(consumer: StreamConsumer, n: number, timeoutMs = 5000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const end = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < end) {
    out.push(...(await consumer.fetch(n - out.length, Math.min(500, Math.max(1, end - Date.now())))));
  }
  return out;
}

const ids = (ds: readonly Delivery[]) => ds.map((d) => d.id);

/**
 * One suite for every EventStream: publish order and dedupe, partitions, ack/nak/redelivery,
 * dead letters, durable positions, replay, status, shared work, limits and errors.
 */
export function eventStreamConformance(name: string, make: () => Promise<EventStreamHarness>): void {
  describe(`EventStream conformance: ${name}`, () => {
    let harness: EventStreamHarness | undefined;
    const opened: EventStream[] = [];
    const streams: string[] = [];

    afterEach(async () => {
      for (const t of opened.splice(0)) await t.close().catch(() => undefined);
      await harness?.cleanup(streams.splice(0));
      harness = undefined;
    });

    async function setup(): Promise<EventStream> {
      harness = await make();
      return reopen();
    }

    async function reopen(): Promise<EventStream> {
      if (harness === undefined) throw new Error('setup() first');
      const t = harness.open();
      opened.push(t);
      await t.init();
      return t;
    }

    async function newStream(t: EventStream, partitions = 1, extra: { maxEventBytes?: number } = {}) {
      const s = `t${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      streams.push(s);
      await t.ensureStream({ name: s, partitions, ...extra });
      return s;
    }

    it('stores events in publish order and delivers them in that order with their fields', async () => {
      const t = await setup();
      const s = await newStream(t);
      const before = Date.now();
      const acks = await t.publish(s, [ev('a'), ev('b'), ev('c')]);
      const acks2 = await t.publish(s, [ev('d'), ev('e')]);
      const after = Date.now();
      expect([...acks, ...acks2]).toEqual(
        [1, 2, 3, 4, 5].map((sequence) => ({ sequence, duplicate: false })),
      );
      const c = await t.consumer(s, { name: 'reader', ackWaitMs: ACK_WAIT });
      const got = await collect(c, 5);
      expect(ids(got)).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(got.map((d) => d.sequence)).toEqual([1, 2, 3, 4, 5]);
      const first = got[0]!;
      expect(first.key).toBe('a');
      expect(first.data).toBeInstanceOf(Uint8Array);
      expect(untext.decode(first.data)).toBe('body of a');
      expect(first.partition).toBe(0);
      expect(first.deliveryCount).toBe(1);
      // Stored times come from the transport's clock (the server's for JetStream): allow a little skew.
      expect(first.publishedAtMs).toBeGreaterThanOrEqual(before - 1000);
      expect(first.publishedAtMs).toBeLessThanOrEqual(after + 1000);
      await Promise.all(got.map((d) => d.ack()));
      expect(await c.fetch(10, 100)).toEqual([]);
      expect(await t.listStreams()).toContain(s);
    });

    it('stores an id once within the window, answering duplicates with the first sequence', async () => {
      const t = await setup();
      const s = await newStream(t);
      await t.publish(s, [ev('a'), ev('b')]);
      const again = await t.publish(s, [ev('b', 'b', 'changed'), ev('c'), ev('a'), ev('x'), ev('x')]);
      expect(again).toEqual([
        { sequence: 2, duplicate: true },
        { sequence: 3, duplicate: false },
        { sequence: 1, duplicate: true },
        { sequence: 4, duplicate: false },
        { sequence: 4, duplicate: true },
      ]);
      expect((await t.status(s)).events).toBe(4);
      const c = await t.consumer(s, { name: 'reader', ackWaitMs: ACK_WAIT });
      const got = await collect(c, 4);
      expect(ids(got)).toEqual(['a', 'b', 'c', 'x']);
      expect(untext.decode(got[1]!.data)).toBe('body of b');
      expect(await c.fetch(10, 100)).toEqual([]);
    });

    it('puts a key in partitionOf(key) and keeps each key in publish order', async () => {
      const t = await setup();
      const s = await newStream(t, 4);
      const events = Array.from({ length: 60 }, (_, i) => ev(`e${i}`, `user-${i % 12}`));
      await t.publish(s, events);
      const c = await t.consumer(s, { name: 'reader', ackWaitMs: 5000 });
      const got = await collect(c, 60);
      expect(got).toHaveLength(60);
      const perKey = new Map<string, number[]>();
      for (const d of got) {
        expect(d.partition).toBe(partitionOf(d.key, 4));
        perKey.set(d.key, [...(perKey.get(d.key) ?? []), Number(d.id.slice(1))]);
      }
      for (const order of perKey.values()) expect(order).toEqual([...order].sort((a, b) => a - b));
      // More than one partition was used, or the test would prove little.
      expect(new Set(got.map((d) => d.partition)).size).toBeGreaterThan(1);
      // FNV-1a 32-bit of UTF-8, a fixed function: known values.
      expect(partitionOf('', 1 << 30)).toBe(0x811c9dc5 % (1 << 30));
      expect(partitionOf('a', 0x7fffffff)).toBe(0xe40c292c % 0x7fffffff);
      expect(partitionOf('é', 7)).toBe(partitionOf('é', 7));
    });

    it('redelivers a nak at once, a nak with a delay after it, and an unacked event after the ack wait', async () => {
      const t = await setup();
      const s = await newStream(t);
      await t.publish(s, [ev('acked'), ev('naked'), ev('ignored'), ev('later')]);
      const c = await t.consumer(s, { name: 'reader', ackWaitMs: ACK_WAIT, maxDeliveries: 10 });
      const first = await collect(c, 4);
      expect(ids(first)).toEqual(['acked', 'naked', 'ignored', 'later']);
      const start = Date.now();
      await first[0]!.ack();
      await first[1]!.nak();
      await first[3]!.nak(ACK_WAIT * 3);
      const again = await c.fetch(10, 1000);
      expect(ids(again)).toEqual(['naked']);
      expect(again[0]!.deliveryCount).toBe(2);
      expect(Date.now() - start).toBeLessThan(ACK_WAIT);
      await again[0]!.ack();
      // "ignored" comes back once its ack wait ran out, with its count; "later" not before its delay.
      const third = await collect(c, 1, 3000);
      expect(ids(third)).toEqual(['ignored']);
      expect(third[0]!.deliveryCount).toBe(2);
      expect(Date.now() - start).toBeGreaterThanOrEqual(ACK_WAIT - 50);
      await third[0]!.ack();
      const fourth = await collect(c, 1, 3000);
      expect(ids(fourth)).toEqual(['later']);
      expect(fourth[0]!.deliveryCount).toBe(2);
      expect(Date.now() - start).toBeGreaterThanOrEqual(ACK_WAIT * 3 - 50);
      await fourth[0]!.ack();
      expect(await c.fetch(10, ACK_WAIT + 200)).toEqual([]);
    });

    it('moves an event to the dead letters after maxDeliveries deliveries without an ack', async () => {
      const t = await setup();
      const s = await newStream(t);
      await t.publish(s, [ev('poison'), ev('fine')]);
      const c = await t.consumer(s, { name: 'reader', ackWaitMs: ACK_WAIT, maxDeliveries: 2 });
      const counts: number[] = [];
      const end = Date.now() + 5000;
      while (Date.now() < end && (await t.status(s)).deadLetters === 0) {
        for (const d of await c.fetch(10, 200)) {
          if (d.id === 'fine') await d.ack();
          else counts.push(d.deliveryCount);
        }
      }
      expect(counts).toEqual([1, 2]);
      const dead = await t.deadLetters(s, 10);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ id: 'poison', key: 'poison', reason: 'max-deliveries', sequence: 1 });
      expect(untext.decode(dead[0]!.data)).toBe('body of poison');
      expect(await c.fetch(10, ACK_WAIT * 2)).toEqual([]);
      const status = await t.status(s);
      expect(status.consumers).toEqual([
        expect.objectContaining({ name: 'reader', pending: 0, inFlight: 0 }),
      ]);
    });

    it('takes the ack wait and maxDeliveries of the latest open of a consumer', async () => {
      const t = await setup();
      const s = await newStream(t, 2);
      await t.publish(s, [ev('only')]);
      const first = await t.consumer(s, { name: 'tuned', ackWaitMs: 60_000, maxDeliveries: 5 });
      await first.close();
      const c = await t.consumer(s, { name: 'tuned', ackWaitMs: ACK_WAIT, maxDeliveries: 1 });
      const [d] = await collect(c, 1);
      expect(d?.deliveryCount).toBe(1);
      // Not acked: with one delivery allowed and a short ack wait, it is dead-lettered soon.
      const end = Date.now() + 5000;
      while ((await t.status(s)).deadLetters === 0 && Date.now() < end) {
        expect(await c.fetch(10, 100)).toEqual([]);
      }
      expect((await t.deadLetters(s, 10)).map((x) => [x.id, x.reason])).toEqual([['only', 'max-deliveries']]);
    });

    it('deadLetter() moves a delivery out of processing, newest first in deadLetters()', async () => {
      const t = await setup();
      const s = await newStream(t);
      await t.publish(s, [ev('one'), ev('two'), ev('three')]);
      const c = await t.consumer(s, { name: 'reader', ackWaitMs: ACK_WAIT });
      const got = await collect(c, 3);
      await t.deadLetter(s, got[0]!, 'schema: missing field');
      await t.deadLetter(s, got[2]!, 'not JSON');
      await got[1]!.ack();
      expect(await c.fetch(10, ACK_WAIT * 2)).toEqual([]);
      const dead = await t.deadLetters(s, 10);
      expect(dead.map((d) => [d.id, d.reason, d.sequence])).toEqual([
        ['three', 'not JSON', 3],
        ['one', 'schema: missing field', 1],
      ]);
      expect(dead[0]!.atMs).toBeGreaterThanOrEqual(dead[1]!.atMs);
      expect(await t.deadLetters(s, 1)).toHaveLength(1);
      expect((await t.status(s)).deadLetters).toBe(2);
    });

    it('keeps a consumer position across a close and a new transport', async () => {
      const t = await setup();
      const s = await newStream(t, 2);
      await t.publish(
        s,
        Array.from({ length: 8 }, (_, i) => ev(`e${i}`, `k${i}`)),
      );
      const c = await t.consumer(s, { name: 'durable', ackWaitMs: ACK_WAIT });
      const got = await collect(c, 5);
      expect(got).toHaveLength(5);
      const unacked = got[4]!;
      await Promise.all(got.slice(0, 4).map((d) => d.ack()));
      await c.close();
      await t.close();

      const t2 = await reopen();
      const c2 = await t2.consumer(s, { name: 'durable', ackWaitMs: ACK_WAIT });
      // Acked as they come, so only the event left unacked before the close can come back.
      const rest: Delivery[] = [];
      const end = Date.now() + 5000;
      while (rest.length < 4 && Date.now() < end) {
        const batch = await c2.fetch(4 - rest.length, 500);
        await Promise.all(batch.map((d) => d.ack()));
        rest.push(...batch);
      }
      const all = [...got.slice(0, 4), ...rest];
      expect(ids(all).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `e${i}`));
      expect(rest.find((d) => d.id === unacked.id)?.deliveryCount).toBe(2);
      expect(await c2.fetch(10, ACK_WAIT + 100)).toEqual([]);
      expect((await t2.status(s)).consumers).toEqual([
        expect.objectContaining({ name: 'durable', pending: 0, inFlight: 0, deliveredSequence: 8 }),
      ]);
    });

    it('starts a new consumer at a sequence or a time, and only when it is first created', async () => {
      const t = await setup();
      const s = await newStream(t, 3);
      await t.publish(
        s,
        ['a', 'b', 'c', 'd', 'e'].map((id) => ev(id)),
      );
      await sleep(30);
      const cut = Date.now();
      await sleep(30);
      await t.publish(s, [ev('f'), ev('g')]);

      const bySeq = await t.consumer(s, { name: 'from3', ackWaitMs: 5000, startAt: { sequence: 3 } });
      const fromSeq = await collect(bySeq, 5);
      expect(ids(fromSeq).sort()).toEqual(['c', 'd', 'e', 'f', 'g']);
      expect(await bySeq.fetch(10, 50)).toEqual([]);

      const byTime = await t.consumer(s, { name: 'fromtime', ackWaitMs: 5000, startAt: { timeMs: cut } });
      const fromTime = await collect(byTime, 2);
      expect(ids(fromTime).sort()).toEqual(['f', 'g']);
      await Promise.all(fromTime.map((d) => d.ack()));

      // Opening it again with another start keeps its position.
      const again = await t.consumer(s, { name: 'fromtime', ackWaitMs: 5000, startAt: { sequence: 1 } });
      expect(await again.fetch(10, 100)).toEqual([]);
    });

    it('resetConsumer replays from the start given at the next open', async () => {
      const t = await setup();
      const s = await newStream(t, 2);
      await t.publish(
        s,
        Array.from({ length: 6 }, (_, i) => ev(`e${i}`, `k${i}`)),
      );
      const c = await t.consumer(s, { name: 'replay', ackWaitMs: ACK_WAIT });
      await Promise.all((await collect(c, 6)).map((d) => d.ack()));
      expect(await c.fetch(10, 50)).toEqual([]);
      await c.close();

      await t.resetConsumer(s, 'replay');
      expect((await t.status(s)).consumers).toEqual([]);
      const c2 = await t.consumer(s, { name: 'replay', ackWaitMs: ACK_WAIT });
      const all = await collect(c2, 6);
      expect(ids(all).sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
      expect(all.every((d) => d.deliveryCount === 1)).toBe(true);
      await Promise.all(all.map((d) => d.ack()));
      await c2.close();

      await t.resetConsumer(s, 'replay');
      const c3 = await t.consumer(s, { name: 'replay', ackWaitMs: ACK_WAIT, startAt: { sequence: 5 } });
      expect(ids(await collect(c3, 2)).sort()).toEqual(['e4', 'e5']);
      // Resetting a consumer that does not exist is not an error.
      await t.resetConsumer(s, 'never-made');
    });

    it('reports events, sequences, and per consumer the pending, in-flight and delivered', async () => {
      const t = await setup();
      const s = await newStream(t, 2);
      const empty = await t.status(s);
      expect(empty).toMatchObject({ name: s, partitions: 2, events: 0, lastSequence: 0, deadLetters: 0 });
      expect(empty.consumers).toEqual([]);
      await t.publish(
        s,
        Array.from({ length: 10 }, (_, i) => ev(`e${i}`, `k${i}`)),
      );
      const c = await t.consumer(s, { name: 'lagging', ackWaitMs: 5000 });
      let status = await t.status(s);
      expect(status).toMatchObject({ events: 10, firstSequence: 1, lastSequence: 10 });
      expect(status.consumers).toEqual([{ name: 'lagging', pending: 10, inFlight: 0, deliveredSequence: 0 }]);
      const got = await collect(c, 4);
      status = await t.status(s);
      expect(status.consumers[0]).toMatchObject({ name: 'lagging', pending: 10, inFlight: 4 });
      expect(status.consumers[0]!.deliveredSequence).toBe(Math.max(...got.map((d) => d.sequence)));
      await Promise.all(got.map((d) => d.ack()));
      status = await t.status(s);
      expect(status.consumers[0]).toMatchObject({ pending: 6, inFlight: 0 });
    });

    it('shares a stream between two consumers of one name on disjoint partitions', async () => {
      const t = await setup();
      const t2 = await reopen();
      const s = await newStream(t, 4);
      const events = Array.from({ length: 120 }, (_, i) => ev(`e${i}`, `key-${i}`));
      await t.publish(s, events);
      const a = await t.consumer(s, { name: 'workers', partitions: [0, 1], ackWaitMs: 5000 });
      const b = await t2.consumer(s, { name: 'workers', partitions: [3, 2], ackWaitMs: 5000 });
      const expectedA = events.filter((e) => partitionOf(e.key, 4) < 2).length;
      const run = async (c: StreamConsumer, n: number) => {
        const got = await collect(c, n);
        await Promise.all(got.map((d) => d.ack()));
        return got;
      };
      const [gotA, gotB] = await Promise.all([run(a, expectedA), run(b, 120 - expectedA)]);
      expect(gotA.every((d) => d.partition < 2)).toBe(true);
      expect(gotB.every((d) => d.partition >= 2)).toBe(true);
      expect(new Set([...ids(gotA), ...ids(gotB)]).size).toBe(120);
      expect(gotA.length + gotB.length).toBe(120);
      expect(await a.fetch(10, 50)).toEqual([]);
      expect((await t.status(s)).consumers).toEqual([
        expect.objectContaining({ name: 'workers', pending: 0, inFlight: 0 }),
      ]);
    });

    it('refuses an event over maxEventBytes, storing nothing of the batch', async () => {
      const t = await setup();
      const s = await newStream(t, 1, { maxEventBytes: 1024 });
      const fits = { id: 'fits', key: 'k', data: new Uint8Array(1024).fill(7) };
      const big = { id: 'big', key: 'k', data: new Uint8Array(1025) };
      const error = await expectFerryError(t.publish(s, [fits, big]), 'FERRY_STREAM_EVENT_TOO_LARGE', 413);
      expect(error.details).toMatchObject({ index: 1, limit: 1024 });
      expect((await t.status(s)).events).toBe(0);
      await t.publish(s, [fits]);
      const c = await t.consumer(s, { name: 'reader', ackWaitMs: ACK_WAIT });
      const [got] = await collect(c, 1);
      expect(got?.data).toEqual(fits.data);
      await expectFerryError(
        t.publish(s, [{ id: '', key: 'k', data: new Uint8Array(1) }]),
        'FERRY_STREAM_EVENT_INVALID',
      );
      await expectFerryError(
        t.publish(s, [{ id: 'a\u0000b', key: 'k', data: new Uint8Array(1) }]),
        'FERRY_STREAM_EVENT_INVALID',
      );
    });

    it('answers an unknown stream with FERRY_STREAM_NOT_FOUND and a bad name or config with FERRY_STREAM_INVALID', async () => {
      const t = await setup();
      const s = await newStream(t, 2);
      const missing = `missing${randomUUID().slice(0, 8)}`;
      const notFound = await expectFerryError(t.publish(missing, [ev('a')]), 'FERRY_STREAM_NOT_FOUND', 404);
      expect(notFound.message).toContain(missing);
      await expectFerryError(t.consumer(missing, { name: 'c' }), 'FERRY_STREAM_NOT_FOUND');
      await expectFerryError(t.status(missing), 'FERRY_STREAM_NOT_FOUND');
      await expectFerryError(t.deadLetters(missing, 5), 'FERRY_STREAM_NOT_FOUND');
      await expectFerryError(t.resetConsumer(missing, 'c'), 'FERRY_STREAM_NOT_FOUND');
      expect(await t.listStreams()).not.toContain(missing);

      await expectFerryError(t.publish('Bad.Name', [ev('a')]), 'FERRY_STREAM_INVALID', 400);
      await expectFerryError(t.ensureStream({ name: 'bad name' }), 'FERRY_STREAM_INVALID');
      await expectFerryError(t.ensureStream({ name: s, partitions: 3 }), 'FERRY_STREAM_INVALID');
      await expectFerryError(t.ensureStream({ name: 'ok', partitions: 0 }), 'FERRY_STREAM_INVALID');
      await expectFerryError(t.consumer(s, { name: 'c', partitions: [2] }), 'FERRY_STREAM_INVALID');
      await expectFerryError(t.consumer(s, { name: 'Not Valid' }), 'FERRY_STREAM_INVALID');
      // The same config again, or none of the fixed fields, is accepted.
      await t.ensureStream({ name: s, partitions: 2 });
      await t.ensureStream({ name: s });
      expect((await t.status(s)).partitions).toBe(2);
    });
  });
}
