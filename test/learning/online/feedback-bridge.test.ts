import { afterEach, describe, expect, it } from 'vitest';
import { FeedbackBridge } from '../../../src/learning/online/feedback-bridge.js';
import { FeedbackStore } from '../../../src/monitoring/feedback/feedback-store.js';
import type { PredictionLogRecord } from '../../../src/ports/prediction-log-sink.js';
import { SqlPredictionLog } from '../../../src/serving/prediction-log/sql-prediction-log.js';
import { drive, type Harness, harness } from './harness.js';
import { toyExamples } from './toy.js';

const MODEL = 'toy';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** One logged text prediction per example, at increasing times. */
function textRecords(examples: ReturnType<typeof toyExamples>, first: number): PredictionLogRecord[] {
  return examples.map((e, k) => ({
    requestId: `req-${first + k}`,
    at: new Date(Date.UTC(2026, 11, 1, 0, 0, first + k)).toISOString(),
    model: MODEL,
    version: 1,
    latencyMs: 1,
    itemCount: 1,
    items: [
      {
        title: e.title,
        description: e.description,
        prediction: 'x',
        probabilities: { x: 1 },
        source: 'model',
      },
    ],
  }));
}

describe('FeedbackBridge: the feedback table as the learner stream', () => {
  it('publishes labeled text, skips what has no text, waits for unlogged predictions; the learner learns each label once across overlapping polls', async () => {
    h = await harness();
    const log = new SqlPredictionLog(h.sql);
    await log.init();
    const feedback = new FeedbackStore({ sql: h.sql, log });
    await feedback.init();
    const examples = toyExamples(0, 30);
    await log.write(textRecords(examples.slice(0, 20), 0));
    // A tensor model's prediction: labeled, but nothing a text learner can learn from.
    await log.write([
      {
        requestId: 'tensor-1',
        at: '2026-12-01T00:01:00.000Z',
        model: MODEL,
        version: 1,
        latencyMs: 1,
        itemCount: 1,
        items: [{ inputs: {}, outputs: {}, source: 'model' }],
      },
    ]);
    await feedback.record(MODEL, [
      ...examples.map((e, k) => ({ requestId: `req-${k}`, item: 0, label: e.label })),
      { requestId: 'tensor-1', item: 0, label: examples[0]!.label },
    ]);
    const stream = h.openStream();
    await stream.init();
    const bridge = new FeedbackBridge({ model: MODEL, streamName: 'feedback', feedback, stream });
    expect(await bridge.poll()).toEqual({ published: 20, skipped: 1, unmatched: 10 });
    // The other ten predictions are logged late: the next poll publishes them, and the 20 again.
    await log.write(textRecords(examples.slice(20), 20));
    expect(await bridge.poll()).toEqual({ published: 30, skipped: 1, unmatched: 0 });

    const learner = h.learner({
      model: MODEL,
      params: { bits: 14 },
      checkpointEvery: 5,
      snapshotEvery: 1000,
    });
    await learner.init();
    await drive(learner, () => learner.status().learned === 30);
    // Nothing more arrives: every label once, none twice.
    for (let i = 0; i < 5; i++) await learner.step();
    expect(learner.status().learned).toBe(30);
    await learner.close();
  });
});
