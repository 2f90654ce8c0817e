import { afterEach, describe, expect, it } from 'vitest';
import type {
  PredictionLogItem,
  PredictionLogRecord,
  PredictionLogSink,
} from '../../src/ports/prediction-log-sink.js';

export interface PredictionLogHarness {
  sink: PredictionLogSink;
  readAll(): Promise<PredictionLogRecord[]>;
  dispose(): Promise<void>;
}

export function item(i: number, overrides: Partial<PredictionLogItem> = {}): PredictionLogItem {
  return {
    title: `title ${i}`,
    description: `description ${i}`,
    prediction: 'mlops',
    probabilities: { mlops: 0.75, other: 0.25 },
    source: i % 3 === 0 ? 'cache' : 'model',
    ...overrides,
  };
}

/** A request's record; `items` items (default 1), request-level fields once. */
export function record(
  i: number,
  overrides: Partial<PredictionLogRecord> = {},
  items = 1,
): PredictionLogRecord {
  const list = Array.from({ length: items }, (_, k) => item(i * 10 + k));
  return {
    requestId: `req-${i}`,
    at: new Date(Date.UTC(2026, 10, 29, 12, 0, i % 60)).toISOString(),
    model: 'tagifai',
    version: 1 + (i % 2),
    latencyMs: 0.5 + i,
    items: list,
    itemCount: list.length,
    ...overrides,
  };
}

/** One suite for every PredictionLogSink: what goes in comes back, in order, nothing lost or doubled. */
export function predictionLogSinkConformance(name: string, make: () => Promise<PredictionLogHarness>): void {
  describe(`PredictionLogSink conformance: ${name}`, () => {
    let h: PredictionLogHarness | undefined;
    afterEach(async () => {
      await h?.dispose();
      h = undefined;
    });

    it('writes records that read back equal, in order', async () => {
      h = await make();
      await h.sink.init();
      const records = Array.from({ length: 5 }, (_, i) => record(i));
      await h.sink.write(records.slice(0, 2));
      await h.sink.write(records.slice(2));
      expect(await h.readAll()).toEqual(records);
    });

    it('keeps the optional unit, experiment and arm, and odd text (quotes, SQL, unicode, newlines)', async () => {
      h = await make();
      await h.sink.init();
      const odd = record(7, {
        unit: "user-'17",
        experiment: 'exp-1',
        arm: 'treatment',
        items: [
          item(1, {
            title: `Robert'); DROP TABLE ferry_prediction_requests;--`,
            description: 'naïve\nbayes "quoted" 日本語',
          }),
        ],
      });
      await h.sink.write([odd]);
      expect(await h.readAll()).toEqual([odd]);
    });

    it('stores request-level fields once: a request of many items is one record', async () => {
      h = await make();
      await h.sink.init();
      const many = record(3, { unit: 'u'.repeat(256), truncated: true }, 50);
      many.itemCount = 80;
      await h.sink.write([many]);
      expect(await h.readAll()).toEqual([many]);
    });

    it('handles large batches in one write (chunked inserts)', async () => {
      h = await make();
      await h.sink.init();
      const many = Array.from({ length: 1234 }, (_, i) => record(i));
      await h.sink.write(many);
      const back = await h.readAll();
      expect(back).toHaveLength(1234);
      expect(back[1233]).toEqual(many[1233]);
    });

    it('init is idempotent and keeps what was written', async () => {
      h = await make();
      await h.sink.init();
      await h.sink.write([record(1)]);
      await h.sink.init();
      expect(await h.readAll()).toHaveLength(1);
    });
  });
}
