import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { predictionStoreConformance } from '../conformance/prediction-store.conformance.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-prediction-store-'));
let seq = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

predictionStoreConformance('SQLite file', async () => {
  const dir = join(root, `case-${++seq}`);
  return {
    openSql: async () => new SqliteClient({ path: join(dir, 'ferry.db') }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
