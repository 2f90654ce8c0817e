import { join } from 'node:path';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';
import { feedbackStoreSuite } from './feedback-store.suite.js';

feedbackStoreSuite('SQLite', async () => {
  const dir = await makeTmpDir('ferry-feedback-');
  const sql = new SqliteClient({ path: join(dir.path, 'ferry.db') });
  await sql.init();
  return {
    sql,
    dispose: async () => {
      await sql.close();
      await dir.remove();
    },
  };
});
