import { join } from 'node:path';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { createBatchEnv } from './helpers.js';
import { batchJobSuite } from './job.suite.js';

batchJobSuite('SQLite', {
  createEnv: () => createBatchEnv(),
  async createInputDb(env, rows) {
    const path = join(env.home, 'input.db');
    const client = new SqliteClient({ path });
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
    return { client, url: `sqlite:${path}`, close: () => client.close() };
  },
});
