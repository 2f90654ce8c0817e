import { afterAll } from 'vitest';
import { SqlPredictionLog } from '../../src/serving/prediction-log/sql-prediction-log.js';
import { predictionLogSinkConformance } from '../conformance/prediction-log-sink.conformance.js';
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
