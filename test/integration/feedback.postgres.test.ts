import { afterAll } from 'vitest';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import { feedbackStoreSuite } from '../monitoring/feedback/feedback-store.suite.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

feedbackStoreSuite('PostgreSQL', async () => {
  const schema = freshSchema();
  schemas.push(schema);
  const sql = pgClient(schema);
  await sql.init();
  return { sql, dispose: () => sql.close() };
});
