import { afterEach, describe, expect, it } from 'vitest';
import type { PredictionLogReader } from '../../src/ports/prediction-log-reader.js';
import type { PredictionLogRecord, PredictionLogSink } from '../../src/ports/prediction-log-sink.js';
import { record } from './prediction-log-sink.conformance.js';

export interface PredictionLogReaderHarness {
  log: PredictionLogSink & PredictionLogReader;
  dispose(): Promise<void>;
}

const at = (second: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, second)).toISOString();

/** Reading the log back, as monitoring and feedback do: ranges, pages, counts, lookups by id. */
export function predictionLogReaderConformance(
  name: string,
  make: () => Promise<PredictionLogReaderHarness>,
): void {
  describe(`PredictionLogReader conformance: ${name}`, () => {
    let h: PredictionLogReaderHarness | undefined;
    afterEach(async () => {
      await h?.dispose();
      h = undefined;
    });

    async function seeded(): Promise<PredictionLogRecord[]> {
      h = await make();
      await h.log.init();
      // Two records share each second, so the cursor must break ties by request id.
      const records = Array.from({ length: 30 }, (_, i) =>
        record(i, { at: at(Math.floor(i / 2)), requestId: `r-${String(29 - i).padStart(2, '0')}` }),
      );
      records.push(record(99, { model: 'other', at: at(3) }));
      await h.log.write(records);
      return records;
    }

    it('pages through a range in (time, request id) order, each record once, other models left out', async () => {
      const records = await seeded();
      const seen: PredictionLogRecord[] = [];
      let after: { at: string; requestId: string } | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await h!.log.read({ model: 'tagifai', limit: 7, ...(after ? { after } : {}) });
        seen.push(...page.records);
        if (!page.next) break;
        after = page.next;
      }
      const expected = records
        .filter((r) => r.model === 'tagifai')
        .sort((a, b) => a.at.localeCompare(b.at) || a.requestId.localeCompare(b.requestId));
      expect(seen).toEqual(expected);
    });

    it('filters by since (inclusive), until (exclusive) and version; counts agree with reads', async () => {
      const records = await seeded();
      const q = { model: 'tagifai', since: at(3), until: at(9), version: 2 };
      const page = await h!.log.read({ ...q, limit: 1000 });
      const expected = records.filter(
        (r) => r.model === 'tagifai' && r.at >= at(3) && r.at < at(9) && r.version === 2,
      );
      expect(page.records.map((r) => r.requestId).sort()).toEqual(expected.map((r) => r.requestId).sort());
      expect(page.next).toBeNull();
      expect(await h!.log.count(q)).toBe(expected.length);
      expect(await h!.log.count({ model: 'nobody' })).toBe(0);
      expect((await h!.log.read({ model: 'nobody', limit: 5 })).records).toEqual([]);
    });

    it('finds records by request id across models; unknown ids are absent', async () => {
      await seeded();
      const found = await h!.log.findByRequestIds(['r-03', 'req-99', 'r-03', 'missing']);
      expect(found.map((r) => r.requestId).sort()).toEqual(['r-03', 'req-99']);
      expect(await h!.log.findByRequestIds([])).toEqual([]);
    });

    it('looks up more ids than one statement takes', async () => {
      h = await make();
      await h.log.init();
      await h.log.write(Array.from({ length: 1200 }, (_, i) => record(i)));
      const ids = Array.from({ length: 1300 }, (_, i) => `req-${i}`);
      expect((await h.log.findByRequestIds(ids)).length).toBe(1200);
    });
  });
}
