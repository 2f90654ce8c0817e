import { afterEach, describe, expect, it } from 'vitest';
import { profileSnapshots } from '../../../src/app/open-learner.js';
import { openProfileStore } from '../../../src/app/open-monitoring.js';
import { drive, type Harness, harness } from './harness.js';
import { toyExamples } from './toy.js';

const MODEL = 'toy';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('online snapshots get a reference profile', () => {
  it("from the learner's last answers, given before each label was learned: rows, labels, confidences in (0, 1]", async () => {
    h = await harness();
    await h.publish(MODEL, toyExamples(0, 60), 0);
    const learner = h.learner(
      { model: MODEL, window: 40, params: { bits: 14 }, snapshotEvery: 60, checkpointEvery: 1000 },
      { onSnapshot: profileSnapshots(h, MODEL) },
    );
    await learner.init();
    await drive(learner, () => learner.status().lastSnapshotVersion !== null);
    const version = learner.status().lastSnapshotVersion!;
    const profile = await (await openProfileStore(h)).get(MODEL, version);
    expect(profile).toMatchObject({ model: MODEL, version, rows: 40 });
    expect(profile?.labels?.count).toBe(40);
    expect(Object.keys(profile?.features ?? {})).toEqual(
      expect.arrayContaining(['text_length', 'token_count']),
    );
    const confidence = profile?.outputs.confidence;
    expect(confidence?.type).toBe('numeric');
    if (confidence?.type !== 'numeric') throw new Error('no confidence');
    expect(confidence.min).toBeGreaterThan(0);
    expect(confidence.max).toBeLessThanOrEqual(1);
    // Answers given before learning, not the snapshot's on the same rows (it has learned them, and
    // is at least as sure of them).
    const lastRows = toyExamples(0, 60).slice(-40);
    const snapshotMean =
      learner.learnedModel
        .predictBatch(lastRows)
        .reduce((sum, p) => sum + Math.max(...Object.values(p.probabilities)), 0) / lastRows.length;
    expect(confidence.mean).toBeLessThan(snapshotMean);
    expect(profile?.outputs.predicted_label?.type).toBe('categorical');
    await learner.close();
  });
});
