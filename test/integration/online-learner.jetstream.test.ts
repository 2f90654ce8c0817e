import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { JetStreamEventStream } from '../../src/adapters/nats/jetstream-event-stream.js';
import { CheckpointStore } from '../../src/learning/online/checkpoint-store.js';
import { deleteJetStreams } from '../helpers/nats-server.js';
import { drive, type Harness, harness } from '../learning/online/harness.js';
import { toyExamples } from '../learning/online/toy.js';

const NATS = process.env.FERRY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const MODEL = 'toy';
let h: Harness | undefined;
const streams: string[] = [];

afterEach(async () => {
  await h?.close();
  h = undefined;
  await deleteJetStreams(NATS, streams.splice(0));
});

describe('online learner on the real NATS JetStream', () => {
  it('restarted mid-stream (killed without acks): every label learned exactly once, none skipped', async () => {
    // A stream of the test's own on the shared server, removed afterwards.
    const stream = `online-${randomUUID().slice(0, 8)}`;
    streams.push(stream);
    h = await harness(() => new JetStreamEventStream({ url: NATS }));
    const N = 400;
    await h.publish(MODEL, toyExamples(0, 250), 0, stream);
    const counts = new Map<string, number>();
    const onCheckpoint = (ids: readonly string[]) => {
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    };
    const settings = {
      model: MODEL,
      stream,
      checkpointEvery: 50,
      checkpointEveryMs: 60_000,
      fetchMax: 25,
      ackWaitMs: 1500,
      params: { bits: 14 },
    };
    const a = h.learner(settings, { onCheckpoint });
    await a.init();
    await drive(a, () => a.status().learned >= 170);
    await a.abandon(); // the crash: 150 committed and acked, the rest learned, neither committed nor acked
    expect(counts.size).toBe(150);
    // Labels keep coming while the learner is down.
    await h.publish(MODEL, toyExamples(250, N - 250), 250, stream);
    const b = h.learner(settings, { onCheckpoint });
    await b.init();
    expect(b.status().learned).toBe(150);
    const store = new CheckpointStore(h.sql);
    await drive(b, async () => b.status().learned === N, 60_000);
    await b.close();
    expect(await store.learnedCount(MODEL)).toBe(N);
    expect(counts.size).toBe(N);
    for (let i = 0; i < N; i++) expect(counts.get(`label-${i}`), `label-${i}`).toBe(1);
    expect(b.learnedModel.updates).toBe(N);
    // Nothing left for the consumer: the stream's status shows every label acked.
    const transport = h.openStream();
    await transport.init();
    const status = await transport.status(stream);
    expect(status.consumers.find((c) => c.name === 'online-toy')?.pending).toBe(0);
  });
});
