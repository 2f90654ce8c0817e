import { afterAll, describe, expect, it } from 'vitest';
import { PredictionStore } from '../../src/batch/prediction-store.js';
import { predictionStoreConformance, storedPrediction } from '../conformance/prediction-store.conformance.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';

// One schema per test, so every test starts from an empty store; the server being down fails, not skips.
const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

predictionStoreConformance('PostgreSQL', async () => {
  const schema = freshSchema();
  schemas.push(schema);
  return { openSql: async () => pgClient(schema), dispose: async () => {} };
});

describe('PredictionStore on PostgreSQL', () => {
  it('initialises concurrently from several clients', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const clients = [pgClient(schema), pgClient(schema), pgClient(schema)];
    try {
      await Promise.all(
        clients.map(async (sql) => {
          await sql.init();
          await new PredictionStore({ sql }).init();
        }),
      );
      const store = new PredictionStore({ sql: clients[1]! });
      await store.upsertMany([storedPrediction('e1')]);
      expect(await new PredictionStore({ sql: clients[2]! }).count('tagifai')).toBe(1);
    } finally {
      for (const c of clients) await c.close();
    }
  });
});
