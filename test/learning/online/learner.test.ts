import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../src/learning/online/checkpoint-store.js';
import { readLearnerStatus } from '../../../src/learning/online/learner.js';
import { figures } from '../../../src/learning/online/progressive-window.js';
import { OnlineTextClassifier } from '../../../src/model/kinds/online-text/online-text-classifier.js';
import type { Delivery, EventStream, StreamConsumer } from '../../../src/ports/event-stream.js';
import { weightedMetrics } from '../../../src/train/metrics.js';
import { drive, type Harness, harness } from './harness.js';
import { toyExamples } from './toy.js';

const MODEL = 'toy';
const PARAMS = { bits: 14 };
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Counts every id a checkpoint made durable, across learners (restarts). */
function idCounter() {
  const counts = new Map<string, number>();
  return {
    onCheckpoint: (ids: readonly string[]) => {
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    },
    counts,
  };
}

describe('OnlineLearner on the embedded log', () => {
  it('progressive validation: each label predicted before it is learned; window figures as computed by hand', async () => {
    h = await harness();
    const examples = toyExamples(0, 40);
    await h.publish(MODEL, examples, 0);
    const learner = h.learner({
      model: MODEL,
      window: 25,
      checkpointEvery: 1000,
      params: PARAMS,
      snapshotEvery: 1000,
    });
    await learner.init();
    await drive(learner, () => learner.status().learned === 40);
    // The same examples through a fresh model, in order: its answers before each update.
    const reference = OnlineTextClassifier.create(PARAMS);
    const answers = examples.map((e) => reference.learnOne(e, e.label).predicted ?? '');
    expect(answers[0]).toBe('');
    const last = examples.slice(-25).map((e) => e.label);
    const lastAnswers = answers.slice(-25);
    const status = learner.status();
    expect(status.progressive.labels).toBe(25);
    expect(status.progressive.accuracy).toBeCloseTo(
      lastAnswers.filter((a, i) => a === last[i]).length / 25,
      12,
    );
    expect(status.progressive.weightedF1).toBeCloseTo(
      weightedMetrics(last, lastAnswers, [...new Set([...last, ...lastAnswers])].sort()).f1,
      12,
    );
    // Over the first labels the learner was still wrong sometimes; the figures say so.
    expect(
      figures(
        examples.map((e) => e.label),
        answers,
      ).accuracy,
    ).toBeLessThan(1);
    expect(
      Buffer.from(learner.learnedModel.toCheckpoint()).equals(Buffer.from(reference.toCheckpoint())),
    ).toBe(true);
    await learner.close();
  });

  it('checkpoint round trip: a restarted learner has the same weights, counters and window', async () => {
    h = await harness();
    await h.publish(MODEL, toyExamples(0, 60), 0);
    const a = h.learner({ model: MODEL, window: 30, checkpointEvery: 25, params: PARAMS });
    await a.init();
    await drive(a, () => a.status().learned === 60);
    await a.close();
    const b = h.learner({ model: MODEL, window: 30, params: PARAMS });
    await b.init();
    expect(
      Buffer.from(b.learnedModel.toCheckpoint()).equals(Buffer.from(a.learnedModel.toCheckpoint())),
    ).toBe(true);
    expect(b.status()).toEqual(a.status());
    const stored = await readLearnerStatus(h.sql, MODEL);
    expect(stored?.status.learned).toBe(60);
    expect(stored?.status.progressive).toEqual(a.status().progressive);
    await b.close();
  });

  it('killed mid-stream (closed without ack): the restart learns every label exactly once', async () => {
    h = await harness();
    const N = 300;
    await h.publish(MODEL, toyExamples(0, N), 0);
    const counter = idCounter();
    const settings = {
      model: MODEL,
      checkpointEvery: 50,
      checkpointEveryMs: 60_000,
      ackWaitMs: 400,
      fetchMax: 25,
      params: PARAMS,
    };
    const a = h.learner(settings, { onCheckpoint: counter.onCheckpoint });
    await a.init();
    // 100 committed, then more learned but never committed nor acked: the crash.
    await drive(a, () => a.status().learned >= 120);
    expect(a.status().learned).toBeLessThan(150);
    await a.abandon();
    const committedBefore = [...counter.counts.keys()].length;
    expect(committedBefore).toBe(100);
    const b = h.learner(settings, { onCheckpoint: counter.onCheckpoint });
    await b.init();
    // It restarts from the checkpoint: what A learned after it is gone with A.
    expect(b.status().learned).toBe(100);
    await drive(
      b,
      async () => (await new CheckpointStore(h!.sql).learnedCount(MODEL)) === N || b.status().learned === N,
    );
    await b.close();
    expect(counter.counts.size).toBe(N);
    expect([...counter.counts.values()].every((n) => n === 1)).toBe(true);
    for (let i = 0; i < N; i++) expect(counter.counts.get(`label-${i}`)).toBe(1);
    expect(b.learnedModel.updates).toBe(N);
    expect(await new CheckpointStore(h.sql).learnedCount(MODEL)).toBe(N);
  });

  it('a crash between the commit and the acks: the redeliveries are recognised and not learned again', async () => {
    h = await harness();
    await h.publish(MODEL, toyExamples(0, 80), 0);
    const settings = { model: MODEL, checkpointEvery: 40, ackWaitMs: 300, params: PARAMS };
    // A's acks are lost (as when the process dies right after the commit).
    const a = h.learner(settings, { stream: withoutAcks(h.openStream()) });
    await a.init();
    await drive(a, () => a.status().learned === 80);
    await a.close();
    const b = h.learner(settings);
    await b.init();
    await drive(b, () => b.status().duplicates === 80);
    expect(b.status().learned).toBe(80);
    expect(b.learnedModel.updates).toBe(80);
    await b.close();
  });

  it('skips other models, dead-letters malformed events, and replays nothing twice after a reset', async () => {
    h = await harness();
    await h.publish(MODEL, toyExamples(0, 20), 0);
    await h.publish('other-model', toyExamples(0, 5), 100);
    const s = h.openStream();
    await s.init();
    await s.publish('feedback', [
      { id: 'bad-1', key: MODEL, data: new TextEncoder().encode('{"model":"toy"}') },
    ]);
    const a = h.learner({ model: MODEL, checkpointEvery: 10, params: PARAMS });
    await a.init();
    await drive(
      a,
      () => a.status().learned === 20 && a.status().otherModels === 5 && a.status().invalid === 1,
    );
    await a.close();
    expect((await s.deadLetters('feedback', 10)).map((d) => d.id)).toEqual(['bad-1']);
    // A replay of the whole stream (consumer reset): every label is known, none learned again.
    await s.resetConsumer('feedback', 'online-toy');
    const b = h.learner({ model: MODEL, checkpointEvery: 10, params: PARAMS });
    await b.init();
    await drive(b, () => b.status().duplicates === 20);
    expect(b.status().learned).toBe(20);
    await b.close();
  });
});

/** The transport with every ack swallowed. */
function withoutAcks(stream: EventStream): EventStream {
  return new Proxy(stream, {
    get(target, prop, receiver) {
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<EventStream['consumer']>): Promise<StreamConsumer> => {
        const consumer = await target.consumer(...args);
        return {
          fetch: async (max, waitMs) =>
            (await consumer.fetch(max, waitMs)).map(
              (d): Delivery => ({ ...d, ack: async () => {}, nak: d.nak }),
            ),
          close: () => consumer.close(),
        };
      };
    },
  });
}
