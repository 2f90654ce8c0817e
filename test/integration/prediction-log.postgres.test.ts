import { afterAll, describe, expect, it } from 'vitest';
import type { PredictionLogRecord } from '../../src/ports/prediction-log-sink.js';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { predictionLogReaderConformance } from '../conformance/prediction-log-reader.conformance.js';
import {
  item,
  predictionLogSinkConformance,
  record,
} from '../conformance/prediction-log-sink.conformance.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import { readSqlLog } from '../helpers/prediction-log.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

predictionLogSinkConformance('PostgreSQL table', async () => {
  const schema = freshSchema();
  schemas.push(schema);
  const sql = pgClient(schema);
  await sql.init();
  return { sink: new SqlPredictionLog(sql), readAll: () => readSqlLog(sql), dispose: () => sql.close() };
});

predictionLogReaderConformance('PostgreSQL table', async () => {
  const schema = freshSchema();
  schemas.push(schema);
  const sql = pgClient(schema);
  await sql.init();
  return { log: new SqlPredictionLog(sql), dispose: () => sql.close() };
});

describe('SqlPredictionLog on PostgreSQL: one bad record', () => {
  it('a record PostgreSQL refuses (NUL) costs only itself: the 199 others are kept, it is reported', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const sql = pgClient(schema);
    await sql.init();
    try {
      const rejected: Array<{ record: PredictionLogRecord; error: unknown }> = [];
      const sink = new SqlPredictionLog(sql, {
        onRejected: (record, error) => rejected.push({ record, error }),
      });
      await sink.init();
      const records = Array.from({ length: 200 }, (_, i) => record(i));
      // Planted below the edge (which refuses NUL): the sink must isolate it on its own. In a TEXT
      // column (the items' JSON escapes NUL as \u0000, which PostgreSQL's TEXT accepts).
      records[117] = record(117, { unit: 'user-\u0000-17', items: [item(1, { title: 'bad \u0000 title' })] });
      await sink.write(records);
      const back = await readSqlLog(sql);
      expect(back).toHaveLength(199);
      expect(back.map((r) => r.requestId)).not.toContain('req-117');
      expect(back).toEqual(records.filter((_, i) => i !== 117));
      expect(rejected.map((r) => r.record.requestId)).toEqual(['req-117']);
    } finally {
      await sql.close();
    }
  });

  it('a database that is down is not bisected: the write fails as a whole', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const sql = pgClient(schema);
    await sql.init();
    const sink = new SqlPredictionLog(sql, { onRejected: () => expect.unreachable() });
    await sink.init();
    await sql.close();
    await expect(sink.write([record(1), record(2)])).rejects.toThrow();
  });
});
