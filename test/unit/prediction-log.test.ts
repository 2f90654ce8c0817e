import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlPredictionLog } from '../../src/adapters/fs/jsonl-prediction-log.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { WorkerPredictionLogSink } from '../../src/app/worker-prediction-log-sink.js';
import { ExperimentStore } from '../../src/experiments/experiment-store.js';
import type { TextLogItem } from '../../src/ports/prediction-log-sink.js';
import {
  type PredictionLogRecord,
  type PredictionLogSink,
  TRUNCATION_MARKER,
} from '../../src/ports/prediction-log-sink.js';
import { capRecord } from '../../src/serving/prediction-log/cap-record.js';
import { PredictionLogger } from '../../src/serving/prediction-log/prediction-logger.js';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { predictionLogReaderConformance } from '../conformance/prediction-log-reader.conformance.js';
import { predictionLogSinkConformance, record } from '../conformance/prediction-log-sink.conformance.js';
import { readSqlLog } from '../helpers/prediction-log.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

const textItems = (r: { items: readonly unknown[] }) => r.items as TextLogItem[];

predictionLogSinkConformance('SQLite table', async () => {
  const dir = await makeTmpDir();
  const sql = new SqliteClient({ path: join(dir.path, 'log.db') });
  await sql.init();
  return {
    sink: new SqlPredictionLog(sql),
    readAll: () => readSqlLog(sql),
    dispose: async () => {
      await sql.close();
      await dir.remove();
    },
  };
});

// The server's sink on SQLite: the same table, written from a worker thread (its own connection).
predictionLogSinkConformance('SQLite table from a worker thread', async () => {
  const dir = await makeTmpDir();
  const sql = new SqliteClient({ path: join(dir.path, 'log.db') });
  await sql.init();
  await new SqlPredictionLog(sql).init();
  const sink = new WorkerPredictionLogSink({ path: join(dir.path, 'log.db'), busyTimeoutMs: 5000 });
  return {
    sink,
    readAll: () => readSqlLog(sql),
    dispose: async () => {
      await sink.close();
      await sql.close();
      await dir.remove();
    },
  };
});

describe('WorkerPredictionLogSink', () => {
  it('upserts experiment exposures in its thread, merged as the store merges them', async () => {
    const dir = await makeTmpDir();
    try {
      const path = join(dir.path, 'ferry.db');
      const sql = new SqliteClient({ path });
      await sql.init();
      await new ExperimentStore({ sql }).init();
      const writer = new WorkerPredictionLogSink({ path, busyTimeoutMs: 5000 });
      await writer.init();
      const at = '2026-12-07T10:00:00.000Z';
      await writer.writeExposures([
        { experiment: 'e', unit: 'u1', arm: 'a', version: 1, at, requests: 2 },
        { experiment: 'e', unit: 'u2', arm: 'b', version: 2, at, requests: 1 },
      ]);
      await writer.writeExposures([{ experiment: 'e', unit: 'u1', arm: 'b', version: 2, at, requests: 3 }]);
      await writer.close();
      const rows = await sql.query<{ unit: string; arm: string; requests: number }>(
        'SELECT unit, arm, requests FROM ferry_experiment_exposures ORDER BY unit',
      );
      // u1 keeps its first arm and adds its requests.
      expect(rows.map((r) => [r.unit, r.arm, Number(r.requests)])).toEqual([
        ['u1', 'a', 5],
        ['u2', 'b', 1],
      ]);
      await expect(writer.writeExposures([])).rejects.toMatchObject({ code: 'FERRY_DB_UNAVAILABLE' });
      await sql.close();
    } finally {
      await dir.remove();
    }
  });

  it('refuses to start on a database it cannot open, and a write after close fails instead of hanging', async () => {
    const dir = await makeTmpDir();
    try {
      await writeFile(join(dir.path, 'file'), 'x');
      const bad = new WorkerPredictionLogSink({ path: join(dir.path, 'file', 'log.db'), busyTimeoutMs: 100 });
      await expect(bad.init()).rejects.toMatchObject({ code: 'FERRY_DB_UNAVAILABLE' });
      const path = join(dir.path, 'log.db');
      const sql = new SqliteClient({ path });
      await sql.init();
      await new SqlPredictionLog(sql).init();
      const sink = new WorkerPredictionLogSink({ path, busyTimeoutMs: 5000 });
      await sink.init();
      await sink.write([record(1), record(2)]);
      await sink.close();
      await expect(sink.write([record(3)])).rejects.toMatchObject({ code: 'FERRY_DB_UNAVAILABLE' });
      expect((await readSqlLog(sql)).map((r) => r.requestId)).toEqual([
        record(1).requestId,
        record(2).requestId,
      ]);
      await sql.close();
    } finally {
      await dir.remove();
    }
  });
});

predictionLogReaderConformance('SQLite table', async () => {
  const dir = await makeTmpDir();
  const sql = new SqliteClient({ path: join(dir.path, 'log.db') });
  await sql.init();
  return {
    log: new SqlPredictionLog(sql),
    dispose: async () => {
      await sql.close();
      await dir.remove();
    },
  };
});

predictionLogSinkConformance('JSONL file', async () => {
  const dir = await makeTmpDir();
  const path = join(dir.path, 'nested', 'log.jsonl');
  const sink = new JsonlPredictionLog(path);
  return {
    sink,
    readAll: async () =>
      (await readFile(path, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as PredictionLogRecord),
    dispose: async () => {
      await sink.close();
      await dir.remove();
    },
  };
});

class MemorySink implements PredictionLogSink {
  written: PredictionLogRecord[] = [];
  fail = false;
  gate: Promise<void> = Promise.resolve();
  async init(): Promise<void> {}
  async write(records: readonly PredictionLogRecord[]): Promise<void> {
    await this.gate;
    if (this.fail) throw new Error('sink down');
    this.written.push(...records);
  }
  async close(): Promise<void> {}
}

describe('PredictionLogger', () => {
  const opts = { sampleRate: 1, maxBuffered: 10, flushIntervalMs: 60_000, flushSize: 5 };

  it('buffers, flushes by size, and writes everything on close, in order', async () => {
    const sink = new MemorySink();
    const logger = new PredictionLogger(sink, opts);
    for (let i = 0; i < 7; i++) logger.log(record(i));
    await logger.close();
    expect(sink.written.map((r) => r.requestId)).toEqual(Array.from({ length: 7 }, (_, i) => `req-${i}`));
  });

  it('flush() while a write is in flight resolves only once the records logged since are written too', async () => {
    const sink = new MemorySink();
    let release!: () => void;
    sink.gate = new Promise((r) => {
      release = r;
    });
    const logger = new PredictionLogger(sink, { ...opts, flushSize: 1000 });
    logger.log(record(0));
    const first = logger.flush(); // in flight, held by the gate
    logger.log(record(1));
    const second = logger.flush();
    release();
    await second;
    expect(sink.written.map((r) => r.requestId)).toEqual(['req-0', 'req-1']);
    await first;
    await logger.close();
  });

  it('writes at most flushSize records a write, also after a backlog built up behind a slow write', async () => {
    const sizes: number[] = [];
    const sink = new MemorySink();
    const write = sink.write.bind(sink);
    sink.write = (records) => {
      sizes.push(records.length);
      return write(records);
    };
    let release!: () => void;
    sink.gate = new Promise((r) => {
      release = r;
    });
    const logger = new PredictionLogger(sink, { ...opts, maxBuffered: 1000, flushSize: 4 });
    // The first 4 start a write, held by the gate; 19 more wait behind it.
    for (let i = 0; i < 23; i++) logger.log(record(i));
    expect(logger.buffered).toBe(19);
    const flushed = logger.flush();
    release();
    await flushed;
    expect(sizes).toEqual([4, 4, 4, 4, 4, 3]);
    expect(logger.buffered).toBe(0);
    expect(sink.written.map((r) => r.requestId)).toEqual(Array.from({ length: 23 }, (_, i) => `req-${i}`));
    await logger.close();
  });

  it('drops and counts when the buffer is full instead of blocking', async () => {
    const sink = new MemorySink();
    let release!: () => void;
    sink.gate = new Promise((r) => {
      release = r;
    });
    let dropped = 0;
    const logger = new PredictionLogger(sink, { ...opts, flushSize: 1000, onDrop: (n) => (dropped += n) });
    for (let i = 0; i < 15; i++) logger.log(record(i));
    expect(logger.buffered).toBe(10);
    expect(dropped).toBe(5);
    release();
    await logger.close();
    expect(sink.written).toHaveLength(10);
  });

  it('counts a failing sink as dropped records and never throws to the caller', async () => {
    const sink = new MemorySink();
    sink.fail = true;
    let dropped = 0;
    const logger = new PredictionLogger(sink, { ...opts, onDrop: (n) => (dropped += n) });
    for (let i = 0; i < 5; i++) logger.log(record(i));
    await logger.close();
    expect(dropped).toBe(5);
  });

  it('samples a share of predictions', async () => {
    const sink = new MemorySink();
    let x = 0;
    const logger = new PredictionLogger(sink, {
      ...opts,
      maxBuffered: 1000,
      flushSize: 1000,
      sampleRate: 0.25,
      random: () => (x++ % 4) / 4,
    });
    for (let i = 0; i < 100; i++) logger.log(record(i));
    await logger.close();
    expect(sink.written).toHaveLength(25);
  });
});

describe('capRecord (FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST)', () => {
  const bytes = (r: unknown) => Buffer.byteLength(JSON.stringify(r));

  it('returns a record that fits as it is', () => {
    const r = record(1, {}, 3);
    expect(capRecord(r, 4096)).toBe(r);
  });

  it('fits any request into the cap: text cut with the marker, then items left out', () => {
    for (const [items, size] of [
      [1, 50_000],
      [10, 3_000],
      [1000, 10],
      [100, 2_000],
    ] as const) {
      const r = record(2, { unit: 'u'.repeat(256) }, items);
      for (const it of textItems(r)) it.title = `日本${'x'.repeat(size)}`;
      const capped = capRecord(r, 8192);
      expect(bytes(capped)).toBeLessThanOrEqual(8192);
      expect(capped.truncated).toBe(true);
      expect(capped.itemCount).toBe(items);
      expect(capped.unit).toBe(r.unit);
      expect(textItems(capped).length).toBeGreaterThan(0);
      const cut = textItems(capped).filter((i) => i.title.endsWith(TRUNCATION_MARKER));
      expect(cut.length).toBeLessThanOrEqual(1);
    }
  });

  it('never splits a surrogate pair', () => {
    const r = record(3, {}, 1);
    textItems(r)[0]!.title = '😀'.repeat(5000);
    const capped = capRecord(r, 4096);
    const title = textItems(capped)[0]!.title.replace(TRUNCATION_MARKER, '');
    expect(title).toBe('😀'.repeat(title.length / 2));
  });

  it('the logger caps and counts, whatever the sink (JSONL gets the same record)', async () => {
    const sink = new MemorySink();
    let truncated = 0;
    const logger = new PredictionLogger(sink, {
      sampleRate: 1,
      maxBuffered: 10,
      flushIntervalMs: 60_000,
      flushSize: 10,
      maxBytesPerRequest: 4096,
      onTruncated: () => truncated++,
    });
    const big = record(4, {}, 1);
    textItems(big)[0]!.description = 'y'.repeat(100_000);
    logger.log(big);
    logger.log(record(5));
    await logger.close();
    expect(truncated).toBe(1);
    expect(bytes(sink.written[0])).toBeLessThanOrEqual(4096);
    expect(sink.written[1]).toEqual(record(5));
  });
});
