import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PredictionStore } from '../../../src/batch/prediction-store.js';
import { FeedbackStore } from '../../../src/monitoring/feedback/feedback-store.js';
import type { PredictionLogRecord, TextLogItem } from '../../../src/ports/prediction-log-sink.js';
import type { SqlClient } from '../../../src/ports/sql.js';
import { SqlPredictionLog } from '../../../src/serving/prediction-log/sql-prediction-log.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';

const MODEL = 'tagifai';

function textItem(prediction: string, n = 0): TextLogItem {
  return {
    title: `title ${n}`,
    description: `description ${n}`,
    prediction,
    probabilities: { [prediction]: 0.9 },
    source: 'model',
  };
}

/** A logged request of `MODEL` answered by `version` with these top labels, one item each. */
export function logged(
  requestId: string,
  version: number,
  predictions: string[],
  at?: string,
): PredictionLogRecord {
  return {
    requestId,
    at: at ?? '2026-11-29T12:00:00.000Z',
    model: MODEL,
    version,
    latencyMs: 1,
    items: predictions.map((p, i) => textItem(p, i)),
    itemCount: predictions.length,
  };
}

export interface Fixture {
  sql: SqlClient;
  log: SqlPredictionLog;
  predictions: PredictionStore;
  store: FeedbackStore;
  /** The store's clock: set it to place labels in time. */
  clock: { now: Date };
}

/**
 * The feedback store's behaviour on a database (SQLite in unit tests, PostgreSQL in integration):
 * idempotency, conflicts, unmatched labels that match once the log row appears, entity labels.
 */
export function feedbackStoreSuite(
  name: string,
  open: () => Promise<{ sql: SqlClient; dispose(): Promise<void> }>,
) {
  describe(`FeedbackStore on ${name}`, () => {
    let f: Fixture;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      const opened = await open();
      dispose = opened.dispose;
      const { sql } = opened;
      const clock = { now: new Date('2026-12-01T10:00:00.000Z') };
      const log = new SqlPredictionLog(sql);
      const predictions = new PredictionStore({ sql });
      await log.init();
      await predictions.init();
      const store = new FeedbackStore({ sql, log, stored: predictions, now: () => clock.now });
      await store.init();
      await store.init(); // migrations run once
      f = { sql, log, predictions, store, clock };
    });
    afterEach(async () => dispose());

    it('stores a label once: the same label again is a duplicate, nothing new', async () => {
      await f.log.write([logged('r1', 1, ['mlops'])]);
      expect(await f.store.record(MODEL, [{ requestId: 'r1', item: 0, label: 'mlops' }])).toEqual({
        stored: 1,
        duplicates: 0,
        unmatched: 0,
      });
      f.clock.now = new Date('2026-12-01T11:00:00.000Z');
      expect(await f.store.record(MODEL, [{ requestId: 'r1', item: 0, label: 'mlops' }])).toEqual({
        stored: 0,
        duplicates: 1,
        unmatched: 0,
      });
      const rows = await f.sql.query<{ n: unknown; at: unknown }>(
        'SELECT COUNT(*) AS n, MIN(received_at) AS at FROM ferry_feedback',
      );
      expect(Number(rows[0]!.n)).toBe(1);
      // The first arrival's time is kept.
      expect(rows[0]!.at).toBe('2026-12-01T10:00:00.000Z');
    });

    it('a different label for the same prediction is a 409 and nothing of that request is stored', async () => {
      await f.store.record(MODEL, [{ requestId: 'r1', item: 0, label: 'mlops' }]);
      const e = await expectFerryError(
        f.store.record(MODEL, [
          { requestId: 'r2', item: 0, label: 'other' },
          { requestId: 'r1', item: 0, label: 'computer-vision' },
        ]),
        'FERRY_FEEDBACK_CONFLICT',
        409,
      );
      expect(e.details.conflicts).toEqual([
        { index: 1, request_id: 'r1', item: 0, label: 'computer-vision', existing: 'mlops' },
      ]);
      // r2 was rolled back with the conflict.
      expect(await f.store.countSince(MODEL, '2000-01-01T00:00:00.000Z')).toBe(1);
      // Two different labels for one key inside one body conflict too.
      await expectFerryError(
        f.store.record(MODEL, [
          { requestId: 'r9', item: 0, label: 'mlops' },
          { requestId: 'r9', item: 0, label: 'other' },
        ]),
        'FERRY_FEEDBACK_CONFLICT',
      );
    });

    it('items and models are part of the key; request ids and entity ids do not collide', async () => {
      const out = await f.store.record(MODEL, [
        { requestId: 'x', item: 0, label: 'a' },
        { requestId: 'x', item: 1, label: 'b' },
        { entityId: 'x', item: 0, label: 'c' },
        { requestId: 'x', item: 1, label: 'b' },
      ]);
      expect(out).toEqual({ stored: 3, duplicates: 1, unmatched: 3 });
      expect(await f.store.record('other-model', [{ requestId: 'x', item: 0, label: 'z' }])).toMatchObject({
        stored: 1,
      });
    });

    it('an item beyond the logged request is refused before anything is stored', async () => {
      await f.log.write([logged('r1', 1, ['mlops', 'other'])]);
      await expectFerryError(
        f.store.record(MODEL, [
          { requestId: 'r0', item: 0, label: 'mlops' },
          { requestId: 'r1', item: 2, label: 'mlops' },
        ]),
        'FERRY_FEEDBACK_INVALID',
        400,
      );
      expect(await f.store.countSince(MODEL, '2000-01-01T00:00:00.000Z')).toBe(0);
    });

    it('a label before its prediction is logged is unmatched, and matches once the row appears', async () => {
      expect(await f.store.record(MODEL, [{ requestId: 'late', item: 0, label: 'mlops' }])).toEqual({
        stored: 1,
        duplicates: 0,
        unmatched: 1,
      });
      expect(await f.store.labeled(MODEL, {})).toEqual({ matched: [], unmatched: 1 });
      await f.log.write([logged('late', 3, ['other'])]);
      const w = await f.store.labeled(MODEL, {});
      expect(w.unmatched).toBe(0);
      expect(w.matched).toEqual([
        {
          requestId: 'late',
          item: 0,
          version: 3,
          at: '2026-11-29T12:00:00.000Z',
          label: 'mlops',
          predicted: 'other',
          logged: textItem('other', 0),
        },
      ]);
    });

    it('a logged request of another model does not match', async () => {
      await f.log.write([{ ...logged('r1', 1, ['mlops']), model: 'else' }]);
      expect(await f.store.record(MODEL, [{ requestId: 'r1', item: 0, label: 'mlops' }])).toMatchObject({
        unmatched: 1,
      });
      expect((await f.store.labeled(MODEL, {})).unmatched).toBe(1);
    });

    it('labels by entity id join to the stored prediction', async () => {
      await f.predictions.upsertMany([
        {
          model: MODEL,
          entityId: 'project-7',
          version: 2,
          inputSha256: 'a'.repeat(64),
          outputs: {},
          prediction: 'computer-vision',
          probabilities: { 'computer-vision': 0.8, mlops: 0.2 },
          computedAt: '2026-11-30T00:00:00.000Z',
          jobId: 'job-1',
        },
      ]);
      expect(
        await f.store.record(MODEL, [
          { entityId: 'project-7', item: 0, label: 'mlops' },
          { entityId: 'project-8', item: 0, label: 'mlops' },
        ]),
      ).toEqual({ stored: 2, duplicates: 0, unmatched: 1 });
      const w = await f.store.labeled(MODEL, {});
      expect(w.unmatched).toBe(1);
      expect(w.matched).toHaveLength(1);
      expect(w.matched[0]).toMatchObject({
        requestId: '',
        entityId: 'project-7',
        version: 2,
        label: 'mlops',
        predicted: 'computer-vision',
        logged: { inputs: {} },
      });
    });

    it('labeled(): time range, version and the last N labels', async () => {
      await f.log.write([logged('a', 1, ['x']), logged('b', 2, ['y']), logged('c', 2, ['z'])]);
      for (const [id, at] of [
        ['a', '2026-12-01T10:00:00.000Z'],
        ['b', '2026-12-01T11:00:00.000Z'],
        ['c', '2026-12-01T12:00:00.000Z'],
      ] as const) {
        f.clock.now = new Date(at);
        await f.store.record(MODEL, [{ requestId: id, item: 0, label: 'x' }]);
      }
      const ids = async (range: Parameters<FeedbackStore['labeled']>[1]) =>
        (await f.store.labeled(MODEL, range)).matched.map((m) => m.requestId);
      expect(await ids({})).toEqual(['a', 'b', 'c']);
      expect(await ids({ since: '2026-12-01T11:00:00.000Z' })).toEqual(['b', 'c']);
      expect(await ids({ until: '2026-12-01T11:00:00.000Z' })).toEqual(['a']);
      expect(await ids({ version: 2 })).toEqual(['b', 'c']);
      expect(await ids({ last: 2 })).toEqual(['b', 'c']);
      expect(await ids({ last: 2, until: '2026-12-01T12:00:00.000Z' })).toEqual(['a', 'b']);
      expect(await f.store.countSince(MODEL, '2026-12-01T11:00:00.000Z')).toBe(2);
      expect(await f.store.countSince('nobody', '2000-01-01T00:00:00.000Z')).toBe(0);
    });

    it('joins thousands of labels in batches (more ids than one lookup holds)', async () => {
      const n = 6200;
      const records = Array.from({ length: n }, (_, i) => logged(`req-${i}`, 1 + (i % 2), ['mlops']));
      await f.log.write(records);
      const labels = records.map((r, i) => ({
        requestId: r.requestId,
        item: 0,
        label: i % 4 === 0 ? 'other' : 'mlops',
      }));
      labels.push({ requestId: 'missing', item: 0, label: 'mlops' });
      const out = await f.store.record(MODEL, labels);
      expect(out).toEqual({ stored: n + 1, duplicates: 0, unmatched: 1 });
      const w = await f.store.labeled(MODEL, {});
      expect(w.matched).toHaveLength(n);
      expect(w.unmatched).toBe(1);
      expect(w.matched.filter((m) => m.label === m.predicted)).toHaveLength(n - Math.ceil(n / 4));
    });
  });
}
