import { afterEach, describe, expect, it } from 'vitest';
import type { PredictionLogRecord, PredictionLogSink } from '../../src/ports/prediction-log-sink.js';

export interface PredictionLogHarness {
  sink: PredictionLogSink;
  readAll(): Promise<PredictionLogRecord[]>;
  dispose(): Promise<void>;
}

export function record(i: number, overrides: Partial<PredictionLogRecord> = {}): PredictionLogRecord {
  return {
    requestId: `req-${i}`,
    at: new Date(Date.UTC(2026, 10, 29, 12, 0, i % 60)).toISOString(),
    model: 'tagifai',
    version: 1 + (i % 2),
    title: `title ${i}`,
    description: `description ${i}`,
    prediction: 'mlops',
    probabilities: { mlops: 0.75, other: 0.25 },
    latencyMs: 0.5 + i,
    source: i % 3 === 0 ? 'cache' : 'model',
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

    it('keeps the optional unit and odd text (quotes, SQL, unicode, newlines)', async () => {
      h = await make();
      await h.sink.init();
      const odd = record(7, {
        unit: "user-'17",
        title: `Robert'); DROP TABLE ferry_prediction_log;--`,
        description: 'naïve\nbayes "quoted" 日本語',
      });
      await h.sink.write([odd]);
      expect(await h.readAll()).toEqual([odd]);
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
