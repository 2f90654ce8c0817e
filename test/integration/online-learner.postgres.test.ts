/**
 * The online learner with its checkpoints, learned ids, decisions and the registry in PostgreSQL (a
 * schema of the test's own), over the embedded log: the same SQL as on SQLite.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/learning/online/checkpoint-store.js';
import { readLearnerStatus } from '../../src/learning/online/learner.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import { drive, type Harness, harness } from '../learning/online/harness.js';
import { toyExamples } from '../learning/online/toy.js';

const MODEL = 'toy';
let h: Harness | undefined;
let schema: string | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
  if (schema !== undefined) await dropSchemas(schema);
  schema = undefined;
});

describe('online learner on PostgreSQL', () => {
  it('killed mid-stream: resumes from the checkpoint, each label learned once; snapshots and decisions stored', async () => {
    schema = freshSchema();
    const sql = pgClient(schema);
    await sql.init();
    h = await harness(undefined, sql);
    const N = 200;
    await h.publish(MODEL, toyExamples(0, N), 0);
    const counts = new Map<string, number>();
    const onCheckpoint = (ids: readonly string[]) => {
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    };
    const settings = {
      model: MODEL,
      window: 20,
      snapshotEvery: 60,
      checkpointEvery: 30,
      checkpointEveryMs: 60_000,
      fetchMax: 15,
      ackWaitMs: 400,
      params: { bits: 14 },
    };
    const a = h.learner(settings, { onCheckpoint });
    await a.init();
    await drive(a, () => a.status().learned >= 75);
    await a.abandon();
    expect(counts.size).toBe(60);
    const b = h.learner(settings, { onCheckpoint });
    await b.init();
    await drive(b, () => b.status().learned === N, 60_000);
    await b.close();
    expect(counts.size).toBe(N);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(await new CheckpointStore(sql).learnedCount(MODEL)).toBe(N);
    const stored = await readLearnerStatus(sql, MODEL);
    expect(stored?.status.learned).toBe(N);
    // Snapshots at 60 (A's), then B's at 120 and 180 (A's second one was lost with it).
    const versions = await h.registry.list(MODEL);
    expect(versions.map((v) => v.kind)).toEqual(Array(versions.length).fill('online-text-classifier'));
    expect(stored?.decisions.map((d) => d.action).reverse()[0]).toBe('promote');
    expect(stored?.decisions.length).toBe(versions.length);
  });
});
