import { join } from 'node:path';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log.js';
import { eventStreamConformance } from '../conformance/event-stream.conformance.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

eventStreamConformance('embedded SQLite log', async () => {
  const dir = await makeTmpDir('ferry-streams-');
  const path = join(dir.path, 'streams.db');
  return {
    open: () => new SqliteEventLog({ path }),
    cleanup: () => dir.remove(),
  };
});
