import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../src/learning/online/checkpoint-store.js';
import { decideFallback, decidePromotion } from '../../../src/learning/online/guardrails.js';
import { ProgressiveWindow } from '../../../src/learning/online/progressive-window.js';
import { OnlineTextClassifier } from '../../../src/model/kinds/online-text/online-text-classifier.js';
import { registerArtifact } from '../../../src/registry/register-artifact.js';
import { drive, type Harness, harness, KIND_CONTEXT } from './harness.js';
import { type ToyExample, toyExamples } from './toy.js';

const MODEL = 'toy';
const PARAMS = { bits: 14 };
/** The same texts, the labels swapped: what the world says after the drift. */
const SWAPPED = { cats: 'cars', cars: 'cats' } as const;
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function registerTrainedOn(examples: readonly ToyExample[], alias: string): Promise<number> {
  const m = OnlineTextClassifier.create(PARAMS);
  for (const e of examples) m.learnOne(e, e.label);
  const v = await registerArtifact(
    h!.registry,
    MODEL,
    m.toArtifact(),
    { kind: 'online-text-classifier' },
    KIND_CONTEXT,
  );
  await h!.registry.setAlias(MODEL, alias, v.version, 'test');
  return v.version;
}

const SETTINGS = {
  model: MODEL,
  window: 20,
  margin: 0.01,
  snapshotEvery: 40,
  checkpointEvery: 10,
  fetchMax: 10,
  params: PARAMS,
};

describe('guardrails: pure decisions', () => {
  const entry = (label: string, learner: string, prod: string, prev?: string) => ({
    label,
    learner,
    versions: [[1, prod] as const, ...(prev !== undefined ? [[2, prev] as const] : [])],
  });

  it('promotes only a gain over production larger than the margin, on enough shared labels', () => {
    const w = new ProgressiveWindow(4);
    for (const e of [entry('a', 'a', 'a'), entry('b', 'b', 'a'), entry('a', 'a', 'a'), entry('b', 'b', 'b')])
      w.push(e);
    const d = decidePromotion(w, 1, { margin: 0.01, minLabels: 4 });
    expect(d.promote).toBe(true);
    expect(d.learner.weightedF1).toBe(1);
    expect(d.production!.accuracy).toBe(0.75);
    expect(decidePromotion(w, 1, { margin: 0.5, minLabels: 4 }).promote).toBe(false);
    expect(decidePromotion(w, 1, { margin: 0.01, minLabels: 5 }).promote).toBe(false);
    // Labels production never answered do not count as shared.
    expect(decidePromotion(w, 7, { margin: 0, minLabels: 1 }).reason).toMatch(/only 0 labels/);
  });

  it('falls back when the serving version loses more than the margin to the one it replaced', () => {
    const w = new ProgressiveWindow(3);
    for (const e of [entry('a', 'a', 'b', 'a'), entry('b', 'b', 'b', 'b'), entry('a', 'a', 'b', 'a')])
      w.push(e);
    const d = decideFallback(w, 1, 2, { margin: 0.01, minLabels: 3 });
    expect(d.fallBack).toBe(true);
    expect(d.previous.accuracy).toBe(1);
    expect(d.serving.accuracy).toBeCloseTo(1 / 3, 12);
    expect(decideFallback(w, 2, 1, { margin: 0.01, minLabels: 3 }).fallBack).toBe(false);
  });
});

describe('guardrails: the learner on a registry', () => {
  it('a better snapshot is promoted, then falls back when it degrades against the version it replaced', async () => {
    h = await harness();
    const v1 = await registerTrainedOn(toyExamples(1000, 100), 'production');
    // The world changes: the learner sees the swapped labels, production (v1) is wrong on all of them.
    await h.publish(MODEL, toyExamples(0, 40, ['cats', 'cars'], SWAPPED), 0);
    const logged: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const learner = h.learner(SETTINGS, { log: (message, fields) => logged.push({ message, fields }) });
    await learner.init();
    await drive(learner, async () => (await h!.registry.aliases(MODEL)).production !== v1);
    const v2 = (await h.registry.aliases(MODEL)).production!;
    expect(v2).toBe(v1 + 1);
    const snapshot = await h.registry.resolve(`${MODEL}/${v2}`);
    expect(snapshot.kind).toBe('online-text-classifier');
    expect((snapshot.metrics.progressive as { labels: number }).labels).toBe(20);
    // The world changes back: the snapshot (v2) is now wrong, v1 right; v1 still answers every label.
    await h.publish(MODEL, toyExamples(100, 20), 100);
    await drive(learner, async () => (await h!.registry.aliases(MODEL)).production === v1);
    const decisions = await new CheckpointStore(h.sql).decisions(MODEL, 10);
    expect(decisions.map((d) => [d.action, d.version])).toEqual([
      ['fallback', v1],
      ['promote', v2],
    ]);
    const fallback = decisions[0]!.detail as {
      serving: { weightedF1: number };
      previous: { weightedF1: number };
    };
    expect(fallback.previous.weightedF1).toBe(1);
    expect(fallback.serving.weightedF1).toBe(0);
    const history = await h.registry.aliasHistory(MODEL, 'production');
    const back = history.find((e) => e.fromVersion === v2 && e.toVersion === v1);
    expect(back?.reason).toMatch(
      /^online learner fallback: serving 2 weighted F1 0.0000 fell below version 1's 1.0000/,
    );
    expect(logged.map((l) => l.message)).toEqual(['online learner promote', 'online learner fallback']);
    expect(logged[0]!.fields).toMatchObject({
      model: MODEL,
      version: v2,
      production: { labels: 20, weightedF1: 0 },
    });
    await learner.close();
  });

  it('a snapshot that does not beat production by the margin is only the candidate', async () => {
    h = await harness();
    const v1 = await registerTrainedOn(toyExamples(1000, 200), 'production');
    await h.publish(MODEL, toyExamples(0, 40), 0);
    const learner = h.learner(SETTINGS);
    await learner.init();
    await drive(learner, async () => (await h!.registry.list(MODEL)).length === 2);
    const aliases = await h.registry.aliases(MODEL);
    expect(aliases).toEqual({ production: v1, candidate: v1 + 1 });
    const [decision] = await new CheckpointStore(h.sql).decisions(MODEL, 1);
    expect(decision?.action).toBe('candidate');
    expect(decision?.detail.reason).toMatch(/does not beat production's 1.0000/);
    await learner.close();
  });

  it('with no production yet, the first snapshot with a full window becomes production', async () => {
    h = await harness();
    await h.publish(MODEL, toyExamples(0, 40), 0);
    const learner = h.learner(SETTINGS);
    await learner.init();
    await drive(learner, async () => (await new CheckpointStore(h!.sql).decisions(MODEL, 1)).length === 1);
    expect((await h.registry.aliases(MODEL)).production).toBe(1);
    await learner.close();
  });
});
