import { afterAll } from 'vitest';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import { experimentStoreConformance } from './store-conformance.js';

// A fresh schema per test; the server being down fails these tests, never skips them.
const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

experimentStoreConformance('PostgreSQL', async () => {
  const schema = freshSchema();
  schemas.push(schema);
  return { openSql: async () => pgClient(schema), dispose: async () => {} };
});
