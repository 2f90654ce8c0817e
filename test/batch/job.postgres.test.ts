/** The batch job suite on the real PostgreSQL (FERRY_TEST_PG_URL); fails, not skips, when it is down. */
import { afterAll } from 'vitest';
import { openSqlClient } from '../../src/adapters/factory.js';
import { dropSchemas, freshSchema, pgUrl } from '../helpers/postgres.js';
import { createBatchEnv } from './helpers.js';
import { batchJobSuite } from './job.suite.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

function schemaUrl(schema: string): string {
  const url = new URL(pgUrl());
  url.searchParams.set('schema', schema);
  return url.toString();
}

batchJobSuite('PostgreSQL', {
  createEnv: () => {
    const schema = freshSchema();
    schemas.push(schema);
    return createBatchEnv(schemaUrl(schema));
  },
  async createInputDb(_env, rows) {
    const schema = freshSchema();
    schemas.push(schema);
    const url = schemaUrl(schema);
    const client = openSqlClient(url);
    await client.init();
    await client.execute('CREATE TABLE projects (id TEXT, title TEXT, description TEXT)');
    await client.transaction(async (tx) => {
      for (const r of rows) {
        await tx.execute('INSERT INTO projects (id, title, description) VALUES ($1, $2, $3)', [
          r.id,
          r.title,
          r.description,
        ]);
      }
    });
    return { client, url, close: () => client.close() };
  },
});
