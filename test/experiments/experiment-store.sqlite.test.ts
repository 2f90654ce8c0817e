import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { experimentStoreConformance } from './store-conformance.js';

const root = tmpDir('ferry-experiment-store-');
let seq = 0;
afterAll(() => root.remove());

experimentStoreConformance('SQLite', async () => {
  const dir = join(root.path, `case-${++seq}`);
  return {
    openSql: async () => new SqliteClient({ path: join(dir, 'ferry.db') }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
